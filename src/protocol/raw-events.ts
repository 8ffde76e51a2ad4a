/**
 * Events kept as the client sent them, for the event log (ADR 0005). Ingest validates and
 * normalises every event, then stores the request body's own bytes plus the few inputs
 * normalisation took besides them (implied type, batch envelope, skew rule, the messageIds it
 * made); the reader runs the same `normalizeEvent` on them and gets the same canonical events.
 * That saves re-serialising every event on the ingest hot path: normalising again on read costs
 * a quarter of that, once, off the request path.
 *
 * Only bodies that hold no secret and nothing the store refuses qualify (the caller checks: no
 * `writeKey` anywhere the schema allows one, no `\u0000` escape); others are stored canonical.
 * @module
 */
import {
  normalizeEvent,
  type EventType,
  type KindredEvent,
  type NormalizeOptions,
  type NormalizeResult,
} from './event-schema.js'

export interface RawEvents {
  /** The request body as received (decoded), UTF-8 JSON: one event, or `{"batch":[…]}`. */
  body: Buffer
  /** The body is a batch envelope: the events are its `batch`. */
  batch: boolean
  impliedType?: EventType
  envelope?: NormalizeOptions['envelope']
  correctSkew: boolean
  /** messageIds made for events that arrived without one, in the order they were made. */
  madeIds: string[]
}

/**
 * The stored form, a JSON object `{"t","k","m","v","b"}` (b: the body as sent), as the buffers
 * to write one after the other (the body is not copied here).
 */
export function rawEventsJson(raw: RawEvents): Buffer[] {
  const head = Buffer.from(
    `{"t":${JSON.stringify(raw.impliedType ?? null)},"k":${raw.correctSkew},"m":${JSON.stringify(raw.madeIds)},"v":${JSON.stringify(raw.envelope ?? null)},"a":${raw.batch},"b":`,
  )
  return [head, raw.body, CLOSE]
}
const CLOSE = Buffer.from('}')

export interface StoredRawEvents {
  t: EventType | null
  k: boolean
  m: string[]
  v: NormalizeOptions['envelope'] | null
  a: boolean
  b: unknown
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
  const raws = stored.a ? (stored.b as { batch?: unknown }).batch : [stored.b]
  if (!Array.isArray(raws)) throw new Error('event log record holds a batch without events')
  return raws.map((raw: unknown, index) => {
    const r = normalizeEvent(raw, stored.t ?? undefined, options)
    if (!r.ok) {
      throw new Error(
        `event log record holds an event (index ${index}) that no longer validates: ${JSON.stringify(r.issues)}`,
      )
    }
    return r.event
  })
}

/** An event of a stored record that does not validate under the current rules. */
export interface RejectedEvent {
  /** Its position in the record. */
  index: number
  /** The event as stored (parsed JSON). */
  raw: unknown
  /** Why it no longer validates. */
  message: string
}

/**
 * `eventsFromRaw` that never throws on content: events that no longer validate (the log was
 * written by older rules, e.g. before impossible dates were refused) come back in `rejected`,
 * for the processor to set aside, instead of stopping every event behind them.
 */
export function decodeRawEvents(
  stored: StoredRawEvents,
  receivedAtIso: string,
): { events: KindredEvent[]; rejected: RejectedEvent[] } {
  try {
    return { events: eventsFromRaw(stored, receivedAtIso), rejected: [] }
  } catch {
    // Rare: go event by event, keeping the made messageIds in step with the events that used them.
  }
  const receivedAt = new Date(receivedAtIso)
  let made = 0
  const options: NormalizeOptions = {
    receivedAt,
    receivedAtIso,
    newMessageId: () => stored.m[made++] ?? `undecodable-${receivedAtIso}-${made}`,
    ...(stored.v ? { envelope: stored.v } : {}),
    correctSkew: stored.k,
  }
  const body = stored.b as { batch?: unknown } | null
  const raws = stored.a ? body?.batch : [stored.b]
  if (!Array.isArray(raws)) {
    return {
      events: [],
      rejected: [{ index: 0, raw: stored.b, message: 'record holds no events' }],
    }
  }
  const events: KindredEvent[] = []
  const rejected: RejectedEvent[] = []
  raws.forEach((raw: unknown, index) => {
    let r: NormalizeResult
    try {
      r = normalizeEvent(raw, stored.t ?? undefined, options)
    } catch (err) {
      r = { ok: false, issues: [{ path: '', code: 'internal', message: String(err) }] }
    }
    if (r.ok) events.push(r.event)
    else {
      rejected.push({
        index,
        raw,
        message: `no longer validates: ${r.issues.map((i) => `${i.path || '(event)'}: ${i.message}`).join('; ')}`,
      })
    }
  })
  return { events, rejected }
}
