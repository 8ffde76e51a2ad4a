/**
 * @module insight-reference
 * The reference evaluator: every insight computed in plain TypeScript over an array of events,
 * one profile and one event at a time, exactly as README.md words the rules. Slow on purpose
 * and obviously right; the SQL planner (insight-planner.ts) must give the same answers, and
 * src/understand/core/insights/agreement.test.ts holds them to it on random histories.
 */
import { matchesEventFilter } from '../segments/evaluate.js'
import type { EventFilter } from '../segments/definition.js'
import { durationMs, getPath, toNumber, toPath, type PathRef } from '../segments/value-condition.js'
import { formatDay, localDay, periodIndex, type Interval } from './insight-calendar.js'
import type {
  FunnelDefinition,
  LifecycleDefinition,
  RetentionDefinition,
  StickinessDefinition,
  RfmDefinition,
  TrendsDefinition,
  ValueDefinition,
} from './insight-definition.js'
import type {
  FunnelGroup,
  FunnelProfilesPage,
  FunnelResult,
  InsightResult,
  LifecycleResult,
  RetentionResult,
  StickinessResult,
  RfmResult,
  TrendLine,
  TrendsPeriod,
  TrendsResult,
  ValueResult,
} from './insight-result.js'
import {
  breakdownKey,
  breakdownValue,
  compareCodePoints,
  DEFAULT_BREAKDOWN_LIMIT,
  median,
  nearestRankCut,
  periodLabel,
  periodsOf,
  previousRange,
  resolveInsight,
  roundMoney,
  timeToConvertBins,
  topGroups,
  valueFigures,
  type BreakdownValue,
  type DayRange,
  type InsightContext,
  type ResolvedInsight,
} from './insight-resolve.js'
import { RFM_GROUPS, rfmGroup, scoreRecency, scoreUp } from './rfm-groups.js'
import type { InsightDefinition } from './insight-definition.js'

/** One stored event, as the `events` table (and the lake's Parquet files) hold it. */
export interface InsightEvent {
  profileId: string | null
  /** The `event` column: a track event's name; null for identify, unnamed pages… */
  event: string | null
  type: string
  /** Epoch milliseconds. */
  timestamp: number
  properties: Record<string, unknown>
}

interface Ev extends InsightEvent {
  dn: number
}

function prepare(events: readonly InsightEvent[], timeZone: string): Ev[] {
  return events.map((e) => ({ ...e, dn: localDay(e.timestamp, timeZone) }))
}

const matches = (f: EventFilter, e: Ev, nowMs: number): boolean =>
  matchesEventFilter(f, { name: e.event, type: e.type, properties: e.properties }, nowMs)

const prop = (e: Ev, ref: PathRef): unknown => getPath(e.properties, toPath(ref))

function byProfile(events: Ev[]): Map<string, Ev[]> {
  const out = new Map<string, Ev[]>()
  for (const e of events) {
    if (e.profileId === null) continue
    const list = out.get(e.profileId)
    if (list === undefined) out.set(e.profileId, [e])
    else list.push(e)
  }
  for (const list of out.values()) list.sort((a, b) => a.timestamp - b.timestamp)
  return out
}

const range = (r: DayRange) => ({ from: formatDay(r.from), to: formatDay(r.to) })

/** Evaluates any insight definition (already parsed) over `events`. */
export function evaluateInsight(
  def: InsightDefinition,
  events: readonly InsightEvent[],
  ctx: InsightContext,
): InsightResult {
  const r = resolveInsight(def, ctx)
  switch (def.kind) {
    case 'trends':
      return trends(def, r, prepare(events, r.timeZone))
    case 'funnel':
      return funnel(def, r, prepare(events, r.timeZone))
    case 'retention':
      return retention(def, r, prepare(events, r.timeZone))
    case 'rfm':
      return rfm(def, r, prepare(events, r.timeZone))
    case 'value':
      return value(def, r, prepare(events, r.timeZone))
    case 'lifecycle':
      return lifecycle(def, r, prepare(events, r.timeZone))
    case 'stickiness':
      return stickiness(def, r, prepare(events, r.timeZone))
  }
}

// ---------------------------------------------------------------------------------------------
// Trends

function trendsPeriod(def: TrendsDefinition, r: ResolvedInsight, evs: Ev[], dr: DayRange) {
  const lines: TrendLine[] = []
  const truncated: number[] = []
  const keys = periodsOf(dr, def.interval)
  def.series.forEach((s, i) => {
    const hits = evs.filter((e) => e.dn >= dr.from && e.dn <= dr.to && matches(s, e, r.nowMs))
    let groups: BreakdownValue[] = [null]
    if (def.breakdown !== undefined) {
      const counts = new Map<string, { value: BreakdownValue; count: number }>()
      for (const e of hits) {
        const v = breakdownValue(prop(e, def.breakdown.property))
        const g = counts.get(breakdownKey(v))
        if (g === undefined) counts.set(breakdownKey(v), { value: v, count: 1 })
        else g.count++
      }
      const top = topGroups(counts, def.breakdown.limit ?? DEFAULT_BREAKDOWN_LIMIT)
      groups = top.kept
      if (top.groups > top.kept.length) truncated.push(i)
    }
    for (const g of groups) {
      const mine =
        def.breakdown === undefined
          ? hits
          : hits.filter(
              (e) =>
                breakdownKey(breakdownValue(prop(e, def.breakdown?.property as PathRef))) ===
                breakdownKey(g),
            )
      const value = (list: Ev[]): number | null => {
        const m = s.measure
        switch (m.kind) {
          case 'count':
            return list.length
          case 'unique':
            return new Set(list.map((e) => e.profileId).filter((p) => p !== null)).size
          case 'sum':
          case 'avg': {
            const nums = list
              .map((e) => toNumber(prop(e, m.property)))
              .filter((n): n is number => n !== undefined)
            const sum = nums.reduce((a, b) => a + b, 0)
            if (m.kind === 'sum') return sum
            return nums.length === 0 ? null : sum / nums.length
          }
        }
      }
      lines.push({
        series: i,
        name: s.name ?? s.event ?? 'all events',
        measure: s.measure.kind,
        ...(def.breakdown === undefined ? {} : { breakdown: g }),
        buckets: keys.map((k) => ({
          start: periodLabel(k, def.interval),
          value: value(mine.filter((e) => periodIndex(e.dn, def.interval) === k)),
        })),
        total: value(mine),
      })
    }
  })
  return { range: range(dr), lines, truncated }
}

function trends(def: TrendsDefinition, r: ResolvedInsight, evs: Ev[]): TrendsResult {
  const current: TrendsPeriod = trendsPeriod(def, r, evs, r.range)
  return {
    kind: 'trends',
    interval: def.interval,
    timeZone: r.timeZone,
    ...current,
    ...(def.compare
      ? { previous: trendsPeriod(def, r, evs, previousRange(r.range, def.interval)) }
      : {}),
  }
}

// ---------------------------------------------------------------------------------------------
// Funnels

interface Path {
  profileId: string
  group: BreakdownValue
  t1: number
  /** Completion time of each reached step: c[0] = t1. */
  c: number[]
}

/**
 * Every profile's best path per breakdown group: from each start event in the range, the
 * earliest next step each time (strict: strictly after the previous step; any: strictly after
 * the start), all within the window of the start; paths an exclusion disqualifies are dropped;
 * the deepest remaining path wins, the earliest start among equals.
 */
function funnelPaths(
  def: FunnelDefinition,
  r: ResolvedInsight,
  evs: Ev[],
  withBreakdown: boolean,
): Path[] {
  const W = durationMs(def.window)
  const n = def.steps.length
  const best = new Map<string, Path>()
  for (const [profileId, list] of byProfile(evs)) {
    for (const start of list) {
      const first = def.steps[0] as EventFilter
      if (start.dn < r.range.from || start.dn > r.range.to || !matches(first, start, r.nowMs))
        continue
      const t1 = start.timestamp
      const end = t1 + W
      const earliest = (step: EventFilter, after: number): number | undefined =>
        list.find((e) => e.timestamp > after && e.timestamp <= end && matches(step, e, r.nowMs))
          ?.timestamp
      const c = [t1]
      if (def.order === 'strict') {
        for (let k = 1; k < n; k++) {
          const t = earliest(def.steps[k] as EventFilter, c[k - 1] as number)
          if (t === undefined) break
          c.push(t)
        }
      } else {
        for (let k = 1; k < n; k++) {
          const t = earliest(def.steps[k] as EventFilter, t1)
          if (t === undefined) break
          c.push(Math.max(t, c[k - 1] as number))
        }
      }
      const excluded = def.exclusions.some((x) => {
        const a = x.from ?? 1
        const b = x.to ?? n
        if (c.length < a) return false
        const lower = c[a - 1] as number
        const upper = c[b - 1]
        return list.some(
          (e) =>
            e.timestamp > lower &&
            (upper === undefined ? e.timestamp <= end : e.timestamp < upper) &&
            matches(x, e, r.nowMs),
        )
      })
      if (excluded) continue
      const group =
        withBreakdown && def.breakdown !== undefined
          ? breakdownValue(prop(start, def.breakdown.property))
          : null
      const key = `${profileId}\u0000${breakdownKey(group)}`
      const prev = best.get(key)
      if (
        prev === undefined ||
        c.length > prev.c.length ||
        (c.length === prev.c.length && t1 < prev.t1)
      )
        best.set(key, { profileId, group, t1, c })
    }
  }
  return [...best.values()]
}

function funnelGroup(def: FunnelDefinition, paths: Path[]): FunnelGroup {
  const n = def.steps.length
  const count1 = paths.length
  const steps = def.steps.map((s, k) => {
    const reached = paths.filter((p) => p.c.length > k)
    return {
      step: k + 1,
      event: s.event ?? null,
      name: s.name ?? s.event ?? `step ${k + 1}`,
      count: reached.length,
      conversionRate: count1 === 0 ? 0 : reached.length / count1,
      medianSecondsToConvert:
        k === 0
          ? null
          : (() => {
              const m = median(reached.map((p) => (p.c[k] as number) - (p.c[k - 1] as number)))
              return m === null ? null : m / 1000
            })(),
    }
  })
  const done = paths
    .filter((p) => p.c.length === n)
    .map((p) => ((p.c[n - 1] as number) - p.t1) / 1000)
  const bins = timeToConvertBins(def.window)
  const timeToConvert = bins.map((upTo, i) => ({
    upToSeconds: upTo,
    count: done.filter((s) => s <= upTo && (i === 0 || s > (bins[i - 1] as number))).length,
  }))
  return { steps, timeToConvert }
}

function funnel(def: FunnelDefinition, r: ResolvedInsight, evs: Ev[]): FunnelResult {
  const overall = funnelGroup(def, funnelPaths(def, r, evs, false))
  const result: FunnelResult = {
    kind: 'funnel',
    timeZone: r.timeZone,
    range: range(r.range),
    order: def.order,
    windowSeconds: durationMs(def.window) / 1000,
    ...overall,
  }
  if (def.breakdown !== undefined) {
    const paths = funnelPaths(def, r, evs, true)
    const counts = new Map<string, { value: BreakdownValue; count: number }>()
    for (const p of paths) {
      const g = counts.get(breakdownKey(p.group))
      if (g === undefined) counts.set(breakdownKey(p.group), { value: p.group, count: 1 })
      else g.count++
    }
    const top = topGroups(counts, def.breakdown.limit ?? DEFAULT_BREAKDOWN_LIMIT)
    result.breakdown = top.kept.map((value) => ({
      value,
      ...funnelGroup(
        def,
        paths.filter((p) => breakdownKey(p.group) === breakdownKey(value)),
      ),
    }))
    result.breakdownTruncated = top.groups > top.kept.length
  }
  return result
}

/**
 * Who converted at step N (reached it) or dropped at step N (reached step N − 1, not N), by
 * profile id in code point order, over the whole funnel (a breakdown is ignored).
 */
export function referenceFunnelProfiles(
  def: FunnelDefinition,
  events: readonly InsightEvent[],
  ctx: InsightContext,
  q: { step: number; outcome: 'converted' | 'dropped'; after?: string; limit: number },
): FunnelProfilesPage {
  const r = resolveInsight(def, ctx)
  const ids = funnelPaths(def, r, prepare(events, r.timeZone), false)
    .filter((p) => (q.outcome === 'converted' ? p.c.length >= q.step : p.c.length === q.step - 1))
    .map((p) => p.profileId)
    .filter((id) => q.after === undefined || compareCodePoints(id, q.after) > 0)
    .sort(compareCodePoints)
  const page = ids.slice(0, q.limit)
  return {
    step: q.step,
    outcome: q.outcome,
    profileIds: page,
    nextCursor: ids.length > q.limit ? (page[page.length - 1] ?? null) : null,
  }
}

// ---------------------------------------------------------------------------------------------
// Retention

function retention(def: RetentionDefinition, r: ResolvedInsight, evs: Ev[]): RetentionResult {
  const period = def.period
  const cohorts = new Map<number, { size: number; values: number[]; revenue: number[] }>()
  for (const k of periodsOf(r.range, period))
    cohorts.set(k, {
      size: 0,
      values: Array.from({ length: def.periods + 1 }, () => 0),
      revenue: Array.from({ length: def.periods + 1 }, () => 0),
    })
  for (const list of byProfile(evs).values()) {
    const first = list.find(
      (e) => e.dn >= r.range.from && e.dn <= r.range.to && matches(def.startEvent, e, r.nowMs),
    )
    if (first === undefined) continue
    const cp = periodIndex(first.dn, period)
    const cohort = cohorts.get(cp)
    if (cohort === undefined) continue
    cohort.size++
    const returned = new Set<number>()
    for (const e of list) {
      if (e.timestamp < first.timestamp || !matches(def.returnEvent, e, r.nowMs)) continue
      const k = periodIndex(e.dn, period) - cp
      if (k < 0 || k > def.periods) continue
      returned.add(k)
      if (def.value !== undefined)
        cohort.revenue[k] =
          (cohort.revenue[k] as number) + (toNumber(prop(e, def.value.property)) ?? 0)
    }
    for (const k of returned) cohort.values[k] = (cohort.values[k] as number) + 1
  }
  return {
    kind: 'retention',
    timeZone: r.timeZone,
    period,
    range: range(r.range),
    cohorts: [...cohorts.entries()].map(([k, c]) => ({
      start: periodLabel(k, period),
      size: c.size,
      values: c.values,
      ...(def.value === undefined ? {} : { revenue: c.revenue }),
    })),
  }
}

// ---------------------------------------------------------------------------------------------
// RFM

function rfm(def: RfmDefinition, r: ResolvedInsight, evs: Ev[]): RfmResult {
  const asOf = r.range.to
  const per = new Map<string, { last: number; f: number; m: number }>()
  for (const e of evs) {
    if (e.profileId === null || e.dn > asOf || e.dn < r.range.from) continue
    if (!matches(def.purchase, e, r.nowMs)) continue
    const v = toNumber(prop(e, def.value.property)) ?? 0
    const p = per.get(e.profileId)
    if (p === undefined) per.set(e.profileId, { last: e.dn, f: 1, m: v })
    else {
      p.last = Math.max(p.last, e.dn)
      p.f++
      p.m += v
    }
  }
  const profiles = [...per.values()].map((p) => ({
    r: asOf - p.last,
    f: p.f,
    m: roundMoney(p.m),
  }))
  const base = {
    kind: 'rfm' as const,
    timeZone: r.timeZone,
    asOf: formatDay(asOf),
    since: Number.isFinite(r.range.from) ? formatDay(r.range.from) : null,
    profiles: profiles.length,
  }
  if (profiles.length === 0) return { ...base, cutPoints: null, groups: [], cells: [] }
  const cut = (dim: 'r' | 'f' | 'm', fixed: number[] | undefined): number[] => {
    if (fixed !== undefined) return fixed
    const sorted = profiles.map((p) => p[dim]).sort((a, b) => a - b)
    return def.quantiles.map((q) => nearestRankCut(sorted, q))
  }
  const cutPoints = {
    recency: cut('r', def.cutPoints?.recency),
    frequency: cut('f', def.cutPoints?.frequency),
    monetary: cut('m', def.cutPoints?.monetary),
  }
  const cells = new Map<string, { r: number; f: number; m: number; profiles: number }>()
  const groups = new Map(
    RFM_GROUPS.map((g) => [g, { profiles: 0, recency: 0, frequency: 0, monetary: 0 }]),
  )
  for (const p of profiles) {
    const rs = scoreRecency(p.r, cutPoints.recency)
    const fs = scoreUp(p.f, cutPoints.frequency)
    const ms = scoreUp(p.m, cutPoints.monetary)
    const key = `${rs}${fs}${ms}`
    const cell = cells.get(key)
    if (cell === undefined) cells.set(key, { r: rs, f: fs, m: ms, profiles: 1 })
    else cell.profiles++
    const g = groups.get(rfmGroup(rs, fs, ms))
    if (g !== undefined) {
      g.profiles++
      g.recency += p.r
      g.frequency += p.f
      g.monetary += p.m
    }
  }
  return {
    ...base,
    cutPoints,
    groups: [...groups.entries()].map(([name, g]) => ({
      name,
      profiles: g.profiles,
      share: g.profiles / profiles.length,
      avgRecencyDays: g.profiles === 0 ? null : g.recency / g.profiles,
      avgFrequency: g.profiles === 0 ? null : g.frequency / g.profiles,
      avgMonetary: g.profiles === 0 ? null : g.monetary / g.profiles,
      totalMonetary: g.monetary,
    })),
    cells: [...cells.values()].sort((a, b) => a.r - b.r || a.f - b.f || a.m - b.m),
  }
}

// ---------------------------------------------------------------------------------------------
// Customer value

function value(def: ValueDefinition, r: ResolvedInsight, evs: Ev[]): ValueResult {
  const asOf = r.range.to
  const per = new Map<
    string,
    { first: number; last: number; orders: number; m: number; mi: number }
  >()
  for (const e of evs) {
    if (e.profileId === null || e.dn > asOf || e.dn < r.range.from) continue
    if (!matches(def.purchase, e, r.nowMs)) continue
    const v = toNumber(prop(e, def.value.property)) ?? 0
    const mi = periodIndex(e.dn, 'month')
    const p = per.get(e.profileId)
    if (p === undefined) per.set(e.profileId, { first: e.dn, last: e.dn, orders: 1, m: v, mi })
    else {
      p.first = Math.min(p.first, e.dn)
      p.last = Math.max(p.last, e.dn)
      p.mi = Math.min(p.mi, mi)
      p.orders++
      p.m += v
    }
  }
  // Each customer's revenue is rounded first (as RFM's monetary), then summed and rounded again.
  const customers = [...per.entries()].map(([profileId, p]) => ({
    profileId,
    ...p,
    m: roundMoney(p.m),
  }))
  const cohorts = new Map<number, { customers: number; orders: number; m: number }>()
  for (const c of customers) {
    const g = cohorts.get(c.mi)
    if (g === undefined) cohorts.set(c.mi, { customers: 1, orders: c.orders, m: c.m })
    else {
      g.customers++
      g.orders += c.orders
      g.m += c.m
    }
  }
  const sum = (f: (c: (typeof customers)[number]) => number) =>
    customers.reduce((s, c) => s + f(c), 0)
  return {
    kind: 'value',
    timeZone: r.timeZone,
    asOf: formatDay(asOf),
    since: Number.isFinite(r.range.from) ? formatDay(r.range.from) : null,
    total: valueFigures(
      customers.length,
      sum((c) => c.orders),
      sum((c) => c.m),
    ),
    cohorts: [...cohorts.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([mi, g]) => ({
        start: periodLabel(mi, 'month'),
        ...valueFigures(g.customers, g.orders, g.m),
      })),
    topCustomers: customers
      .sort((a, b) => b.m - a.m || compareCodePoints(a.profileId, b.profileId))
      .slice(0, def.top)
      .map((c) => ({
        profileId: c.profileId,
        orders: c.orders,
        revenue: c.m,
        firstPurchase: formatDay(c.first),
        lastPurchase: formatDay(c.last),
      })),
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle and stickiness

/**
 * Periods each profile was active in (an event matching the filter on a local day up to the
 * range's end), and the days of each: activity before the range counts (a profile's first
 * event ever decides `new`; the period before the first one decides `returning`).
 */
function activity(
  filter: EventFilter,
  r: ResolvedInsight,
  evs: Ev[],
  interval: Interval,
): Map<string, Map<number, Set<number>>> {
  const out = new Map<string, Map<number, Set<number>>>()
  for (const e of evs) {
    if (e.profileId === null || e.dn > r.range.to || !matches(filter, e, r.nowMs)) continue
    let per = out.get(e.profileId)
    if (per === undefined) out.set(e.profileId, (per = new Map()))
    const k = periodIndex(e.dn, interval)
    let days = per.get(k)
    if (days === undefined) per.set(k, (days = new Set()))
    days.add(e.dn)
  }
  return out
}

function lifecycle(def: LifecycleDefinition, r: ResolvedInsight, evs: Ev[]): LifecycleResult {
  const act = activity(def.event, r, evs, def.interval)
  const periods = periodsOf(r.range, def.interval).map((k) => {
    const row = {
      start: periodLabel(k, def.interval),
      new: 0,
      returning: 0,
      resurrecting: 0,
      dormant: 0,
    }
    for (const per of act.values()) {
      const first = Math.min(...per.keys())
      if (per.has(k)) {
        if (first === k) row.new++
        else if (per.has(k - 1)) row.returning++
        else row.resurrecting++
      } else if (per.has(k - 1)) row.dormant++
    }
    return row
  })
  return {
    kind: 'lifecycle',
    timeZone: r.timeZone,
    interval: def.interval,
    range: range(r.range),
    periods,
  }
}

function stickiness(def: StickinessDefinition, r: ResolvedInsight, evs: Ev[]): StickinessResult {
  const act = activity(def.event, r, evs, def.interval)
  const width = def.interval === 'week' ? 7 : 31
  const periods = periodsOf(r.range, def.interval).map((k) => {
    const days = Array.from({ length: width }, () => 0)
    let profiles = 0
    for (const per of act.values()) {
      const d = per.get(k)
      if (d === undefined) continue
      profiles++
      days[d.size - 1] = (days[d.size - 1] as number) + 1
    }
    return { start: periodLabel(k, def.interval), profiles, days }
  })
  return {
    kind: 'stickiness',
    timeZone: r.timeZone,
    interval: def.interval,
    range: range(r.range),
    periods,
  }
}
