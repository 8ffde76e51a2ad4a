/**
 * @module insight-definition
 * Insight definitions as data: one zod schema per kind (`trends`, `funnel`, `retention`, `rfm`),
 * tagged by `kind`, parsed once. Event filters and property conditions are the segments' own
 * (`eventFilterSchema`, the value-condition language), so a marketer learns one set of operators.
 * Unknown event names are not errors: they match nothing and the result is empty.
 *
 * @example
 * const def = parseInsightDefinition({
 *   kind: 'funnel',
 *   steps: [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: 'Order Completed' }],
 *   range: { kind: 'last', amount: 30, unit: 'days' },
 * })
 */
import { z } from 'zod'
import { DomainError } from '../../../protocol/errors.js'
import { nestsDeeperThan } from '../../../protocol/json-scan.js'
import { MAX_JSON_DEPTH } from '../../../protocol/limits.js'
import { eventFilterSchema } from '../segments/definition.js'
import { durationMs, durationSchema, pathSchema } from '../segments/value-condition.js'
import { isTimeZone, parseDay } from './insight-calendar.js'

export const INSIGHT_LIMITS = {
  maxSeries: 5,
  maxFunnelSteps: 10,
  maxExclusions: 5,
  maxBreakdownValues: 50,
  /** Buckets of a trend (per series) and cohorts of a retention table. */
  maxBuckets: 1_200,
  maxRangeDays: 3_700,
  maxRetentionPeriods: 120,
  /** Longest funnel conversion window. */
  maxWindowMs: 366 * 86_400_000,
  /** Profile ids returned by one "who dropped at step N" page. */
  maxProfilesPage: 10_000,
} as const

const dateSchema = z
  .string()
  .max(10)
  .refine((s) => parseDay(s) !== undefined, {
    message: 'expected a calendar date YYYY-MM-DD (year 1000 or later)',
  })

/**
 * Which local dates (in the insight's time zone): `between` two dates, both included, or the
 * `last` N days / weeks / months up to and including today.
 */
export const dateRangeSchema = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('between'), from: dateSchema, to: dateSchema })
    .refine((r) => (parseDay(r.from) ?? 0) <= (parseDay(r.to) ?? 0), {
      message: '`from` must not be after `to`',
      path: ['to'],
    }),
  z.object({
    kind: z.literal('last'),
    amount: z.number().int().min(1).max(3_650),
    unit: z.enum(['days', 'weeks', 'months']),
  }),
])
export type DateRange = z.infer<typeof dateRangeSchema>

const timeZoneSchema = z.string().refine(isTimeZone, {
  message: 'expected an IANA time zone name such as Europe/Berlin or UTC',
})

const intervalSchema = z.enum(['day', 'week', 'month'])

/** Breakdown by one event property (its JSON string, number or boolean; anything else is none). */
export const breakdownSchema = z.object({
  property: pathSchema,
  /** How many values are kept, the most frequent first (default 10). */
  limit: z.number().int().min(1).max(INSIGHT_LIMITS.maxBreakdownValues).optional(),
})
export type Breakdown = z.infer<typeof breakdownSchema>

export const measureSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('count') }),
  z.object({ kind: z.literal('unique') }),
  z.object({ kind: z.literal('sum'), property: pathSchema }),
  z.object({ kind: z.literal('avg'), property: pathSchema }),
])
export type Measure = z.infer<typeof measureSchema>

const seriesSchema = eventFilterSchema.extend({
  measure: measureSchema.default({ kind: 'count' }),
  /** A label for the result (default: the event name, or "all events"). */
  name: z.string().min(1).max(200).optional(),
})
export type TrendSeries = z.infer<typeof seriesSchema>

const common = {
  range: dateRangeSchema,
  /** Overrides the workspace's time zone for this insight. */
  timeZone: timeZoneSchema.optional(),
}

export const trendsSchema = z.object({
  kind: z.literal('trends'),
  series: z.array(seriesSchema).min(1).max(INSIGHT_LIMITS.maxSeries),
  interval: intervalSchema.default('day'),
  breakdown: breakdownSchema.optional(),
  /** Also compute the previous period (see README: how long it is). */
  compare: z.boolean().default(false),
  ...common,
})
export type TrendsDefinition = z.infer<typeof trendsSchema>

const stepSchema = eventFilterSchema.extend({ name: z.string().min(1).max(200).optional() })
export type FunnelStep = z.infer<typeof stepSchema>

const exclusionSchema = eventFilterSchema.extend({
  /** Between which steps (1-based) the event disqualifies a conversion; default first and last. */
  from: z.number().int().min(1).max(INSIGHT_LIMITS.maxFunnelSteps).optional(),
  to: z.number().int().min(2).max(INSIGHT_LIMITS.maxFunnelSteps).optional(),
})
export type FunnelExclusion = z.infer<typeof exclusionSchema>

export const DEFAULT_CONVERSION_WINDOW = { amount: 14, unit: 'days' } as const

export const funnelSchema = z
  .object({
    kind: z.literal('funnel'),
    steps: z.array(stepSchema).min(2).max(INSIGHT_LIMITS.maxFunnelSteps),
    /** Every later step at most this long after the first (inclusive). Default 14 days. */
    window: durationSchema
      .refine((d) => durationMs(d) <= INSIGHT_LIMITS.maxWindowMs, {
        message: 'the conversion window is at most 366 days',
      })
      .default(DEFAULT_CONVERSION_WINDOW),
    order: z.enum(['strict', 'any']).default('strict'),
    exclusions: z.array(exclusionSchema).max(INSIGHT_LIMITS.maxExclusions).default([]),
    breakdown: breakdownSchema.optional(),
    ...common,
  })
  .superRefine((f, ctx) => {
    f.exclusions.forEach((x, i) => {
      const from = x.from ?? 1
      const to = x.to ?? f.steps.length
      if (to > f.steps.length)
        ctx.addIssue({
          code: 'custom',
          path: ['exclusions', i, 'to'],
          message: `the funnel has ${f.steps.length} steps`,
        })
      if (from >= to)
        ctx.addIssue({
          code: 'custom',
          path: ['exclusions', i, 'from'],
          message: '`from` must be a step before `to`',
        })
    })
  })
export type FunnelDefinition = z.infer<typeof funnelSchema>

export const retentionSchema = z.object({
  kind: z.literal('retention'),
  /** A profile's first such event in the range puts it in that period's cohort. */
  startEvent: eventFilterSchema,
  /** What counts as coming back. */
  returnEvent: eventFilterSchema,
  period: intervalSchema.default('week'),
  /** Periods after the cohort's own (values has periods + 1 entries). Default 8. */
  periods: z.number().int().min(1).max(INSIGHT_LIMITS.maxRetentionPeriods).default(8),
  /** Revenue retention: also sum this numeric property of the return events. */
  value: z.object({ property: pathSchema }).optional(),
  ...common,
})
export type RetentionDefinition = z.infer<typeof retentionSchema>

const cutPointsSchema = z
  .array(z.number().finite())
  .length(4)
  .refine((c) => c.every((v, i) => i === 0 || (c[i - 1] as number) <= v), {
    message: 'cut points must be in ascending order',
  })

export const rfmSchema = z.object({
  kind: z.literal('rfm'),
  purchase: eventFilterSchema.default({ event: 'Order Completed' }),
  value: z.object({ property: pathSchema }).default({ property: 'revenue' }),
  /** The day recency is measured at, and the last day of purchases counted (default today). */
  asOf: dateSchema.optional(),
  /** First day of purchases counted (default: all history). */
  since: dateSchema.optional(),
  /** Percentiles (nearest rank) of the cut points between scores 1–5. Default quintiles. */
  quantiles: z
    .array(z.number().int().min(1).max(99))
    .length(4)
    .refine((q) => q.every((v, i) => i === 0 || (q[i - 1] as number) < v), {
      message: 'quantiles must be strictly ascending',
    })
    .default([20, 40, 60, 80]),
  /** Fixed cut points per dimension instead of quantiles (recency in days). */
  cutPoints: z
    .object({
      recency: cutPointsSchema.optional(),
      frequency: cutPointsSchema.optional(),
      monetary: cutPointsSchema.optional(),
    })
    .optional(),
  timeZone: timeZoneSchema.optional(),
})
export type RfmDefinition = z.infer<typeof rfmSchema>

/**
 * Customer value: per customer (a profile with a purchase in [since, asOf]) orders and revenue,
 * and from them revenue, orders, average order value, orders per customer and historical LTV
 * (revenue per customer) over everyone and per cohort (the month of the first purchase).
 */
export const valueSchema = z.object({
  kind: z.literal('value'),
  purchase: eventFilterSchema.default({ event: 'Order Completed' }),
  value: z.object({ property: pathSchema }).default({ property: 'revenue' }),
  /** The last day of purchases counted (default today). */
  asOf: dateSchema.optional(),
  /** First day of purchases counted (default: all history). */
  since: dateSchema.optional(),
  /** How many of the customers with the most revenue to list. */
  top: z.number().int().min(0).max(100).default(10),
  timeZone: timeZoneSchema.optional(),
})
export type ValueDefinition = z.infer<typeof valueSchema>

/**
 * Lifecycle: per period, the profiles active (an event matching `event`) that are new (their
 * first such event ever), returning (active the period before too) or resurrecting (active
 * before, not the period before), and those dormant (active the period before, not this one).
 */
export const lifecycleSchema = z.object({
  kind: z.literal('lifecycle'),
  event: eventFilterSchema,
  interval: intervalSchema.default('week'),
  ...common,
})
export type LifecycleDefinition = z.infer<typeof lifecycleSchema>

/** Stickiness: per week or month, how many profiles were active on exactly 1, 2, … days. */
export const stickinessSchema = z.object({
  kind: z.literal('stickiness'),
  event: eventFilterSchema,
  interval: z.enum(['week', 'month']).default('week'),
  ...common,
})
export type StickinessDefinition = z.infer<typeof stickinessSchema>

export const insightDefinitionSchema = z.discriminatedUnion('kind', [
  trendsSchema,
  funnelSchema,
  retentionSchema,
  rfmSchema,
  valueSchema,
  lifecycleSchema,
  stickinessSchema,
])
export type InsightDefinition = z.infer<typeof insightDefinitionSchema>
export type InsightKind = InsightDefinition['kind']

/** JSON Schema (draft 2020-12) of insight definitions, published for API users. */
export const insightDefinitionJsonSchema = z.toJSONSchema(insightDefinitionSchema, {
  target: 'draft-2020-12',
  io: 'input',
  unrepresentable: 'any',
})

export const INSIGHT_ERROR_CODES = {
  invalid: 'INSIGHT_DEFINITION_INVALID',
} as const

export interface InsightIssue {
  path: string
  message: string
}

/** A definition Kindred cannot run; `details` lists each offending field by its path. */
export class InsightDefinitionError extends DomainError<typeof INSIGHT_ERROR_CODES.invalid> {
  constructor(message: string, issues: InsightIssue[]) {
    super('invalid_input', INSIGHT_ERROR_CODES.invalid, message, { details: issues })
  }

  override publicDetails(): unknown {
    return { code: this.code, issues: this.details }
  }
}

/** Raises an InsightDefinitionError for one field (checks that need the clock or the zone). */
export function invalidField(path: string, message: string): InsightDefinitionError {
  return new InsightDefinitionError(`Invalid insight definition: ${path}: ${message}.`, [
    { path, message },
  ])
}

/**
 * Validates unknown input as an insight definition (defaults filled in).
 * @throws InsightDefinitionError naming each offending field (`steps.1.where.0.condition.op`).
 */
export function parseInsightDefinition(input: unknown): InsightDefinition {
  if (nestsDeeperThan(input, MAX_JSON_DEPTH))
    throw new InsightDefinitionError(
      `Invalid insight definition: nested deeper than ${MAX_JSON_DEPTH} levels.`,
      [{ path: '(root)', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
    )
  const r = insightDefinitionSchema.safeParse(input)
  if (r.success) return r.data
  const issues = r.error.issues.slice(0, 20).map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }))
  throw new InsightDefinitionError(
    `Invalid insight definition: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`,
    issues,
  )
}
