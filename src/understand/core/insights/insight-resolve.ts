/**
 * @module insight-resolve
 * What a definition means at one moment in one time zone: relative ranges become local dates,
 * limits that depend on them are checked, and the rules both evaluators share are written once
 * (breakdown values and their order, the time-to-convert bins, RFM's rounding of money).
 * The clock and the zone are handed in (`InsightContext`).
 */
import {
  addMonths,
  formatDay,
  localDay,
  monthIndex,
  parseDay,
  periodEnd,
  periodIndex,
  periodStart,
  type Interval,
} from './insight-calendar.js'
import {
  INSIGHT_LIMITS,
  invalidField,
  type DateRange,
  type InsightDefinition,
} from './insight-definition.js'
import type { ValueFigures } from './insight-result.js'
import { durationMs } from '../segments/value-condition.js'

/** What an insight is evaluated against, besides its events. */
export interface InsightContext {
  /** Now, epoch ms (relative ranges, relative date conditions). */
  nowMs: number
  /** The workspace's time zone; a definition's own `timeZone` wins. */
  timeZone: string
}

/** A range of local dates, inclusive, as day numbers. */
export interface DayRange {
  from: number
  to: number
}

export function resolveRange(range: DateRange, todayDn: number): DayRange {
  if (range.kind === 'between')
    return { from: parseDay(range.from) as number, to: parseDay(range.to) as number }
  switch (range.unit) {
    case 'days':
      return { from: todayDn - range.amount + 1, to: todayDn }
    case 'weeks':
      return { from: todayDn - 7 * range.amount + 1, to: todayDn }
    case 'months':
      return { from: addMonths(todayDn, -range.amount) + 1, to: todayDn }
  }
}

/** The period before a trend's range: as many days before it, or as many months for `month`. */
export function previousRange(r: DayRange, interval: Interval): DayRange {
  if (interval === 'month') {
    const n = monthIndex(r.to) - monthIndex(r.from) + 1
    return { from: addMonths(r.from, -n), to: r.from - 1 }
  }
  const len = r.to - r.from + 1
  return { from: r.from - len, to: r.from - 1 }
}

/** Period indexes covering a range, first to last. */
export function periodsOf(r: DayRange, interval: Interval): number[] {
  const out: number[] = []
  for (let k = periodIndex(r.from, interval); k <= periodIndex(r.to, interval); k++) out.push(k)
  return out
}

export function periodLabel(index: number, interval: Interval): string {
  return formatDay(periodStart(index, interval))
}

export interface ResolvedInsight {
  def: InsightDefinition
  timeZone: string
  nowMs: number
  todayDn: number
  /** The range (RFM: since → asOf; since is unbounded when absent). */
  range: DayRange
}

function checkRange(r: DayRange, interval: Interval, what: string): void {
  if (r.to - r.from + 1 > INSIGHT_LIMITS.maxRangeDays)
    throw invalidField('range', `the range is at most ${INSIGHT_LIMITS.maxRangeDays} days`)
  const buckets = periodIndex(r.to, interval) - periodIndex(r.from, interval) + 1
  if (buckets > INSIGHT_LIMITS.maxBuckets)
    throw invalidField(
      'range',
      `${buckets} ${what} by ${interval}; the limit is ${INSIGHT_LIMITS.maxBuckets}: use a longer interval or a shorter range`,
    )
}

/** Resolves a parsed definition against a context: zone, today, explicit local dates. */
export function resolveInsight(def: InsightDefinition, ctx: InsightContext): ResolvedInsight {
  const timeZone = def.timeZone ?? ctx.timeZone
  const todayDn = localDay(ctx.nowMs, timeZone)
  const base = { def, timeZone, nowMs: ctx.nowMs, todayDn }
  switch (def.kind) {
    case 'trends': {
      const range = resolveRange(def.range, todayDn)
      checkRange(range, def.interval, 'buckets')
      if (def.compare) checkRange(previousRange(range, def.interval), def.interval, 'buckets')
      return { ...base, range }
    }
    case 'funnel': {
      const range = resolveRange(def.range, todayDn)
      if (range.to - range.from + 1 > INSIGHT_LIMITS.maxRangeDays)
        throw invalidField('range', `the range is at most ${INSIGHT_LIMITS.maxRangeDays} days`)
      return { ...base, range }
    }
    case 'retention': {
      const range = resolveRange(def.range, todayDn)
      checkRange(range, def.period, 'cohorts')
      return { ...base, range }
    }
    case 'lifecycle':
    case 'stickiness': {
      const range = resolveRange(def.range, todayDn)
      checkRange(range, def.interval, 'periods')
      return { ...base, range }
    }
    case 'rfm':
    case 'value': {
      const to = def.asOf === undefined ? todayDn : (parseDay(def.asOf) as number)
      const from =
        def.since === undefined ? Number.NEGATIVE_INFINITY : (parseDay(def.since) as number)
      if (from > to) throw invalidField('since', '`since` must not be after `asOf`')
      return { ...base, range: { from, to } }
    }
  }
}

/** The last local day a retention table reads return events on. */
export function retentionLastDay(r: DayRange, period: Interval, periods: number): number {
  return periodEnd(periodIndex(r.to, period) + periods, period)
}

// ---------------------------------------------------------------------------------------------
// Breakdown values

/** A breakdown group: a JSON string, number or boolean; anything else (missing, null, objects,
 * arrays, numbers beyond ±1e300) is the "none" group, `null`. */
export type BreakdownValue = string | number | boolean | null

export function breakdownValue(v: unknown): BreakdownValue {
  if (typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 1e300) return v + 0 // -0 is 0
  return null
}

function kindRank(v: BreakdownValue): number {
  if (typeof v === 'boolean') return 0
  if (typeof v === 'number') return 1
  if (typeof v === 'string') return 2
  return 3
}

/** Code point order (UTF-8 byte order, Postgres COLLATE "C", DuckDB's binary collation). */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  for (;;) {
    const x = ia.next()
    const y = ib.next()
    if (x.done === true) return y.done === true ? 0 : -1
    if (y.done === true) return 1
    const cx = x.value.codePointAt(0) as number
    const cy = y.value.codePointAt(0) as number
    if (cx !== cy) return cx - cy
  }
}

/** Total order of breakdown values: booleans (false, true), numbers, strings, then none. */
export function compareBreakdown(a: BreakdownValue, b: BreakdownValue): number {
  const ra = kindRank(a)
  const rb = kindRank(b)
  if (ra !== rb) return ra - rb
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b)
  if (a === null || b === null) return 0
  return Number(a) - Number(b)
}

/** A key for maps of breakdown values (`s:…`, `n:…`, `b:…`, `none`). */
export function breakdownKey(v: BreakdownValue): string {
  if (v === null) return 'none'
  return `${typeof v === 'string' ? 's' : typeof v === 'number' ? 'n' : 'b'}:${String(v)}`
}

/** The `limit` largest groups by count, ties in value order; and how many groups there were. */
export function topGroups(
  counts: Map<string, { value: BreakdownValue; count: number }>,
  limit: number,
): { kept: BreakdownValue[]; groups: number } {
  const all = [...counts.values()].sort(
    (x, y) => y.count - x.count || compareBreakdown(x.value, y.value),
  )
  return { kept: all.slice(0, limit).map((g) => g.value), groups: all.length }
}

export const DEFAULT_BREAKDOWN_LIMIT = 10

// ---------------------------------------------------------------------------------------------
// Funnels

const BIN_SECONDS = [
  60,
  300,
  900,
  1_800,
  3_600,
  3 * 3_600,
  6 * 3_600,
  12 * 3_600,
  86_400,
  2 * 86_400,
  3 * 86_400,
  7 * 86_400,
  14 * 86_400,
  30 * 86_400,
  60 * 86_400,
  90 * 86_400,
  180 * 86_400,
]

/**
 * Upper bounds (seconds, inclusive) of the time-to-convert histogram: the fixed ladder below
 * the window, then the window itself.
 */
export function timeToConvertBins(window: { amount: number; unit: string }): number[] {
  const w = durationMs(window as Parameters<typeof durationMs>[0]) / 1000
  return [...BIN_SECONDS.filter((s) => s < w), w]
}

/** The median as Postgres percentile_cont(0.5) and DuckDB median compute it. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  const mid = (s.length - 1) / 2
  const lo = s[Math.floor(mid)] as number
  const hi = s[Math.ceil(mid)] as number
  return lo + (hi - lo) * (mid - Math.floor(mid))
}

// ---------------------------------------------------------------------------------------------
// RFM

/**
 * Money per profile is rounded to 6 decimals (half away from zero) before it is scored: float
 * sums depend on the order of addition, which differs between engines, and a score must not
 * flip on the last bit of a sum.
 */
export function roundMoney(x: number): number {
  return (Math.sign(x) * Math.round(Math.abs(x) * 1e6)) / 1e6
}

/** Nearest-rank cut point: the value at rank ceil(q × n / 100) of the ascending values. */
export function nearestRankCut(sortedAsc: readonly number[], percent: number): number {
  const n = sortedAsc.length
  const rank = Math.floor((percent * n + 99) / 100)
  return sortedAsc[Math.max(1, rank) - 1] as number
}

/** Figures of customers from their totals (money summed, then rounded to 6 decimals). */
export function valueFigures(customers: number, orders: number, revenueSum: number): ValueFigures {
  const revenue = roundMoney(revenueSum)
  return {
    customers,
    orders,
    revenue,
    averageOrderValue: orders === 0 ? null : revenue / orders,
    ordersPerCustomer: customers === 0 ? null : orders / customers,
    ltv: customers === 0 ? null : revenue / customers,
  }
}
