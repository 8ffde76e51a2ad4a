/**
 * @module engine/destinations/config
 * What a destination instance does (its `actions`), and the event filter and field mapping of
 * `forwardEvents`. Pure: the stage and the API share these.
 */
import { z } from 'zod'
import type { KindredEvent } from '../../protocol/event-schema.js'

const pathSchema = z
  .string()
  .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dotted path such as properties.plan')

export const conditionSchema = z.object({
  path: pathSchema.describe('Dotted path in the event, e.g. properties.plan or context.locale'),
  op: z
    .enum(['eq', 'neq', 'in', 'exists', 'notExists', 'gt', 'gte', 'lt', 'lte', 'contains'])
    .describe('Comparison'),
  value: z.unknown().optional().describe('Operand (an array for `in`)'),
})
export type Condition = z.infer<typeof conditionSchema>

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
    .record(pathSchema, pathSchema)
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

export function getPath(value: unknown, path: string): unknown {
  let cur: unknown = value
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let cur = target
  for (const key of keys.slice(0, -1)) {
    const next = cur[key]
    const copy =
      typeof next === 'object' && next !== null && !Array.isArray(next)
        ? { ...(next as Record<string, unknown>) }
        : {}
    cur[key] = copy
    cur = copy
  }
  cur[keys[keys.length - 1] as string] = value
}

function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  return undefined
}

export function matchesCondition(event: unknown, c: Condition): boolean {
  const v = getPath(event, c.path)
  switch (c.op) {
    case 'exists':
      return v !== undefined && v !== null
    case 'notExists':
      return v === undefined || v === null
    case 'eq':
      return JSON.stringify(v) === JSON.stringify(c.value)
    case 'neq':
      return JSON.stringify(v) !== JSON.stringify(c.value)
    case 'in':
      return Array.isArray(c.value) && c.value.some((x) => JSON.stringify(x) === JSON.stringify(v))
    case 'contains':
      if (typeof v === 'string') return typeof c.value === 'string' && v.includes(c.value)
      if (Array.isArray(v)) return v.some((x) => JSON.stringify(x) === JSON.stringify(c.value))
      return false
    default: {
      const d = compare(v, c.value)
      if (d === undefined) return false
      return c.op === 'gt' ? d > 0 : c.op === 'gte' ? d >= 0 : c.op === 'lt' ? d < 0 : d <= 0
    }
  }
}

/** The name an event filter matches: the track event, or the page/screen name. */
export function eventName(event: KindredEvent): string | undefined {
  return event.event ?? event.name ?? undefined
}

export function matchesForward(f: ForwardEvents, event: KindredEvent): boolean {
  if (f.types && !f.types.includes(event.type as never)) return false
  if (f.events) {
    const name = eventName(event)
    if (name === undefined || !f.events.includes(name)) return false
  }
  return (f.where ?? []).every((c) => matchesCondition(event, c))
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
    if (v !== undefined) setPath(out, target, v)
  }
  return out as KindredEvent
}
