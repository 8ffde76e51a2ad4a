/**
 * @module computed/definition
 * Computed trait definitions: an aggregate over a profile's events that pass a filter, over all
 * time or over a sliding window of whole buckets (see README.md in src/understand/core/segments for semantics).
 *
 * @example
 * parseComputedTraitDefinition({
 *   aggregate: 'sum', property: 'total',
 *   event: { event: 'Order Completed', where: [{ property: 'currency', condition: { op: 'eq', value: 'EUR' } }] },
 *   window: { amount: 30, unit: 'days' },
 * })
 */
import { z } from 'zod'
import { DomainError } from '../../../protocol/errors.js'
import { eventFilterSchema, type EventFilter } from '../segments/definition.js'
import { isTimeDependent, pathSchema } from '../segments/value-condition.js'

export const AGGREGATES = [
  'count',
  'sum',
  'avg',
  'min',
  'max',
  'first',
  'last',
  'most_frequent',
  'unique_list',
  'unique_count',
  'time_since_first',
  'time_since_last',
] as const
export type Aggregate = (typeof AGGREGATES)[number]

/** Aggregates that read a property of each event (the others only count or time events). */
export const PROPERTY_AGGREGATES: ReadonlySet<Aggregate> = new Set([
  'sum',
  'avg',
  'min',
  'max',
  'first',
  'last',
  'most_frequent',
  'unique_list',
  'unique_count',
])

export const WINDOW_LIMITS = { minutes: 1440, hours: 744, days: 1095 } as const

/**
 * "last N units": the current bucket (UTC minute / hour / day containing `now`) and the N-1
 * buckets before it. Whole buckets, so that expiry is exact without keeping every event.
 */
export const computedWindowSchema = z
  .object({
    amount: z.number().int().min(1),
    unit: z.enum(['minutes', 'hours', 'days']),
  })
  .refine((w) => w.amount <= WINDOW_LIMITS[w.unit], {
    message: `window too long: at most ${WINDOW_LIMITS.minutes} minutes, ${WINDOW_LIMITS.hours} hours or ${WINDOW_LIMITS.days} days`,
  })
export type ComputedWindow = z.infer<typeof computedWindowSchema>

export const UNIQUE_LIST_MAX = 1000

export const computedTraitDefinitionSchema = z
  .object({
    aggregate: z.enum(AGGREGATES),
    event: eventFilterSchema,
    /** Required for aggregates that read a property (sum, avg, min, max, first, last, …). */
    property: pathSchema.optional(),
    window: computedWindowSchema.optional(),
    /** unique_list: how many values the value holds (smallest first); default 100. */
    limit: z.number().int().min(1).max(UNIQUE_LIST_MAX).optional(),
  })
  .superRefine((d, ctx) => {
    if (PROPERTY_AGGREGATES.has(d.aggregate) && d.property === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['property'],
        message: `aggregate ${d.aggregate} needs a property`,
      })
    if (!PROPERTY_AGGREGATES.has(d.aggregate) && d.property !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['property'],
        message: `aggregate ${d.aggregate} reads no property`,
      })
    // An event must pass or fail its filter once and for all, or incremental state would drift.
    ;(d.event.where ?? []).forEach((w, i) => {
      if (isTimeDependent(w.condition))
        ctx.addIssue({
          code: 'custom',
          path: ['event', 'where', i, 'condition'],
          message: 'relative date conditions are not allowed in computed trait filters; use window',
        })
    })
  })
export type ComputedTraitDefinition = z.infer<typeof computedTraitDefinitionSchema>
export type { EventFilter }

export const computedTraitDefinitionJsonSchema = z.toJSONSchema(computedTraitDefinitionSchema, {
  target: 'draft-2020-12',
  io: 'input',
})

export class ComputedTraitDefinitionError extends DomainError<'COMPUTED_TRAIT_DEFINITION_INVALID'> {
  constructor(message: string, details?: unknown) {
    super('invalid_input', 'COMPUTED_TRAIT_DEFINITION_INVALID', message, { details })
  }

  /** The API has always answered with the zod issues as `issues`. */
  override publicDetails(): unknown {
    return { code: this.code, issues: this.details }
  }
}

/**
 * Validates unknown input as a computed trait definition.
 * @throws ComputedTraitDefinitionError (code COMPUTED_TRAIT_DEFINITION_INVALID, zod issues).
 */
export function parseComputedTraitDefinition(input: unknown): ComputedTraitDefinition {
  const r = computedTraitDefinitionSchema.safeParse(input)
  if (!r.success)
    throw new ComputedTraitDefinitionError(
      `Invalid computed trait definition: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}. Fix it and retry.`,
      r.error.issues,
    )
  return r.data
}

/** The event names / types a definition listens to (to route events to computed traits). */
export function computedTraitDependencies(def: ComputedTraitDefinition): {
  event?: string
  type?: string
  anyEvent: boolean
  /** true when the value changes with the clock alone (windowed: run expire() on schedule). */
  timeDependent: boolean
} {
  return {
    ...(def.event.event !== undefined ? { event: def.event.event } : {}),
    ...(def.event.type !== undefined ? { type: def.event.type } : {}),
    anyEvent: def.event.event === undefined && def.event.type === undefined,
    timeDependent: def.window !== undefined,
  }
}
