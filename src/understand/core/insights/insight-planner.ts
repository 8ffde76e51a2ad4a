/**
 * @module insight-planner
 * One planner, two backends: each insight definition becomes parameterised SQL over the
 * normalised events relation of an `InsightDialect` (Postgres over the store's `events` table,
 * DuckDB over Parquet files), and the rows come back through one assembler into the result
 * shapes of insight-result.ts. Every statement is written once here; the dialects only spell
 * what differs. The meaning is the reference evaluator's (insight-reference.ts).
 *
 * How the hard parts are computed in SQL (see README.md for the rules themselves):
 * - local days: the dialect turns each instant into `dn` (local day number) and `mi` (month
 *   index); weeks are `(dn + 3 − ((dn + 3) mod 7)) / 7`. All bucket and period logic is integer
 *   arithmetic on them. Instants are prefiltered with two days of margin (`coarseBounds`), which
 *   an index on `"timestamp"` (or Parquet statistics) can serve; the exact test is on `dn`.
 * - funnels: one pass of window functions gives, for every (profile, instant), the first
 *   instant strictly after it of each step and each exclusion
 *   (`min(…) OVER (PARTITION BY profile ORDER BY ms RANGE BETWEEN 1 FOLLOWING AND UNBOUNDED
 *   FOLLOWING)`); a path from a start is then a chain of equi-joins on (profile, instant), one
 *   per step, and "an exclusion between two steps" is a comparison of next-instants.
 * - RFM cut points: nearest rank by `row_number()`, integer arithmetic for the rank.
 */
import type { EventFilter } from '../segments/definition.js'
import { SqlParams, type SqlQuery } from '../segments/sql-params.js'
import { durationMs, toPath, type PathRef } from '../segments/value-condition.js'
import {
  coarseBounds,
  formatDay,
  periodIndex,
  periodStart,
  type Interval,
} from './insight-calendar.js'
import type { EventsScope, InsightDialect } from './insight-dialect.js'
import type {
  Breakdown,
  FunnelDefinition,
  InsightDefinition,
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
  DEFAULT_BREAKDOWN_LIMIT,
  periodLabel,
  periodsOf,
  previousRange,
  resolveInsight,
  retentionLastDay,
  timeToConvertBins,
  topGroups,
  valueFigures,
  type BreakdownValue,
  type DayRange,
  type InsightContext,
  type ResolvedInsight,
} from './insight-resolve.js'
import { RFM_GROUPS, rfmGroup } from './rfm-groups.js'

export type Row = Record<string, unknown>

export interface PlannedStatement {
  name: string
  query: SqlQuery
}

/** Statements to run (in any order, each on its own) and how their rows become the result. */
export interface InsightPlan<R = InsightResult> {
  statements: PlannedStatement[]
  assemble(rows: ReadonlyMap<string, readonly Row[]>): R
  /** The event scans the statements make (a backend may bound them before running). */
  scans: EventsScope[]
}

/** A target whose dialect records every scan it is asked for. */
function recording(target: PlanTarget): { target: PlanTarget; scans: EventsScope[] } {
  const scans: EventsScope[] = []
  const dialect: InsightDialect = {
    ...target.dialect,
    events(scope, p) {
      scans.push(scope)
      return target.dialect.events(scope, p)
    },
  }
  return { target: { ...target, dialect }, scans }
}

export interface PlanTarget {
  dialect: InsightDialect
  workspaceId: string
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** Conjuncts of an event filter on the events relation alias `s`. */
function filterSql(f: EventFilter, d: InsightDialect, p: SqlParams, nowMs: number): string {
  const parts: string[] = []
  if (f.event !== undefined) parts.push(`s.event = ${p.add(f.event, 'text')}`)
  if (f.type !== undefined) parts.push(`s.type = ${p.add(f.type, 'text')}`)
  for (const w of f.where ?? [])
    parts.push(
      d.condition(w.condition, d.property('s.properties', toPath(w.property), p), p, nowMs),
    )
  return parts.length === 0 ? 'true' : parts.map((x) => `(${x})`).join(' AND ')
}

/** The event names to scan when every filter names one (an index / a cheap pushdown). */
function namesOf(filters: readonly EventFilter[]): string[] | undefined {
  if (filters.some((f) => f.event === undefined)) return undefined
  return [...new Set(filters.map((f) => f.event as string))].sort()
}

function weekIndex(dn: string, d: InsightDialect): string {
  return d.idiv(`${dn} + 3 - (((((${dn}) + 3) % 7) + 7) % 7)`, '7')
}

function periodSql(interval: Interval, d: InsightDialect): string {
  switch (interval) {
    case 'day':
      return 's.dn'
    case 'week':
      return weekIndex('s.dn', d)
    case 'month':
      return 's.mi'
  }
}

const KIND_RANK =
  "CASE bk_kind WHEN 'boolean' THEN 0 WHEN 'number' THEN 1 WHEN 'string' THEN 2 ELSE 3 END"
const BK_COLS = 'bk_kind, bk_num, bk_str'

function bkSelect(ref: PathRef, d: InsightDialect, p: SqlParams): string {
  const x = d.property('s.properties', toPath(ref), p)
  const b = d.breakdown(x)
  return `${b.kind} AS bk_kind, ${b.num} AS bk_num, ${b.str} AS bk_str`
}

function bkOrder(d: InsightDialect): string {
  return `${KIND_RANK}, bk_num, ${d.byCodePoint('bk_str')}`
}

function groupValue(row: Row): BreakdownValue {
  switch (row.bk_kind) {
    case 'string':
      return String(row.bk_str)
    case 'number':
      return Number(row.bk_num) + 0
    case 'boolean':
      return Number(row.bk_num) === 1
    default:
      return null
  }
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v))
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))
const rangeOf = (r: DayRange) => ({ from: formatDay(r.from), to: formatDay(r.to) })

function rowsOf(rows: ReadonlyMap<string, readonly Row[]>, name: string): readonly Row[] {
  return rows.get(name) ?? []
}

/** Plans any parsed definition. */
export function planInsight(
  def: InsightDefinition,
  ctx: InsightContext,
  target: PlanTarget,
): InsightPlan {
  const r = resolveInsight(def, ctx)
  const { target: t, scans } = recording(target)
  const plan = (() => {
    switch (def.kind) {
      case 'trends':
        return planTrends(def, r, t)
      case 'funnel':
        return planFunnel(def, r, t)
      case 'retention':
        return planRetention(def, r, t)
      case 'rfm':
        return planRfm(def, r, t)
      case 'value':
        return planValue(def, r, t)
      case 'lifecycle':
        return planLifecycle(def, r, t)
      case 'stickiness':
        return planStickiness(def, r, t)
    }
  })()
  return { ...plan, scans }
}

type Unscanned<R = InsightResult> = Omit<InsightPlan<R>, 'scans'>

// ---------------------------------------------------------------------------------------------
// Trends

function trendStatement(
  def: TrendsDefinition,
  i: number,
  r: ResolvedInsight,
  dr: DayRange,
  t: PlanTarget,
): SqlQuery {
  const d = t.dialect
  const s = def.series[i] as TrendsDefinition['series'][number]
  const p = new SqlParams()
  const { lo, hi } = coarseBounds(dr.from, dr.to)
  const src = d.events(
    { workspaceId: t.workspaceId, timeZone: r.timeZone, lo, hi, names: namesOf([s]) },
    p,
  )
  const m = s.measure
  const v =
    m.kind === 'sum' || m.kind === 'avg'
      ? d.num(d.property('s.properties', toPath(m.property), p))
      : d.float('NULL')
  const bk = def.breakdown === undefined ? '' : `, ${bkSelect(def.breakdown.property, d, p)}`
  const where = `s.dn BETWEEN ${p.add(dr.from, 'int')} AND ${p.add(dr.to, 'int')} AND ${filterSql(s, d, p, r.nowMs)}`
  const ev = `ev AS (SELECT s.profile_id, ${d.int(periodSql(def.interval, d))} AS b, ${v} AS v${bk} FROM (${src}) s WHERE ${where})`
  const measures =
    `${d.int('GROUPING(ev.b)')} AS total, ${d.int('count(*)')} AS n, ` +
    `${d.int('count(DISTINCT ev.profile_id)')} AS u, ${d.float('sum(ev.v)')} AS s, ${d.int('count(ev.v)')} AS nv`
  if (def.breakdown === undefined) {
    return {
      text: `WITH ${ev} SELECT ev.b, ${measures} FROM ev GROUP BY GROUPING SETS ((ev.b), ())`,
      values: p.values,
    }
  }
  const limit = def.breakdown.limit ?? DEFAULT_BREAKDOWN_LIMIT
  const g =
    `g AS (SELECT ${BK_COLS}, count(*) AS n, count(*) OVER () AS groups FROM ev GROUP BY ${BK_COLS} ` +
    `ORDER BY n DESC, ${bkOrder(d)} LIMIT ${p.add(limit, 'int')})`
  const on = ['bk_kind', 'bk_num', 'bk_str']
    .map((c) => `ev.${c} IS NOT DISTINCT FROM g.${c}`)
    .join(' AND ')
  return {
    text:
      `WITH ${ev}, ${g} SELECT g.bk_kind, g.bk_num, g.bk_str, ${d.int('max(g.groups)')} AS groups, ev.b, ${measures} ` +
      `FROM ev JOIN g ON ${on} ` +
      `GROUP BY GROUPING SETS ((g.bk_kind, g.bk_num, g.bk_str, ev.b), (g.bk_kind, g.bk_num, g.bk_str))`,
    values: p.values,
  }
}

function trendValue(m: TrendsDefinition['series'][number]['measure'], row: Row | undefined) {
  if (row === undefined) return m.kind === 'avg' ? null : 0
  switch (m.kind) {
    case 'count':
      return num(row.n)
    case 'unique':
      return num(row.u)
    case 'sum':
      return num(row.s)
    case 'avg':
      return num(row.nv) === 0 ? null : num(row.s) / num(row.nv)
  }
}

function assembleTrends(
  def: TrendsDefinition,
  dr: DayRange,
  rows: (i: number) => readonly Row[],
): TrendsPeriod {
  const keys = periodsOf(dr, def.interval)
  const lines: TrendLine[] = []
  const truncated: number[] = []
  def.series.forEach((s, i) => {
    const groups = new Map<string, { value: BreakdownValue; count: number; rows: Row[] }>()
    for (const row of rows(i)) {
      const value = def.breakdown === undefined ? null : groupValue(row)
      const key = breakdownKey(value)
      let g = groups.get(key)
      if (g === undefined) groups.set(key, (g = { value, count: 0, rows: [] }))
      if (num(row.total) === 1) g.count = num(row.n)
      g.rows.push(row)
      const limit = def.breakdown?.limit ?? DEFAULT_BREAKDOWN_LIMIT
      if (def.breakdown !== undefined && num(row.groups) > limit) truncated.push(i)
    }
    if (def.breakdown === undefined && groups.size === 0)
      groups.set('none', { value: null, count: 0, rows: [] })
    const ordered = topGroups(groups, Number.MAX_SAFE_INTEGER).kept
    for (const value of ordered) {
      const g = groups.get(breakdownKey(value)) as { rows: Row[] }
      const byBucket = new Map<number, Row>()
      let totalRow: Row | undefined
      for (const row of g.rows) {
        if (num(row.total) === 1) totalRow = row
        else byBucket.set(num(row.b), row)
      }
      lines.push({
        series: i,
        name: s.name ?? s.event ?? 'all events',
        measure: s.measure.kind,
        ...(def.breakdown === undefined ? {} : { breakdown: value }),
        buckets: keys.map((k) => ({
          start: periodLabel(k, def.interval),
          value: trendValue(s.measure, byBucket.get(k)),
        })),
        total: trendValue(s.measure, totalRow),
      })
    }
  })
  return { range: rangeOf(dr), lines, truncated: [...new Set(truncated)] }
}

function planTrends(def: TrendsDefinition, r: ResolvedInsight, t: PlanTarget): Unscanned {
  if (def.breakdown !== undefined && def.breakdown.limit === undefined)
    def = { ...def, breakdown: { ...def.breakdown, limit: DEFAULT_BREAKDOWN_LIMIT } }
  const periods: Array<{ key: 'current' | 'previous'; range: DayRange }> = [
    { key: 'current', range: r.range },
  ]
  if (def.compare) periods.push({ key: 'previous', range: previousRange(r.range, def.interval) })
  const statements = periods.flatMap((per) =>
    def.series.map((_, i) => ({
      name: `trend:${per.key}:${i}`,
      query: trendStatement(def, i, r, per.range, t),
    })),
  )
  return {
    statements,
    assemble(rows): TrendsResult {
      const period = (per: (typeof periods)[number]) =>
        assembleTrends(def, per.range, (i) => rowsOf(rows, `trend:${per.key}:${i}`))
      const current = period(periods[0] as (typeof periods)[number])
      const prev = periods[1]
      return {
        kind: 'trends',
        interval: def.interval,
        timeZone: r.timeZone,
        ...current,
        ...(prev === undefined ? {} : { previous: period(prev) }),
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Funnels

/**
 * CTEs ending in `best`: each profile's best path (per breakdown group when `withBreakdown`),
 * with `t1`, `c1…cN` (completion instants, NULL when not reached) and `depth`.
 */
function funnelCtes(
  def: FunnelDefinition,
  r: ResolvedInsight,
  t: PlanTarget,
  p: SqlParams,
  withBreakdown: boolean,
): string {
  const d = t.dialect
  const n = def.steps.length
  const W = p.add(durationMs(def.window), 'bigint')
  const { lo } = coarseBounds(r.range.from, r.range.to)
  const hi = coarseBounds(r.range.from, r.range.to).hi + durationMs(def.window)
  const filters = [...def.steps, ...def.exclusions]
  const src = d.events(
    { workspaceId: t.workspaceId, timeZone: r.timeZone, lo, hi, names: namesOf(filters) },
    p,
  )
  const bk = withBreakdown && def.breakdown !== undefined
  const flags = [
    ...def.steps.map((s, k) => `(${filterSql(s, d, p, r.nowMs)}) AS f${k + 1}`),
    ...def.exclusions.map((x, j) => `(${filterSql(x, d, p, r.nowMs)}) AS x${j + 1}`),
  ]
  const bkCols = bk ? `, ${bkSelect((def.breakdown as Breakdown).property, d, p)}` : ''
  const any = [
    ...def.steps.map((_, k) => `f${k + 1}`),
    ...def.exclusions.map((_, j) => `x${j + 1}`),
  ].join(' OR ')
  const ctes: string[] = []
  ctes.push(
    `ev AS (SELECT * FROM (SELECT s.profile_id, s.ms, s.dn, ${flags.join(', ')}${bkCols} ` +
      `FROM (${src}) s WHERE s.profile_id IS NOT NULL) e0 WHERE ${any})`,
  )
  const nexts = [
    ...def.steps.slice(1).map((_, k) => `min(CASE WHEN f${k + 2} THEN ms END) OVER w AS n${k + 2}`),
    ...def.exclusions.map((_, j) => `min(CASE WHEN x${j + 1} THEN ms END) OVER w AS xn${j + 1}`),
  ]
  ctes.push(
    `nx AS (SELECT DISTINCT profile_id, ms, ${nexts.join(', ')} FROM ev ` +
      `WINDOW w AS (PARTITION BY profile_id ORDER BY ms RANGE BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING))`,
  )
  ctes.push(
    `st AS (SELECT DISTINCT profile_id, ms AS t1${bk ? `, ${BK_COLS}` : ''} FROM ev ` +
      `WHERE f1 AND dn BETWEEN ${p.add(r.range.from, 'int')} AND ${p.add(r.range.to, 'int')})`,
  )
  ctes.push(`c1 AS (SELECT st.*, st.t1 AS c1 FROM st)`)
  if (def.order === 'strict') {
    for (let k = 2; k <= n; k++)
      ctes.push(
        `c${k} AS (SELECT q.*, CASE WHEN a.n${k} <= q.t1 + ${W} THEN a.n${k} END AS c${k} ` +
          `FROM c${k - 1} q LEFT JOIN nx a ON a.profile_id = q.profile_id AND a.ms = q.c${k - 1})`,
      )
  } else {
    const ts = def.steps
      .slice(1)
      .map((_, k) => `CASE WHEN a.n${k + 2} <= q.t1 + ${W} THEN a.n${k + 2} END AS t${k + 2}`)
    ctes.push(
      `c AS (SELECT q.*, ${ts.join(', ')} FROM c1 q JOIN nx a ON a.profile_id = q.profile_id AND a.ms = q.t1)`,
    )
    for (let k = 2; k <= n; k++)
      ctes.push(
        `c${k} AS (SELECT q.*, CASE WHEN q.c${k - 1} IS NOT NULL AND q.t${k} IS NOT NULL THEN ` +
          `CASE WHEN q.t${k} > q.c${k - 1} THEN q.t${k} ELSE q.c${k - 1} END END AS c${k} ` +
          `FROM ${k === 2 ? 'c' : `c${k - 1}`} q)`,
      )
  }
  let last = `c${n}`
  def.exclusions.forEach((x, j) => {
    const a = x.from ?? 1
    const b = x.to ?? n
    const name = `x${j + 1}q`
    ctes.push(
      `${name} AS (SELECT q.*, CASE WHEN q.c${a} IS NULL THEN false ` +
        `WHEN q.c${b} IS NOT NULL THEN coalesce(z.xn${j + 1} < q.c${b}, false) ` +
        `ELSE coalesce(z.xn${j + 1} <= q.t1 + ${W}, false) END AS dq${j + 1} ` +
        `FROM ${last} q LEFT JOIN nx z ON z.profile_id = q.profile_id AND z.ms = q.c${a})`,
    )
    last = name
  })
  const dq = def.exclusions.map((_, j) => `dq${j + 1}`)
  const depth = [
    '1',
    ...def.steps.slice(1).map((_, k) => `CASE WHEN c${k + 2} IS NOT NULL THEN 1 ELSE 0 END`),
  ].join(' + ')
  const cs = def.steps.map((_, k) => `c${k + 1}`).join(', ')
  ctes.push(
    `ok AS (SELECT profile_id, t1, ${cs}${bk ? `, ${BK_COLS}` : ''}, ${depth} AS depth FROM ${last}` +
      `${dq.length > 0 ? ` WHERE NOT (${dq.join(' OR ')})` : ''})`,
  )
  ctes.push(
    `best AS (SELECT * FROM (SELECT ok.*, row_number() OVER (PARTITION BY profile_id${bk ? `, ${BK_COLS}` : ''} ` +
      `ORDER BY depth DESC, t1) AS rn FROM ok) b0 WHERE rn = 1)`,
  )
  return ctes.join(', ')
}

function funnelStatement(
  def: FunnelDefinition,
  r: ResolvedInsight,
  t: PlanTarget,
  withBreakdown: boolean,
): SqlQuery {
  const d = t.dialect
  const p = new SqlParams()
  const ctes = funnelCtes(def, r, t, p, withBreakdown)
  const n = def.steps.length
  const cols = [`${d.int('count(*)')} AS n1`]
  for (let k = 2; k <= n; k++) {
    cols.push(`${d.int(`count(c${k})`)} AS n${k}`)
    cols.push(`${d.median(`c${k} - c${k - 1}`)} AS m${k}`)
  }
  timeToConvertBins(def.window).forEach((s, i) => {
    cols.push(
      `${d.int(`count(CASE WHEN c${n} - c1 <= ${p.add(s * 1000, 'bigint')} THEN 1 END)`)} AS h${i}`,
    )
  })
  if (!withBreakdown)
    return { text: `WITH ${ctes} SELECT ${cols.join(', ')} FROM best`, values: p.values }
  const limit = def.breakdown?.limit ?? DEFAULT_BREAKDOWN_LIMIT
  return {
    text:
      `WITH ${ctes} SELECT ${BK_COLS}, ${d.int('count(*) OVER ()')} AS groups, ${cols.join(', ')} ` +
      `FROM best GROUP BY ${BK_COLS} ORDER BY n1 DESC, ${bkOrder(d)} LIMIT ${p.add(limit, 'int')}`,
    values: p.values,
  }
}

function funnelGroupOf(def: FunnelDefinition, row: Row | undefined): FunnelGroup {
  const n1 = num(row?.n1)
  const steps = def.steps.map((s, k) => {
    const count = k === 0 ? n1 : num(row?.[`n${k + 1}`])
    const m = k === 0 ? null : numOrNull(row?.[`m${k + 1}`])
    return {
      step: k + 1,
      event: s.event ?? null,
      name: s.name ?? s.event ?? `step ${k + 1}`,
      count,
      conversionRate: n1 === 0 ? 0 : count / n1,
      medianSecondsToConvert: m === null ? null : m / 1000,
    }
  })
  const bins = timeToConvertBins(def.window)
  const timeToConvert = bins.map((upTo, i) => ({
    upToSeconds: upTo,
    count: num(row?.[`h${i}`]) - (i === 0 ? 0 : num(row?.[`h${i - 1}`])),
  }))
  return { steps, timeToConvert }
}

function planFunnel(def: FunnelDefinition, r: ResolvedInsight, t: PlanTarget): Unscanned {
  const statements = [{ name: 'funnel', query: funnelStatement(def, r, t, false) }]
  if (def.breakdown !== undefined)
    statements.push({ name: 'funnel:breakdown', query: funnelStatement(def, r, t, true) })
  return {
    statements,
    assemble(rows): FunnelResult {
      const result: FunnelResult = {
        kind: 'funnel',
        timeZone: r.timeZone,
        range: rangeOf(r.range),
        order: def.order,
        windowSeconds: durationMs(def.window) / 1000,
        ...funnelGroupOf(def, rowsOf(rows, 'funnel')[0]),
      }
      if (def.breakdown !== undefined) {
        const groups = rowsOf(rows, 'funnel:breakdown')
        const byValue = new Map<string, { value: BreakdownValue; count: number; row: Row }>()
        for (const row of groups) {
          const value = groupValue(row)
          byValue.set(breakdownKey(value), { value, count: num(row.n1), row })
        }
        result.breakdown = topGroups(byValue, Number.MAX_SAFE_INTEGER).kept.map((value) => ({
          value,
          ...funnelGroupOf(def, byValue.get(breakdownKey(value))?.row),
        }))
        result.breakdownTruncated = groups.some(
          (g) => num(g.groups) > (def.breakdown?.limit ?? DEFAULT_BREAKDOWN_LIMIT),
        )
      }
      return result
    },
  }
}

export interface FunnelProfilesQuery {
  /** 1-based step. `dropped` needs step ≥ 2. */
  step: number
  outcome: 'converted' | 'dropped'
  /** Profile id to continue after (the previous page's `nextCursor`). */
  after?: string | undefined
  limit: number
}

/**
 * Profile ids that converted at step N (reached it) or dropped at step N (reached N − 1 but
 * not N), in code point order: the funnel without its breakdown.
 */
export function planFunnelProfiles(
  def: FunnelDefinition,
  ctx: InsightContext,
  target: PlanTarget,
  q: FunnelProfilesQuery,
): InsightPlan<FunnelProfilesPage> {
  const r = resolveInsight(def, ctx)
  const { target: t, scans } = recording(target)
  const d = t.dialect
  const p = new SqlParams()
  const ctes = funnelCtes(def, r, t, p, false)
  const where = [
    q.outcome === 'converted'
      ? `depth >= ${p.add(q.step, 'int')}`
      : `depth = ${p.add(q.step - 1, 'int')}`,
  ]
  if (q.after !== undefined)
    where.push(`${d.byCodePoint('profile_id')} > ${d.byCodePoint(p.add(q.after, 'text'))}`)
  const text =
    `WITH ${ctes} SELECT profile_id FROM best WHERE ${where.join(' AND ')} ` +
    `ORDER BY ${d.byCodePoint('profile_id')} LIMIT ${p.add(q.limit + 1, 'int')}`
  return {
    scans,
    statements: [{ name: 'profiles', query: { text, values: p.values } }],
    assemble(rows) {
      const ids = rowsOf(rows, 'profiles').map((row) => String(row.profile_id))
      const page = ids.slice(0, q.limit)
      return {
        step: q.step,
        outcome: q.outcome,
        profileIds: page,
        nextCursor: ids.length > q.limit ? (page[page.length - 1] ?? null) : null,
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Retention

function planRetention(def: RetentionDefinition, r: ResolvedInsight, t: PlanTarget): Unscanned {
  const d = t.dialect
  const p = new SqlParams()
  const lastDay = retentionLastDay(r.range, def.period, def.periods)
  const { lo } = coarseBounds(r.range.from, r.range.to)
  const { hi } = coarseBounds(r.range.from, lastDay)
  const src = d.events(
    {
      workspaceId: t.workspaceId,
      timeZone: r.timeZone,
      lo,
      hi,
      names: namesOf([def.startEvent, def.returnEvent]),
    },
    p,
  )
  const v =
    def.value === undefined
      ? d.float('NULL')
      : d.num(d.property('s.properties', toPath(def.value.property), p))
  const text =
    `WITH ev AS (SELECT * FROM (SELECT s.profile_id, s.ms, s.dn, ${d.int(periodSql(def.period, d))} AS p, ` +
    `(${filterSql(def.startEvent, d, p, r.nowMs)}) AS fs, (${filterSql(def.returnEvent, d, p, r.nowMs)}) AS fr, ` +
    `${v} AS v FROM (${src}) s WHERE s.profile_id IS NOT NULL) e0 WHERE fs OR fr), ` +
    `coh AS (SELECT profile_id, t0, cp FROM (SELECT profile_id, ms AS t0, p AS cp, ` +
    `row_number() OVER (PARTITION BY profile_id ORDER BY ms) AS rn FROM ev ` +
    `WHERE fs AND dn BETWEEN ${p.add(r.range.from, 'int')} AND ${p.add(r.range.to, 'int')}) z WHERE rn = 1) ` +
    `SELECT c.cp AS cp, ${d.int('e.p - c.cp')} AS k, ${d.int('count(DISTINCT e.profile_id)')} AS n, ` +
    `${d.float('sum(e.v)')} AS s FROM coh c JOIN ev e ON e.profile_id = c.profile_id AND e.fr ` +
    `AND e.ms >= c.t0 AND e.p - c.cp BETWEEN 0 AND ${p.add(def.periods, 'int')} GROUP BY c.cp, e.p - c.cp ` +
    `UNION ALL SELECT cp, -1 AS k, ${d.int('count(*)')} AS n, ${d.float('NULL')} AS s FROM coh GROUP BY cp`
  return {
    statements: [{ name: 'retention', query: { text, values: p.values } }],
    assemble(rows): RetentionResult {
      const cohorts = new Map(
        periodsOf(r.range, def.period).map((k) => [
          k,
          {
            size: 0,
            values: Array.from({ length: def.periods + 1 }, () => 0),
            revenue: Array.from({ length: def.periods + 1 }, () => 0),
          },
        ]),
      )
      for (const row of rowsOf(rows, 'retention')) {
        const c = cohorts.get(num(row.cp))
        if (c === undefined) continue
        const k = num(row.k)
        if (k === -1) c.size = num(row.n)
        else {
          c.values[k] = num(row.n)
          c.revenue[k] = num(row.s)
        }
      }
      return {
        kind: 'retention',
        timeZone: r.timeZone,
        period: def.period,
        range: rangeOf(r.range),
        cohorts: [...cohorts.entries()].map(([k, c]) => ({
          start: periodLabel(k, def.period),
          size: c.size,
          values: c.values,
          ...(def.value === undefined ? {} : { revenue: c.revenue }),
        })),
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// RFM

function planRfm(def: RfmDefinition, r: ResolvedInsight, t: PlanTarget): Unscanned {
  const d = t.dialect
  const p = new SqlParams()
  const asOf = r.range.to
  const since = Number.isFinite(r.range.from) ? r.range.from : undefined
  const src = d.events(
    {
      workspaceId: t.workspaceId,
      timeZone: r.timeZone,
      lo: since === undefined ? undefined : coarseBounds(since, asOf).lo,
      hi: coarseBounds(asOf, asOf).hi,
      names: namesOf([def.purchase]),
    },
    p,
  )
  const v = d.num(d.property('s.properties', toPath(def.value.property), p))
  const asOfP = p.add(asOf, 'int')
  const where = [
    's.profile_id IS NOT NULL',
    `s.dn <= ${asOfP}`,
    ...(since === undefined ? [] : [`s.dn >= ${p.add(since, 'int')}`]),
    filterSql(def.purchase, d, p, r.nowMs),
  ]
  const dims = [
    { col: 'r', rank: 'rr', fixed: def.cutPoints?.recency },
    { col: 'f', rank: 'rf', fixed: def.cutPoints?.frequency },
    { col: 'm', rank: 'rm', fixed: def.cutPoints?.monetary },
  ]
  const cuts = dims.flatMap((dim) =>
    def.quantiles.map((q, i) =>
      dim.fixed !== undefined
        ? `${p.add(dim.fixed[i], 'float8')} AS c${dim.col}${i + 1}`
        : `${d.float(`max(CASE WHEN ${dim.rank} = ${d.idiv(`${p.add(q, 'int')} * n + 99`, '100')} THEN ${dim.col} END)`)} AS c${dim.col}${i + 1}`,
    ),
  )
  const exceeds = (col: string) =>
    [1, 2, 3, 4].map((i) => `CASE WHEN ${col} > c${col}${i} THEN 1 ELSE 0 END`).join(' + ')
  const cutCols = dims.flatMap((dim) => [1, 2, 3, 4].map((i) => `c${dim.col}${i}`)).join(', ')
  const text =
    `WITH ev AS (SELECT s.profile_id, s.dn, ${v} AS v FROM (${src}) s WHERE ${where.join(' AND ')}), ` +
    `pr AS (SELECT profile_id, ${d.int(`${asOfP} - max(dn)`)} AS r, ${d.int('count(*)')} AS f, ` +
    `${d.round6(d.float('coalesce(sum(v), 0)'))} AS m FROM ev GROUP BY profile_id), ` +
    `rk AS (SELECT r, f, m, row_number() OVER (ORDER BY r) AS rr, row_number() OVER (ORDER BY f) AS rf, ` +
    `row_number() OVER (ORDER BY m) AS rm, count(*) OVER () AS n FROM pr), ` +
    // count(*) keeps `cuts` one row (an aggregate) when every cut point is fixed.
    // MATERIALIZED: computed once. Inlined, Postgres may re-run it for every profile.
    `cuts AS MATERIALIZED (SELECT ${cuts.join(', ')}, count(*) AS profiles FROM rk), ` +
    `sc AS (SELECT pr.r, pr.f, pr.m, cuts.*, 5 - (${exceeds('r')}) AS rs, 1 + (${exceeds('f')}) AS fsc, ` +
    `1 + (${exceeds('m')}) AS msc FROM pr CROSS JOIN cuts) ` +
    `SELECT ${d.int('rs')} AS rs, ${d.int('fsc')} AS fsc, ${d.int('msc')} AS msc, ${d.int('count(*)')} AS n, ` +
    `${d.float('sum(r)')} AS sr, ${d.float('sum(f)')} AS sf, ${d.float('sum(m)')} AS sm, ${cutCols} ` +
    `FROM sc GROUP BY rs, fsc, msc, ${cutCols}`
  return {
    statements: [{ name: 'rfm', query: { text, values: p.values } }],
    assemble(rows): RfmResult {
      const all = rowsOf(rows, 'rfm')
      const total = all.reduce((s, row) => s + num(row.n), 0)
      const base = {
        kind: 'rfm' as const,
        timeZone: r.timeZone,
        asOf: formatDay(asOf),
        since: since === undefined ? null : formatDay(since),
        profiles: total,
      }
      const first = all[0]
      if (first === undefined) return { ...base, cutPoints: null, groups: [], cells: [] }
      const cutsOf = (c: string) => [1, 2, 3, 4].map((i) => num(first[`c${c}${i}`]))
      const groups = new Map(
        RFM_GROUPS.map((g) => [g, { profiles: 0, recency: 0, frequency: 0, monetary: 0 }]),
      )
      for (const row of all) {
        const g = groups.get(rfmGroup(num(row.rs), num(row.fsc), num(row.msc)))
        if (g === undefined) continue
        g.profiles += num(row.n)
        g.recency += num(row.sr)
        g.frequency += num(row.sf)
        g.monetary += num(row.sm)
      }
      return {
        ...base,
        cutPoints: { recency: cutsOf('r'), frequency: cutsOf('f'), monetary: cutsOf('m') },
        groups: [...groups.entries()].map(([name, g]) => ({
          name,
          profiles: g.profiles,
          share: g.profiles / total,
          avgRecencyDays: g.profiles === 0 ? null : g.recency / g.profiles,
          avgFrequency: g.profiles === 0 ? null : g.frequency / g.profiles,
          avgMonetary: g.profiles === 0 ? null : g.monetary / g.profiles,
          totalMonetary: g.monetary,
        })),
        cells: all
          .map((row) => ({
            r: num(row.rs),
            f: num(row.fsc),
            m: num(row.msc),
            profiles: num(row.n),
          }))
          .sort((a, b) => a.r - b.r || a.f - b.f || a.m - b.m),
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Customer value

/**
 * Two statements over one per-customer aggregate (orders, revenue rounded as RFM's monetary,
 * first and last purchase day, first purchase month): its sums per cohort month, and the top
 * customers by revenue. Totals are the cohorts' sums, added up by the assembler.
 */
function planValue(def: ValueDefinition, r: ResolvedInsight, t: PlanTarget): Unscanned {
  const d = t.dialect
  const asOf = r.range.to
  const since = Number.isFinite(r.range.from) ? r.range.from : undefined
  const perCustomer = (p: SqlParams) => {
    const src = d.events(
      {
        workspaceId: t.workspaceId,
        timeZone: r.timeZone,
        lo: since === undefined ? undefined : coarseBounds(since, asOf).lo,
        hi: coarseBounds(asOf, asOf).hi,
        names: namesOf([def.purchase]),
      },
      p,
    )
    const v = d.num(d.property('s.properties', toPath(def.value.property), p))
    const where = [
      's.profile_id IS NOT NULL',
      `s.dn <= ${p.add(asOf, 'int')}`,
      ...(since === undefined ? [] : [`s.dn >= ${p.add(since, 'int')}`]),
      filterSql(def.purchase, d, p, r.nowMs),
    ]
    return (
      `WITH ev AS (SELECT s.profile_id, s.dn, s.mi, ${v} AS v FROM (${src}) s WHERE ${where.join(' AND ')}), ` +
      `pc AS (SELECT profile_id, min(mi) AS mi, min(dn) AS first_dn, max(dn) AS last_dn, ` +
      `${d.int('count(*)')} AS orders, ${d.round6(d.float('coalesce(sum(v), 0)'))} AS m ` +
      `FROM ev GROUP BY profile_id) `
    )
  }
  const pc = new SqlParams()
  const cohortText =
    perCustomer(pc) +
    `SELECT ${d.int('mi')} AS mi, ${d.int('count(*)')} AS customers, ${d.float('sum(orders)')} AS orders, ` +
    `${d.float('sum(m)')} AS m FROM pc GROUP BY mi ORDER BY mi`
  const pt = new SqlParams()
  const topText =
    perCustomer(pt) +
    `SELECT profile_id, orders, m, ${d.int('first_dn')} AS first_dn, ${d.int('last_dn')} AS last_dn ` +
    `FROM pc ORDER BY m DESC, ${d.byCodePoint('profile_id')} LIMIT ${pt.add(def.top, 'int')}`
  return {
    statements: [
      { name: 'cohorts', query: { text: cohortText, values: pc.values } },
      { name: 'top', query: { text: topText, values: pt.values } },
    ],
    assemble(rows): ValueResult {
      const cohorts = [...rowsOf(rows, 'cohorts')].sort((a, b) => num(a.mi) - num(b.mi))
      const sum = (k: string) => cohorts.reduce((s, row) => s + num(row[k]), 0)
      return {
        kind: 'value',
        timeZone: r.timeZone,
        asOf: formatDay(asOf),
        since: since === undefined ? null : formatDay(since),
        total: valueFigures(sum('customers'), sum('orders'), sum('m')),
        cohorts: cohorts.map((row) => ({
          start: periodLabel(num(row.mi), 'month'),
          ...valueFigures(num(row.customers), num(row.orders), num(row.m)),
        })),
        topCustomers: rowsOf(rows, 'top').map((row) => ({
          profileId: String(row.profile_id),
          orders: num(row.orders),
          revenue: num(row.m),
          firstPurchase: formatDay(num(row.first_dn)),
          lastPurchase: formatDay(num(row.last_dn)),
        })),
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Lifecycle and stickiness

/** Active (profile, period, day) rows up to the range's end; `from`: the first day scanned. */
function activitySql(
  filter: EventFilter,
  interval: Interval,
  r: ResolvedInsight,
  t: PlanTarget,
  p: SqlParams,
  from: number | undefined,
): string {
  const d = t.dialect
  const src = d.events(
    {
      workspaceId: t.workspaceId,
      timeZone: r.timeZone,
      lo: from === undefined ? undefined : coarseBounds(from, r.range.to).lo,
      hi: coarseBounds(r.range.to, r.range.to).hi,
      names: namesOf([filter]),
    },
    p,
  )
  const where = [
    's.profile_id IS NOT NULL',
    `s.dn <= ${p.add(r.range.to, 'int')}`,
    ...(from === undefined ? [] : [`s.dn >= ${p.add(from, 'int')}`]),
    filterSql(filter, d, p, r.nowMs),
  ]
  return `SELECT s.profile_id, s.dn, ${d.int(periodSql(interval, d))} AS pk FROM (${src}) s WHERE ${where.join(' AND ')}`
}

/**
 * Whole history (a profile's first period decides `new`), then per active (profile, period) of
 * the range its state from the period before by an equi-join, and the dormant ones from the
 * periods before that have no successor.
 */
function planLifecycle(def: LifecycleDefinition, r: ResolvedInsight, t: PlanTarget): Unscanned {
  const d = t.dialect
  const p = new SqlParams()
  const k0 = periodIndex(r.range.from, def.interval)
  const k1 = periodIndex(r.range.to, def.interval)
  const ev = activitySql(def.event, def.interval, r, t, p, undefined)
  const k0p = p.add(k0, 'int')
  const k1p = p.add(k1, 'int')
  const text =
    `WITH ev AS (${ev}), ` +
    `fp AS (SELECT profile_id, min(pk) AS fp FROM ev GROUP BY profile_id), ` +
    `act AS (SELECT profile_id, pk FROM ev WHERE pk >= ${k0p} - 1 GROUP BY profile_id, pk), ` +
    `cur AS (SELECT a.pk, CASE WHEN f.fp = a.pk THEN 'new' WHEN b.profile_id IS NOT NULL ` +
    `THEN 'returning' ELSE 'resurrecting' END AS st FROM act a ` +
    `JOIN fp f ON f.profile_id = a.profile_id ` +
    `LEFT JOIN act b ON b.profile_id = a.profile_id AND b.pk = a.pk - 1 WHERE a.pk >= ${k0p}), ` +
    `dor AS (SELECT b.pk + 1 AS pk, 'dormant' AS st FROM act b ` +
    `LEFT JOIN act a ON a.profile_id = b.profile_id AND a.pk = b.pk + 1 ` +
    `WHERE a.profile_id IS NULL AND b.pk + 1 >= ${k0p} AND b.pk + 1 <= ${k1p}) ` +
    `SELECT ${d.int('pk')} AS pk, st, ${d.int('count(*)')} AS n ` +
    `FROM (SELECT pk, st FROM cur UNION ALL SELECT pk, st FROM dor) x GROUP BY pk, st`
  return {
    statements: [{ name: 'lifecycle', query: { text, values: p.values } }],
    assemble(rows): LifecycleResult {
      const by = new Map<string, number>()
      for (const row of rowsOf(rows, 'lifecycle'))
        by.set(`${num(row.pk)}:${String(row.st)}`, num(row.n))
      const get = (k: number, st: string) => by.get(`${k}:${st}`) ?? 0
      return {
        kind: 'lifecycle',
        timeZone: r.timeZone,
        interval: def.interval,
        range: rangeOf(r.range),
        periods: periodsOf(r.range, def.interval).map((k) => ({
          start: periodLabel(k, def.interval),
          new: get(k, 'new'),
          returning: get(k, 'returning'),
          resurrecting: get(k, 'resurrecting'),
          dormant: get(k, 'dormant'),
        })),
      }
    },
  }
}

function planStickiness(def: StickinessDefinition, r: ResolvedInsight, t: PlanTarget): Unscanned {
  const d = t.dialect
  const p = new SqlParams()
  const first = periodStart(periodIndex(r.range.from, def.interval), def.interval)
  const ev = activitySql(def.event, def.interval, r, t, p, first)
  const text =
    `WITH ev AS (${ev}), ` +
    `pd AS (SELECT profile_id, pk, count(DISTINCT dn) AS days FROM ev GROUP BY profile_id, pk) ` +
    `SELECT ${d.int('pk')} AS pk, ${d.int('days')} AS days, ${d.int('count(*)')} AS n FROM pd GROUP BY pk, days`
  const width = def.interval === 'week' ? 7 : 31
  return {
    statements: [{ name: 'stickiness', query: { text, values: p.values } }],
    assemble(rows): StickinessResult {
      const per = new Map<number, number[]>()
      for (const row of rowsOf(rows, 'stickiness')) {
        const k = num(row.pk)
        let days = per.get(k)
        if (days === undefined) per.set(k, (days = Array.from({ length: width }, () => 0)))
        days[num(row.days) - 1] = num(row.n)
      }
      return {
        kind: 'stickiness',
        timeZone: r.timeZone,
        interval: def.interval,
        range: rangeOf(r.range),
        periods: periodsOf(r.range, def.interval).map((k) => {
          const days = per.get(k) ?? Array.from({ length: width }, () => 0)
          return {
            start: periodLabel(k, def.interval),
            profiles: days.reduce((a, b) => a + b, 0),
            days,
          }
        }),
      }
    },
  }
}
