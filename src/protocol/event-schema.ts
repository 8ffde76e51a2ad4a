/**
 * The Segment-compatible event spec: what SDKs send, validated with zod, and the canonical event
 * Kindred stores. Unknown fields are kept (a CDP keeps every detail it receives).
 * @module
 */
import { z } from 'zod'
import type { FieldIssue } from './errors.js'
import { MAX_ID_LENGTH, MAX_NAME_LENGTH } from './limits.js'
import { isCertainlyValidEvent } from './event-fast-path.js'
import { inStoreRange, isStorableTimestamp } from './timestamps.js'

export const eventTypes = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const
export type EventType = (typeof eventTypes)[number]

/** SDKs send ids as strings, some as numbers; we store strings. */
const idValue = z
  .union([z.string(), z.number().finite()])
  .transform((v) => String(v))
  .pipe(z.string().max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`))

const isoTimestamp = z.string().max(64).refine(isStorableTimestamp, {
  message: 'must be an ISO-8601 date-time of a real calendar day between years 1 and 9999',
})

const jsonObject = z.record(z.string(), z.unknown())

export const externalIdSchema = z.looseObject({
  id: idValue,
  type: z.string().min(1).max(128),
  collection: z.string().max(128).optional(),
  encoding: z.string().max(32).optional(),
})

export const contextSchema = z.looseObject({
  ip: z.string().max(64).optional(),
  userAgent: z.string().max(2048).optional(),
  locale: z.string().max(64).optional(),
  library: z
    .looseObject({ name: z.string().max(128).optional(), version: z.string().max(64).optional() })
    .optional(),
  page: jsonObject.optional(),
  campaign: jsonObject.optional(),
  traits: jsonObject.optional(),
  externalIds: z.array(externalIdSchema).max(100).optional(),
  consent: jsonObject.optional(),
})

const common = {
  messageId: idValue.optional(),
  userId: idValue.nullish(),
  anonymousId: idValue.nullish(),
  timestamp: isoTimestamp.optional(),
  originalTimestamp: isoTimestamp.optional(),
  sentAt: isoTimestamp.optional(),
  context: contextSchema.optional(),
  integrations: jsonObject.optional(),
  channel: z.string().max(64).optional(),
  writeKey: z.string().optional(),
}

export const trackSchema = z.looseObject({
  ...common,
  type: z.literal('track'),
  event: z.string().min(1, 'is required').max(MAX_NAME_LENGTH),
  properties: jsonObject.optional(),
})
export const identifySchema = z.looseObject({
  ...common,
  type: z.literal('identify'),
  traits: jsonObject.optional(),
})
export const pageSchema = z.looseObject({
  ...common,
  type: z.literal('page'),
  name: z.string().max(MAX_NAME_LENGTH).nullish(),
  category: z.string().max(MAX_NAME_LENGTH).nullish(),
  properties: jsonObject.optional(),
})
export const screenSchema = z.looseObject({
  ...common,
  type: z.literal('screen'),
  name: z.string().max(MAX_NAME_LENGTH).nullish(),
  category: z.string().max(MAX_NAME_LENGTH).nullish(),
  properties: jsonObject.optional(),
})
export const groupSchema = z.looseObject({
  ...common,
  type: z.literal('group'),
  groupId: idValue,
  traits: jsonObject.optional(),
})
export const aliasSchema = z.looseObject({
  ...common,
  type: z.literal('alias'),
  previousId: idValue,
  userId: idValue,
})

export const incomingEventSchema = z.discriminatedUnion('type', [
  trackSchema,
  identifySchema,
  pageSchema,
  screenSchema,
  groupSchema,
  aliasSchema,
])
export type IncomingEvent = z.infer<typeof incomingEventSchema>

/** The batch envelope of `/v1/batch` and `/v1/import`: batch-level context applies to every event. */
export const batchEnvelopeSchema = z.looseObject({
  batch: z.array(z.unknown()),
  context: jsonObject.optional(),
  integrations: jsonObject.optional(),
  sentAt: isoTimestamp.optional(),
  writeKey: z.string().optional(),
})

/** The canonical event as stored in the event log and the events table. */
export interface KindredEvent {
  [field: string]: unknown
  messageId: string
  type: EventType
  event?: string
  name?: string | null
  userId?: string | null
  anonymousId?: string | null
  previousId?: string
  groupId?: string
  properties: Record<string, unknown>
  traits: Record<string, unknown>
  context: Record<string, unknown>
  integrations: Record<string, unknown>
  /** Event time, corrected for client clock skew. */
  timestamp: string
  /** Event time as the client's clock saw it. */
  originalTimestamp: string
  sentAt?: string
  receivedAt: string
}

export interface NormalizeOptions {
  receivedAt: Date
  /** `receivedAt.toISOString()`, computed once per request by callers that normalise many events. */
  receivedAtIso?: string
  /** Makes a messageId for events that arrive without one. */
  newMessageId: () => string
  /** Batch-level fields (context, integrations, sentAt) that apply to each event. */
  envelope?: {
    context?: Record<string, unknown>
    integrations?: Record<string, unknown>
    sentAt?: string
  }
  /** Historical imports keep their timestamps as given: no clock-skew correction. */
  correctSkew?: boolean
  /**
   * Segment's rule, for everything SDKs send: a userId or an anonymousId (default true). File
   * imports turn it off and check instead that the row carries any identifier the workspace's
   * identity rules know (an email is enough: collect/core/import-identity.ts).
   */
  requireUserOrAnonymousId?: boolean
}

export type NormalizeResult =
  { ok: true; event: KindredEvent } | { ok: false; issues: FieldIssue[] }

/** The type implied by the path when the body does not say it (`/v1/track` → track). */
export function normalizeEvent(
  raw: unknown,
  impliedType: EventType | undefined,
  options: NormalizeOptions,
): NormalizeResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      issues: [{ path: '', code: 'invalid_type', message: 'event must be a JSON object' }],
    }
  }
  const input = raw as Record<string, unknown>
  const candidate =
    impliedType !== undefined && input.type === undefined ? { ...input, type: impliedType } : input
  if (impliedType !== undefined && candidate.type !== impliedType) {
    return {
      ok: false,
      issues: [
        {
          path: 'type',
          code: 'invalid_value',
          message: `must be "${impliedType}" on this endpoint`,
        },
      ],
    }
  }
  let e: IncomingEvent
  if (isCertainlyValidEvent(candidate)) {
    e = candidate as IncomingEvent
  } else {
    const parsed = incomingEventSchema.safeParse(candidate)
    if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error) }
    e = parsed.data
  }
  const userId = e.userId ?? null
  const anonymousId = e.anonymousId ?? null
  if (
    e.type !== 'alias' &&
    options.requireUserOrAnonymousId !== false &&
    (userId === null || userId === '') &&
    (anonymousId === null || anonymousId === '')
  ) {
    return {
      ok: false,
      issues: [
        { path: 'userId', code: 'missing_identity', message: 'userId or anonymousId is required' },
      ],
    }
  }

  const envelope = options.envelope ?? {}
  const receivedAt = options.receivedAt
  const receivedIso = options.receivedAtIso ?? receivedAt.toISOString()
  const context: Record<string, unknown> =
    envelope.context === undefined
      ? { ...(e.context ?? {}) }
      : { ...envelope.context, ...(e.context ?? {}) }
  const integrations =
    envelope.integrations === undefined
      ? { ...(e.integrations ?? {}) }
      : { ...envelope.integrations, ...(e.integrations ?? {}) }
  const sentAt = e.sentAt ?? envelope.sentAt
  const original = e.originalTimestamp ?? e.timestamp
  // Hot path: canonical ISO strings are kept as they are instead of a Date round trip.
  const originalIso = original === undefined ? receivedIso : canonicalIso(original)
  let timestampIso = originalIso
  // Segment's rule: timestamp = receivedAt - (sentAt - originalTimestamp). It moves the event onto
  // the server's clock while keeping the client's notion of how long ago it happened.
  if (options.correctSkew !== false && sentAt !== undefined && original !== undefined) {
    const skew = receivedAt.getTime() - Date.parse(sentAt)
    const corrected = Date.parse(originalIso) + skew
    // An absurd sentAt must not push the event out of the storable range: keep the client's time.
    if (skew !== 0 && inStoreRange(corrected)) timestampIso = new Date(corrected).toISOString()
  }
  const traits: Record<string, unknown> =
    'traits' in e && e.traits
      ? (e.traits as Record<string, unknown>)
      : e.type === 'identify' || e.type === 'group'
        ? ((context.traits as Record<string, unknown> | undefined) ?? {})
        : {}
  // Canonical fields first, in a fixed order (V8 keeps one hidden class for every event, which
  // makes the later JSON.stringify fast), then every other field the client sent, as received.
  const event: KindredEvent = {
    messageId:
      e.messageId !== undefined && e.messageId !== '' ? e.messageId : options.newMessageId(),
    type: e.type,
    userId,
    anonymousId,
    properties: 'properties' in e && e.properties ? (e.properties as Record<string, unknown>) : {},
    traits,
    context,
    integrations,
    timestamp: timestampIso,
    originalTimestamp: originalIso,
    receivedAt: receivedIso,
  }
  if (sentAt !== undefined) event.sentAt = canonicalIso(sentAt)
  const source = e as Record<string, unknown>
  for (const key in source) {
    if (!(key in event) && key !== 'writeKey' && key !== 'sentAt') event[key] = source[key]
  }
  return { ok: true, event }
}

/**
 * The ingest fast path's check of a batch element, without building the canonical event:
 * `{ needsId }` only when `normalizeEvent(raw, undefined, …)` certainly succeeds (then `needsId`
 * says whether it calls `newMessageId`), `undefined` when only normalizeEvent can tell.
 */
export function quickCheckEvent(raw: unknown): { needsId: boolean } | undefined {
  if (!isCertainlyValidEvent(raw)) return undefined
  const e = raw as { type: string; userId?: unknown; anonymousId?: unknown; messageId?: unknown }
  const hasUser = typeof e.userId === 'string' && e.userId !== ''
  const hasAnon = typeof e.anonymousId === 'string' && e.anonymousId !== ''
  if (e.type !== 'alias' && !hasUser && !hasAnon) return undefined
  return { needsId: e.messageId === undefined || e.messageId === '' }
}

const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/**
 * `toISOString()` form; strings already in it are returned unchanged (no Date round trip). Days
 * 29–31 take the round trip: V8 rolls "02-30" over into March where Postgres would refuse it.
 */
function canonicalIso(value: string): string {
  return CANONICAL_ISO.test(value) && value.charCodeAt(8) <= 50 && value.slice(8, 10) <= '28'
    ? value
    : new Date(value).toISOString()
}

export function zodIssues(error: z.ZodError, index?: number): FieldIssue[] {
  return error.issues.slice(0, 20).map((issue) => ({
    ...(index === undefined ? {} : { index }),
    path: issue.path.map(String).join('.'),
    code: issue.code,
    message: issue.message,
  }))
}
