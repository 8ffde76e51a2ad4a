/**
 * @module insight-csv
 * An insight result as a table for CSV export: a header row, then one row per bucket, step,
 * cohort or group. Cells are text; a text cell a spreadsheet would run as a formula (`=`, `+`,
 * `-`, `@`, tab, carriage return first) gets a leading `'` (OWASP CSV injection): breakdown
 * values and step names come from event data and definitions anyone with write access typed.
 * Numbers are written as numbers, so a negative sum stays a number.
 */
import type { BreakdownValue } from './insight-resolve.js'
import type { InsightResult } from './insight-result.js'

type Cell = string | number | boolean | null

function text(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
}

function cell(v: Cell): string {
  if (v === null) return ''
  if (typeof v === 'string') return text(v)
  return String(v)
}

const group = (v: BreakdownValue | undefined): Cell => (v === undefined ? '' : v)

/** Header and rows of a result, every cell as CSV-safe text. */
export function insightCsv(result: InsightResult): string[][] {
  const rows: Cell[][] = []
  switch (result.kind) {
    case 'trends': {
      rows.push(['period', 'series', 'name', 'measure', 'breakdown', 'bucket', 'value'])
      const periods = [
        { key: 'current', p: result },
        ...(result.previous ? [{ key: 'previous', p: result.previous }] : []),
      ]
      for (const { key, p } of periods)
        for (const line of p.lines) {
          const head: Cell[] = [key, line.series, line.name, line.measure, group(line.breakdown)]
          for (const b of line.buckets) rows.push([...head, b.start, b.value])
          rows.push([...head, 'total', line.total])
        }
      break
    }
    case 'funnel': {
      rows.push([
        'breakdown',
        'step',
        'event',
        'name',
        'count',
        'conversion_rate',
        'median_seconds_to_convert',
      ])
      const groups = [
        { value: '' as Cell, steps: result.steps },
        ...(result.breakdown ?? []).map((g) => ({ value: group(g.value), steps: g.steps })),
      ]
      for (const g of groups)
        for (const s of g.steps)
          rows.push([
            g.value,
            s.step,
            s.event,
            s.name,
            s.count,
            s.conversionRate,
            s.medianSecondsToConvert,
          ])
      break
    }
    case 'retention': {
      const n = result.cohorts[0]?.values.length ?? 0
      const withRevenue = result.cohorts.some((c) => c.revenue !== undefined)
      rows.push([
        'cohort',
        'size',
        ...Array.from({ length: n }, (_, k) => `period_${k}`),
        ...(withRevenue ? Array.from({ length: n }, (_, k) => `revenue_${k}`) : []),
      ])
      for (const c of result.cohorts)
        rows.push([c.start, c.size, ...c.values, ...(c.revenue ?? [])])
      break
    }
    case 'rfm': {
      rows.push([
        'group',
        'profiles',
        'share',
        'avg_recency_days',
        'avg_frequency',
        'avg_monetary',
        'total_monetary',
      ])
      for (const g of result.groups)
        rows.push([
          g.name,
          g.profiles,
          g.share,
          g.avgRecencyDays,
          g.avgFrequency,
          g.avgMonetary,
          g.totalMonetary,
        ])
      break
    }
    case 'lifecycle': {
      rows.push(['period', 'new', 'returning', 'resurrecting', 'dormant'])
      for (const x of result.periods)
        rows.push([x.start, x.new, x.returning, x.resurrecting, x.dormant])
      break
    }
    case 'stickiness': {
      rows.push([
        'period',
        'profiles',
        ...(result.periods[0]?.days ?? []).map((_, i) => `days_${i + 1}`),
      ])
      for (const x of result.periods) rows.push([x.start, x.profiles, ...x.days])
      break
    }
    case 'value': {
      rows.push([
        'cohort',
        'customers',
        'orders',
        'revenue',
        'average_order_value',
        'orders_per_customer',
        'ltv',
      ])
      for (const c of [...result.cohorts, { ...result.total, start: 'all' }])
        rows.push([
          c.start,
          c.customers,
          c.orders,
          c.revenue,
          c.averageOrderValue,
          c.ordersPerCustomer,
          c.ltv,
        ])
      break
    }
  }
  return rows.map((r) => r.map(cell))
}
