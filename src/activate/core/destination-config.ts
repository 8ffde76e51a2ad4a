/**
 * @module engine/destinations/config
 * What a destination instance does (its `actions`), and the event filter and field mapping of
 * `forwardEvents`. Pure: the stage and the API share these.
 *
 * A `where` condition is a path into the event plus a condition of the segments' language
 * (`understand/core/segments/value-condition.ts` through `understand/core/index.ts`, semantics in
 * its README): missing and null are "not set", numeric strings compare as numbers, `ignoreCase`,
 * dates. Filters saved before that used their own spellings, which are still read
 * (`legacyCondition`).
 */
import { z } from 'zod'
import type { KindredEvent } from '../../protocol/event-schema.js'
import { getPath as walkPath, setPath, unsafeSegment } from '../../protocol/json-path.js'
import {
  isoDateSchema,
  matchValue,
  valueConditionSchema,
  type ValueCondition,
} from '../../understand/core/index.js'

const pathSchema = z
  .string()
  .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dotted path such as properties.plan')

const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
const COMPARISONS: Record<string, string> = {
  gt: 'date_after',
  gte: 'date_after',
  lt: 'date_before',
  lte: 'date_before',
}
/**
 * Matches nothing. A stored filter must keep parsing (the stage reads it on every batch, and a
 * row that fails to parse would stop the workspace's pipeline), and one whose meaning does not
 * carry over must not start forwarding events it used to hold back: it fails closed.
 */
const NEVER = { op: 'between', min: 1, max: 0 } as const

/**
 * The spellings of filters saved before `where` took the segments' language, rewritten to it:
 * `notExists` is `not_exists`, `in` takes `values`, `eq null` / `neq null` are `not_exists` /
 * `exists`, a string compared with `gt`…`lte` is a number when numeric and a date when ISO 8601.
 * Comparisons were by `JSON.stringify`, so an object or array operand has no equivalent: such a
 * condition matches nothing until the filter is saved again.
 */
export function legacyCondition(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw
  const c = raw as Record<string, unknown>
  const path = c.path
  if (typeof c.op !== 'string' || !('value' in c) || 'values' in c) {
    return c.op === 'notExists' ? { path, op: 'not_exists' } : raw
  }
  const v = c.value
  switch (c.op) {
    case 'notExists':
      return { path, op: 'not_exists' }
    case 'exists':
    case 'not_exists':
      return { path, op: c.op }
    case 'in':
    case 'not_in':
      if (!Array.isArray(v)) return raw
      return v.length > 0 && v.every(isScalar) ? { path, op: c.op, values: v } : { path, ...NEVER }
    case 'eq':
    case 'neq':
      if (v === null || v === undefined)
        return { path, op: c.op === 'eq' ? 'not_exists' : 'exists' }
      return isScalar(v) ? raw : { path, ...NEVER }
    case 'contains':
      return typeof v === 'string' && v.length > 0 ? raw : { path, ...NEVER }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (typeof v !== 'string') return raw
      if (/^-?[0-9]{1,15}(\.[0-9]{1,15})?$/.test(v)) return { path, op: c.op, value: Number(v) }
      const date = isoDateSchema.safeParse(v)
      if (date.success) {
        return { path, op: COMPARISONS[c.op], date: { kind: 'absolute', at: date.data } }
      }
      return { path, ...NEVER }
    }
    default:
      return raw
  }
}

export const conditionSchema = z.preprocess(
  legacyCondition,
  z
    .object({
      path: pathSchema.describe('Dotted path in the event, e.g. properties.plan or context.locale'),
    })
    .and(valueConditionSchema),
)
export type Condition = { path: string } & ValueCondition

export const forwardEventsSchema = z.object({
  events: z
    .array(z.string().min(1))
    .max(500)
    .optional()
    .describe('Track event names (or page/screen names) to forward; all when absent'),
  types: z
    .array(z.enum(['track', 'identify', 'page', 'screen', 'group', 'alias']))
    .optional()
    .describe('Event types to forward; all when absent'),
  where: z.array(conditionSchema).max(50).optional().describe('Conditions that must all hold'),
  mapping: z
    .record(
      pathSchema.refine((p) => unsafeSegment(p.split('.')) === undefined, {
        message: 'must not contain the path segments "__proto__", "constructor" or "prototype"',
      }),
      pathSchema,
    )
    .optional()
    .describe(
      'Target path → source path, copied into the forwarded event (e.g. properties.amount ← properties.total)',
    ),
})
export type ForwardEvents = z.infer<typeof forwardEventsSchema>

export const actionsSchema = z.object({
  forwardEvents: forwardEventsSchema.optional(),
  upsertProfiles: z.boolean().optional(),
  syncAudience: z
    .object({
      segmentIds: z.array(z.string().min(1)).max(200),
      mirror: z
        .boolean()
        .default(true)
        .describe('Also remove profiles that leave the segment (false: add only)'),
    })
    .optional(),
})
export type DestinationActions = z.infer<typeof actionsSchema>
/** What a client may send: defaults (`syncAudience.mirror`) not yet applied. */
export type DestinationActionsInput = z.input<typeof actionsSchema>

/** The value at a dotted path of the event (JSON null as null), or undefined. */
export function getPath(value: unknown, path: string): unknown {
  return walkPath(value, path.split('.'))
}

/** Does the event satisfy the condition at `nowMs` (relative dates)? */
export function matchesCondition(event: unknown, c: Condition, nowMs = 0): boolean {
  return matchValue(c, getPath(event, c.path), nowMs)
}

/** The name an event filter matches: the track event, or the page/screen name. */
export function eventName(event: KindredEvent): string | undefined {
  return event.event ?? event.name ?? undefined
}

/** `nowMs` is the clock relative-date conditions read (the event's receivedAt by default). */
export function matchesForward(
  f: ForwardEvents,
  event: KindredEvent,
  nowMs = Date.parse(event.receivedAt),
): boolean {
  if (f.types && !f.types.includes(event.type as never)) return false
  if (f.events) {
    const name = eventName(event)
    if (name === undefined || !f.events.includes(name)) return false
  }
  return (f.where ?? []).every((c) => matchesCondition(event, c, nowMs))
}

/** The event with `mapping` applied (a copy; the original is untouched). */
export function applyMapping(
  event: KindredEvent,
  mapping: Record<string, string> | undefined,
): KindredEvent {
  if (!mapping || Object.keys(mapping).length === 0) return event
  const out = { ...event } as Record<string, unknown>
  for (const [target, source] of Object.entries(mapping)) {
    const v = getPath(event, source)
    if (v !== undefined) setPath(out, target.split('.'), v, { copy: true })
  }
  return out as KindredEvent
}
