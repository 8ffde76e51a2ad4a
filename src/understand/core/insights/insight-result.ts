/**
 * @module insight-result
 * The answers, one shape per kind, identical whichever evaluator produced them (the reference
 * evaluator, Postgres or DuckDB). Dates are local `YYYY-MM-DD` in the insight's time zone.
 */
import type { Interval } from './insight-calendar.js'
import type { BreakdownValue } from './insight-resolve.js'
import type { RfmGroup } from './rfm-groups.js'

export interface ResultRange {
  from: string
  to: string
}

export interface TrendBucket {
  /** First local day of the bucket (a Monday for weeks, the 1st for months). */
  start: string
  /** count / unique: an integer; sum: 0 when empty; avg: null when no numeric value. */
  value: number | null
}

export interface TrendLine {
  /** Index of the series in the definition. */
  series: number
  name: string
  measure: 'count' | 'unique' | 'sum' | 'avg'
  /** Present when the definition has a breakdown. */
  breakdown?: BreakdownValue
  buckets: TrendBucket[]
  /** Over the whole range (unique: distinct profiles over the range, not a sum of buckets). */
  total: number | null
}

export interface TrendsPeriod {
  range: ResultRange
  lines: TrendLine[]
  /** Series whose breakdown had more values than `limit` (only the largest are shown). */
  truncated: number[]
}

export interface TrendsResult extends TrendsPeriod {
  kind: 'trends'
  interval: Interval
  timeZone: string
  previous?: TrendsPeriod
}

export interface FunnelStepResult {
  step: number
  event: string | null
  name: string
  /** Profiles that reached this step. */
  count: number
  /** count / count of step 1 (0 when nobody started). */
  conversionRate: number
  /** Median seconds from the previous step's completion to this one's (null for step 1). */
  medianSecondsToConvert: number | null
}

export interface TimeToConvertBin {
  /** Inclusive upper bound in seconds; the previous bin's bound (or 0) is the exclusive lower. */
  upToSeconds: number
  count: number
}

export interface FunnelGroup {
  steps: FunnelStepResult[]
  /** Time from the first to the last step of the profiles that completed the funnel. */
  timeToConvert: TimeToConvertBin[]
}

export interface FunnelResult extends FunnelGroup {
  kind: 'funnel'
  timeZone: string
  range: ResultRange
  order: 'strict' | 'any'
  windowSeconds: number
  breakdown?: Array<FunnelGroup & { value: BreakdownValue }>
  breakdownTruncated?: boolean
}

export interface RetentionCohort {
  /** First local day of the cohort's period. */
  start: string
  size: number
  /** values[k]: cohort profiles with a return event in the k-th period after the cohort's. */
  values: number[]
  /** revenue[k]: sum of the value property over those return events (with `value`). */
  revenue?: number[]
}

export interface RetentionResult {
  kind: 'retention'
  timeZone: string
  period: Interval
  range: ResultRange
  cohorts: RetentionCohort[]
}

export interface RfmCutPoints {
  recency: number[]
  frequency: number[]
  monetary: number[]
}

export interface RfmGroupResult {
  name: RfmGroup
  profiles: number
  share: number
  avgRecencyDays: number | null
  avgFrequency: number | null
  avgMonetary: number | null
  totalMonetary: number
}

export interface RfmResult {
  kind: 'rfm'
  timeZone: string
  asOf: string
  since: string | null
  profiles: number
  /** null when no profile bought anything. */
  cutPoints: RfmCutPoints | null
  groups: RfmGroupResult[]
  cells: Array<{ r: number; f: number; m: number; profiles: number }>
}

/** Value figures of a set of customers. Money is rounded to 6 decimals, as RFM's monetary. */
export interface ValueFigures {
  customers: number
  orders: number
  revenue: number
  /** revenue / orders; null without orders. */
  averageOrderValue: number | null
  /** orders / customers; null without customers. */
  ordersPerCustomer: number | null
  /** Historical lifetime value: revenue / customers; null without customers. */
  ltv: number | null
}

export interface ValueCohort extends ValueFigures {
  /** First day of the month of the cohort's first purchases. */
  start: string
}

export interface ValueCustomer {
  profileId: string
  orders: number
  revenue: number
  firstPurchase: string
  lastPurchase: string
}

export interface ValueResult {
  kind: 'value'
  timeZone: string
  asOf: string
  since: string | null
  total: ValueFigures
  /** Months with at least one first purchase, in order. */
  cohorts: ValueCohort[]
  /** The `top` customers by revenue (ties by profile id, code point order). */
  topCustomers: ValueCustomer[]
}

export interface LifecyclePeriod {
  /** First local day of the period. */
  start: string
  new: number
  returning: number
  resurrecting: number
  /** Active the period before, not in this one (a count: show it below the axis). */
  dormant: number
}

export interface LifecycleResult {
  kind: 'lifecycle'
  timeZone: string
  interval: Interval
  range: ResultRange
  periods: LifecyclePeriod[]
}

export interface StickinessPeriod {
  start: string
  /** Profiles active in the period. */
  profiles: number
  /** days[k − 1]: profiles active on exactly k local days of it (7 for a week, 31 for a month). */
  days: number[]
}

export interface StickinessResult {
  kind: 'stickiness'
  timeZone: string
  interval: 'week' | 'month'
  range: ResultRange
  periods: StickinessPeriod[]
}

export type InsightResult =
  | TrendsResult
  | FunnelResult
  | RetentionResult
  | RfmResult
  | ValueResult
  | LifecycleResult
  | StickinessResult

/** Profile ids of one funnel step, paged by id (code point order). */
export interface FunnelProfilesPage {
  step: number
  outcome: 'converted' | 'dropped'
  profileIds: string[]
  nextCursor: string | null
}
