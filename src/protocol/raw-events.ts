/**
 * Events kept as the client sent them, for the event log (ADR 0003). Ingest validates and
 * normalises every event, then stores the request's own bytes for each event plus the few inputs
 * normalisation took besides them (implied type, batch envelope, skew rule, the messageIds it
 * made); the reader runs the same `normalizeEvent` on them and gets the same canonical events.
 * That saves re-serialising every event on the ingest hot path: normalising again on read costs
 * a quarter of that, once, off the request path.
 * @module
 */
import {
  normalizeEvent,
  type EventType,
  type KindredEvent,
  type NormalizeOptions,
} from './event-schema.js'

export interface RawEvents {
  /** Each event's JSON as sent (a batch element, or a single event's whole body), UTF-8. */
  slices: Buffer[]
  impliedType?: EventType
  envelope?: NormalizeOptions['envelope']
  correctSkew: boolean
  /** messageIds made for events that arrived without one, in the order they were made. */
  madeIds: string[]
}

/**
 * The stored form, a JSON object `{"t","k","m","v","e":[…events as sent]}`, as the list of
 * buffers to write one after the other (the slices are not copied here).
 */
export function rawEventsJson(raw: RawEvents): Buffer[] {
  const head = Buffer.from(
    `{"t":${JSON.stringify(raw.impliedType ?? null)},"k":${raw.correctSkew},"m":${JSON.stringify(raw.madeIds)},"v":${JSON.stringify(raw.envelope ?? null)},"e":[`,
  )
  const parts: Buffer[] = [head]
  raw.slices.forEach((s, i) => {
    if (i > 0) parts.push(COMMA)
    parts.push(s)
  })
  parts.push(CLOSE)
  return parts
}
const COMMA = Buffer.from(',')
const CLOSE = Buffer.from(']}')

export interface StoredRawEvents {
  t: EventType | null
  k: boolean
  m: string[]
  v: NormalizeOptions['envelope'] | null
  e: unknown[]
}

/**
 * The canonical events of a stored raw form, exactly as ingest made them. They were validated
 * before they were stored: a failure here means the log was written by different rules, and is
 * thrown rather than skipped (an acknowledged event is never dropped silently).
 */
export function eventsFromRaw(stored: StoredRawEvents, receivedAtIso: string): KindredEvent[] {
  const receivedAt = new Date(receivedAtIso)
  let made = 0
  const options: NormalizeOptions = {
    receivedAt,
    receivedAtIso,
    newMessageId: () => {
      const id = stored.m[made++]
      if (id === undefined) throw new Error('event log record lacks a made messageId')
      return id
    },
    ...(stored.v ? { envelope: stored.v } : {}),
    correctSkew: stored.k,
  }
  return stored.e.map((raw, index) => {
    const r = normalizeEvent(raw, stored.t ?? undefined, options)
    if (!r.ok) {
      throw new Error(
        `event log record holds an event (index ${index}) that no longer validates: ${JSON.stringify(r.issues)}`,
      )
    }
    return r.event
  })
}
