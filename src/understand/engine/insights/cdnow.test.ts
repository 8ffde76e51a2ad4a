/**
 * Kindred on public data: the CDNOW sample (fixtures/cdnow, 2,357 customers who first bought in
 * Q1 1997, 6,919 transactions to June 1998) imported as `Order Completed` events. Monthly
 * cohort retention (customers and revenue) and RFM from the store (PGlite), from DuckDB over a
 * Parquet file and from the reference evaluator must equal what a short script below computes
 * from the raw file directly, without any of Kindred's code; customer value (revenue, orders,
 * AOV, LTV per first-purchase cohort, the top customers) must equal, to the cent, what one SQL
 * statement computes in exact decimals over the raw text file with DuckDB; the sample's
 * published size (README of the data) is checked on the way.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../../../platform/store/open-store.js'
import {
  approxDiff,
  insertStoredEvents,
  writeEventsParquet,
  type StoredEvent,
} from '../../../testing/insights-harness.js'
import {
  duckdbInsightDialect,
  evaluateInsight,
  parseInsightDefinition,
  planInsight,
  postgresInsightDialect,
  type InsightResult,
  type RetentionResult,
  type RfmResult,
  type ValueResult,
} from '../../core/insights/index.js'
import { duckdbInsightsBackend } from './duckdb-insights-backend.js'
import { postgresInsightsBackend } from './postgres-insights-backend.js'

const WS = 'cdnow'
const rawPath = join(import.meta.dirname, 'fixtures', 'cdnow', 'CDNOW_sample.txt')
const raw = readFileSync(rawPath, 'utf8')

// ---------------------------------------------------------------------------------------------
// The independent script: the raw file in, the figures out (dates as strings, no time zones).

interface Tx {
  customer: string
  date: string
  dollars: number
}
const txs: Tx[] = raw
  .split(/\r?\n/)
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const [customer, , d, , dollars] = l.trim().split(/\s+/) as [
      string,
      string,
      string,
      string,
      string,
    ]
    return {
      customer,
      date: `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`,
      dollars: Number(dollars),
    }
  })

const monthOf = (date: string) => Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1
const daysBetween = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000

function scriptRetention(periods: number) {
  const first = new Map<string, string>()
  for (const t of txs)
    if (!first.has(t.customer) || t.date < (first.get(t.customer) as string))
      first.set(t.customer, t.date)
  const cohorts = ['1997-01', '1997-02', '1997-03'].map((m) => ({
    start: `${m}-01`,
    size: 0,
    values: Array.from({ length: periods + 1 }, () => new Set<string>()),
    revenue: Array.from({ length: periods + 1 }, () => 0),
  }))
  for (const d of first.values())
    (cohorts[monthOf(d) - monthOf('1997-01-01')] as { size: number }).size++
  for (const t of txs) {
    const c = cohorts[monthOf(first.get(t.customer) as string) - monthOf('1997-01-01')]
    const k = monthOf(t.date) - monthOf(first.get(t.customer) as string)
    if (c === undefined || k > periods) continue
    c.values[k]?.add(t.customer)
    c.revenue[k] = (c.revenue[k] as number) + t.dollars
  }
  return cohorts.map((c) => ({ ...c, values: c.values.map((s) => s.size) }))
}

function scriptRfm(asOf: string) {
  const per = new Map<string, { last: string; n: number; money: number }>()
  for (const t of txs) {
    const p = per.get(t.customer) ?? { last: t.date, n: 0, money: 0 }
    if (t.date > p.last) p.last = t.date
    p.n++
    p.money += t.dollars
    per.set(t.customer, p)
  }
  const rows = [...per.values()].map((p) => ({
    r: daysBetween(p.last, asOf),
    f: p.n,
    m: Math.round(p.money * 100) / 100,
  }))
  // Quintile cut points by nearest rank: the value at rank ceil(q × n) of the sorted values.
  const cut = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b)
    return [0.2, 0.4, 0.6, 0.8].map((q) => s[Math.ceil(q * s.length) - 1] as number)
  }
  const cuts = {
    r: cut(rows.map((x) => x.r)),
    f: cut(rows.map((x) => x.f)),
    m: cut(rows.map((x) => x.m)),
  }
  const above = (v: number, c: number[]) => c.filter((x) => v > x).length
  const cells = new Map<string, number>()
  for (const x of rows) {
    const key = `${5 - above(x.r, cuts.r)}${1 + above(x.f, cuts.f)}${1 + above(x.m, cuts.m)}`
    cells.set(key, (cells.get(key) ?? 0) + 1)
  }
  return { customers: rows.length, transactions: rows.reduce((s, x) => s + x.f, 0), cuts, cells }
}

/**
 * Customer value straight from the raw text in DuckDB, dollars as DECIMAL(12,2) (exact): per
 * first-purchase month customers, orders and revenue; and the top customers by revenue.
 */
async function scriptValue(top: number) {
  const inst = await DuckDBInstance.create(':memory:')
  const c = await inst.connect()
  try {
    const tx =
      `WITH lines AS (SELECT regexp_split_to_array(trim(line), '\\s+') AS f ` +
      `FROM read_csv('${rawPath.replaceAll("'", "''")}', columns = {'line': 'VARCHAR'}, ` +
      `delim = '\\t', header = false)), ` +
      `tx AS (SELECT f[1] AS customer, strptime(f[3], '%Y%m%d')::DATE AS d, ` +
      `CAST(f[5] AS DECIMAL(12,2)) AS dollars FROM lines WHERE trim(f[1]) <> ''), ` +
      `pc AS (SELECT customer, min(d) AS first, max(d) AS last, count(*) AS orders, ` +
      `sum(dollars) AS revenue FROM tx GROUP BY customer) `
    const cohorts = (
      await c.runAndReadAll(
        tx +
          `SELECT strftime(date_trunc('month', first), '%Y-%m-%d') AS start, count(*)::INT AS customers, ` +
          `sum(orders)::INT AS orders, CAST(sum(revenue) AS VARCHAR) AS revenue FROM pc ` +
          `GROUP BY 1 ORDER BY 1`,
      )
    ).getRowObjectsJS()
    const total = (
      await c.runAndReadAll(
        tx +
          `SELECT count(*)::INT AS customers, sum(orders)::INT AS orders, ` +
          `CAST(sum(revenue) AS VARCHAR) AS revenue FROM pc`,
      )
    ).getRowObjectsJS()[0]
    const best = (
      await c.runAndReadAll(
        tx +
          `SELECT 'c' || customer AS "profileId", orders::INT AS orders, CAST(revenue AS VARCHAR) AS revenue, ` +
          `strftime(first, '%Y-%m-%d') AS "firstPurchase", strftime(last, '%Y-%m-%d') AS "lastPurchase" ` +
          `FROM pc ORDER BY pc.revenue DESC, pc.customer LIMIT ${top}`,
      )
    ).getRowObjectsJS()
    return { cohorts, total, best }
  } finally {
    c.closeSync()
    inst.closeSync()
  }
}

// ---------------------------------------------------------------------------------------------
// Kindred

const events: StoredEvent[] = txs.map((t, i) => ({
  workspaceId: WS,
  messageId: `cdnow-${i}`,
  profileId: `c${t.customer}`,
  event: 'Order Completed',
  type: 'track',
  timestamp: Date.parse(`${t.date}T00:00:00Z`),
  properties: { revenue: t.dollars, quantity: 1 },
}))

const dir = mkdtempSync(join(tmpdir(), 'kindred-cdnow-'))
const parquet = join(dir, 'events.parquet')
const duck = duckdbInsightsBackend()
let store: Store

beforeAll(async () => {
  store = await openStore({})
  await insertStoredEvents(store.db, events)
  await writeEventsParquet(parquet, events)
})
afterAll(async () => {
  await store.close()
  duck.close()
  rmSync(dir, { recursive: true, force: true })
})

const ctx = { nowMs: Date.UTC(1998, 6, 1), timeZone: 'UTC' }

async function everywhere(input: unknown): Promise<InsightResult> {
  const def = parseInsightDefinition(input)
  const reference = evaluateInsight(
    def,
    events.map(({ workspaceId: _w, messageId: _m, ...e }) => e),
    ctx,
  )
  const pg = await postgresInsightsBackend(store.db).run(
    planInsight(def, ctx, { dialect: postgresInsightDialect, workspaceId: WS }),
    { timeoutMs: 60_000 },
  )
  const dk = await duck.run(
    planInsight(def, ctx, { dialect: duckdbInsightDialect([parquet]), workspaceId: WS }),
    { timeoutMs: 60_000 },
  )
  expect(approxDiff(reference, pg)).toBeUndefined()
  expect(approxDiff(reference, dk)).toBeUndefined()
  return pg
}

describe('CDNOW sample', () => {
  it('is the published sample: 2,357 customers, 6,919 transactions, first purchases in Q1 1997', () => {
    expect(txs).toHaveLength(6_919)
    expect(new Set(txs.map((t) => t.customer)).size).toBe(2_357)
    expect(scriptRetention(0).reduce((s, c) => s + c.size, 0)).toBe(2_357)
  })

  it('monthly cohort retention (customers and revenue) equals the script', async () => {
    const periods = 17 // January 1997 + 17 months = June 1998, the end of the data
    const r = (await everywhere({
      kind: 'retention',
      startEvent: { event: 'Order Completed' },
      returnEvent: { event: 'Order Completed' },
      period: 'month',
      periods,
      value: { property: 'revenue' },
      range: { kind: 'between', from: '1997-01-01', to: '1997-03-31' },
    })) as RetentionResult
    const expected = scriptRetention(periods)
    expect(r.cohorts.map((c) => ({ start: c.start, size: c.size, values: c.values }))).toEqual(
      expected.map((c) => ({ start: c.start, size: c.size, values: c.values })),
    )
    for (const [i, c] of r.cohorts.entries())
      expect(approxDiff(c.revenue, expected[i]?.revenue)).toBeUndefined()
    // Month 0 is the whole cohort: everyone bought in the month they first bought.
    for (const c of r.cohorts) expect(c.values[0]).toBe(c.size)
    expect(r.cohorts.map((c) => c.size).reduce((a, b) => a + b, 0)).toBe(2_357)
  })

  it('RFM quintiles and scores equal the script', async () => {
    const asOf = '1998-06-30'
    const r = (await everywhere({
      kind: 'rfm',
      purchase: { event: 'Order Completed' },
      value: { property: 'revenue' },
      asOf,
    })) as RfmResult
    const expected = scriptRfm(asOf)
    expect(r.profiles).toBe(expected.customers)
    expect(r.cutPoints).toEqual({
      recency: expected.cuts.r,
      frequency: expected.cuts.f,
      monetary: expected.cuts.m,
    })
    expect(new Map(r.cells.map((c) => [`${c.r}${c.f}${c.m}`, c.profiles]))).toEqual(expected.cells)
    const transactions = r.groups.reduce((s, g) => s + (g.avgFrequency ?? 0) * g.profiles, 0)
    expect(Math.round(transactions)).toBe(6_919)
    expect(r.groups.reduce((s, g) => s + g.profiles, 0)).toBe(2_357)
  })

  it('customer value per first-purchase cohort and the top customers equal exact SQL on the raw file', async () => {
    const r = (await everywhere({
      kind: 'value',
      purchase: { event: 'Order Completed' },
      value: { property: 'revenue' },
      asOf: '1998-06-30',
      top: 5,
    })) as ValueResult
    const expected = await scriptValue(5)
    const cents = (x: number) => x.toFixed(2)
    const figures = (f: { customers: number; orders: number; revenue: number }) => ({
      customers: f.customers,
      orders: f.orders,
      revenue: cents(f.revenue),
    })
    expect(figures(r.total)).toEqual(expected.total)
    expect(r.cohorts.map((c) => ({ start: c.start, ...figures(c) }))).toEqual(expected.cohorts)
    expect(r.topCustomers.map((c) => ({ ...c, revenue: cents(c.revenue) }))).toEqual(expected.best)
    // The published size, and the ratios from the exact figures.
    expect(r.total.customers).toBe(2_357)
    expect(r.total.orders).toBe(6_919)
    expect(r.total.averageOrderValue).toBeCloseTo(Number(expected.total?.revenue) / 6_919, 9)
    expect(r.total.ltv).toBeCloseTo(Number(expected.total?.revenue) / 2_357, 9)
    expect(r.total.ordersPerCustomer).toBeCloseTo(6_919 / 2_357, 12)
  })
})
