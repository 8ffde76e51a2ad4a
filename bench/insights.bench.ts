/**
 * Insights: the same definitions on DuckDB over Parquet (the lake's engine) and on the Postgres
 * backend (the store's `events` table: embedded PGlite, and a Postgres server with
 * `BENCH_DATABASE_URL`), side by side on the same generated events.
 *
 * 1. Data: BENCH_EVENTS events (default 1,000,000) from bench/data-generator.ts (seeded shoppers
 *    over BENCH_SPAN_DAYS, default 60 days), generated in slices of 1M (seed = slice), each slice
 *    one Parquet file written by DuckDB and inserted into each store. A customer is a profile.
 *    The stores are vacuumed and analysed after the load, as autovacuum (server) or the segment
 *    scheduler (embedded) does.
 * 2. Queries: a 4-step funnel (Product Viewed → Product Added → Checkout Started → Order
 *    Completed, 14-day window) over the whole span; 8-week retention (Product Viewed → Product
 *    Viewed, weekly cohorts); a daily trend of Product Viewed broken down by category (top 10).
 *    Each is run BENCH_RUNS times (default 3) after a warm-up; median and best reported. Every
 *    backend's answer is checked against DuckDB's.
 *
 * → bench/results/insights.json and .md, then docs/benchmarks.md.
 *   `BENCH_EVENTS=10000000 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
 *    BENCH_PGLITE=0 node --import tsx bench/insights.bench.ts` for the 10M run (server + DuckDB).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { openStore, type Store } from '../src/platform/store/open-store.js'
import { createTestDatabase } from '../src/testing/databases.js'
import {
  approxDiff,
  insertStoredEvents,
  writeEventsParquet,
  type StoredEvent,
} from '../src/testing/insights-harness.js'
import {
  duckdbInsightDialect,
  parseInsightDefinition,
  planInsight,
  postgresInsightDialect,
  type InsightDefinition,
  type InsightDialect,
  type InsightResult,
} from '../src/understand/core/insights/index.js'
import { duckdbInsightsBackend } from '../src/understand/engine/insights/duckdb-insights-backend.js'
import {
  countScannedEvents,
  postgresInsightsBackend,
  type InsightsBackend,
} from '../src/understand/engine/insights/postgres-insights-backend.js'
import { generateEvents, type GeneratedEvent } from './data-generator.js'
import { renderBenchmarks } from './render.js'
import { fmt, machine, writeResult } from './support.js'

const total = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const spanDays = Number(process.env.BENCH_SPAN_DAYS ?? 60)
const runs = Number(process.env.BENCH_RUNS ?? 3)
const serverUrl = process.env.BENCH_DATABASE_URL
const withPglite = process.env.BENCH_PGLITE !== '0'
const SLICE = 1_000_000
const WS = 'bench'
const START = '2026-01-01'
const ctx = { nowMs: Date.parse('2026-04-01T00:00:00Z'), timeZone: 'Europe/Berlin' }
const r1 = (v: number) => Math.round(v * 10) / 10
const load = () => r1(loadavg()[0] ?? 0)

const end = new Date(Date.parse(`${START}T00:00:00Z`) + (spanDays + 20) * 86_400_000)
  .toISOString()
  .slice(0, 10)
const range = { kind: 'between', from: START, to: end }
const QUERIES: Array<{ name: string; what: string; def: InsightDefinition }> = [
  {
    name: 'funnel',
    what: '4-step funnel, 14-day window',
    def: parseInsightDefinition({
      kind: 'funnel',
      steps: [
        { event: 'Product Viewed' },
        { event: 'Product Added' },
        { event: 'Checkout Started' },
        { event: 'Order Completed' },
      ],
      window: { amount: 14, unit: 'days' },
      range,
    }),
  },
  {
    name: 'retention',
    what: '8-week retention, weekly cohorts',
    def: parseInsightDefinition({
      kind: 'retention',
      startEvent: { event: 'Product Viewed' },
      returnEvent: { event: 'Product Viewed' },
      period: 'week',
      periods: 8,
      range,
    }),
  },
  {
    name: 'trend',
    what: 'daily trend, breakdown by category (top 10)',
    def: parseInsightDefinition({
      kind: 'trends',
      series: [{ event: 'Product Viewed' }],
      interval: 'day',
      breakdown: { property: 'category', limit: 10 },
      range,
    }),
  },
]

/** Generated events as stored rows: a customer (from the anonymous id) is a profile. */
function* slice(seed: number, n: number): Generator<StoredEvent> {
  const events: GeneratedEvent[] = generateEvents({
    seed,
    events: n,
    start: `${START}T00:00:00.000Z`,
    spanDays,
    idPrefix: `s${seed}`,
  })
  for (const e of events) {
    const customer = e.anonymousId.split('-').slice(0, -1).join('-')
    yield {
      workspaceId: WS,
      messageId: e.messageId,
      profileId: customer,
      event: e.type === 'track' ? (e.event ?? null) : null,
      type: e.type,
      timestamp: Date.parse(e.timestamp),
      properties: e.properties ?? {},
    }
  }
}

interface Target {
  name: string
  backend: InsightsBackend
  dialect: InsightDialect
  loadMs: number
  close(): Promise<void>
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now()
  const value = await fn()
  return { ms: performance.now() - t, value }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'kindred-bench-insights-'))
  const files: string[] = []
  const stores: Array<{ name: string; store: Store; drop?: () => Promise<void>; loadMs: number }> =
    []
  if (withPglite)
    stores.push({
      name: 'Postgres backend: embedded PGlite (in memory)',
      store: await openStore({}),
      loadMs: 0,
    })
  if (serverUrl) {
    const db = await createTestDatabase(serverUrl)
    stores.push({
      name: 'Postgres backend: PostgreSQL 15 server',
      store: await openStore({ databaseUrl: db.url }),
      drop: db.drop,
      loadMs: 0,
    })
  }
  let parquetMs = 0
  let parquetBytes = 0
  const startLoad = load()
  for (let s = 0; s * SLICE < total; s++) {
    const n = Math.min(SLICE, total - s * SLICE)
    const rows = [...slice(s + 1, n)]
    const file = join(dir, `events-${s}.parquet`)
    parquetMs += (await timed(() => writeEventsParquet(file, rows, { threads: 2 }))).ms
    parquetBytes += statSync(file).size
    files.push(file)
    for (const st of stores)
      st.loadMs += (await timed(() => insertStoredEvents(st.store.db, rows))).ms
    process.stdout.write(`slice ${s + 1}: ${fmt(n)} events\n`)
  }
  for (const st of stores) {
    st.loadMs += (await timed(() => st.store.db.query('VACUUM (ANALYZE) events'))).ms
    process.stdout.write(`${st.name}: loaded in ${fmt(st.loadMs)} ms\n`)
  }
  const duck = duckdbInsightsBackend({ threads: 2 })
  const targets: Target[] = [
    {
      name: 'DuckDB over Parquet (2 threads)',
      backend: duck,
      dialect: duckdbInsightDialect(files),
      loadMs: parquetMs,
      close: async () => duck.close(),
    },
    ...stores.map((st) => ({
      name: st.name,
      backend: postgresInsightsBackend(st.store.db),
      dialect: postgresInsightDialect,
      loadMs: st.loadMs,
      close: async () => {
        await st.store.close()
        await st.drop?.()
      },
    })),
  ]
  // Events each query's scans read (the embedded store's time limit is a budget of these).
  const scanned = new Map<string, number>()
  const first = stores[0]
  if (first !== undefined)
    for (const q of QUERIES) {
      const plan = planInsight(q.def, ctx, { dialect: postgresInsightDialect, workspaceId: WS })
      scanned.set(
        q.name,
        await countScannedEvents(first.store.db, plan.scans, Number.MAX_SAFE_INTEGER),
      )
    }
  const results: Array<{
    target: string
    query: string
    medianMs: number
    bestMs: number
    runs: number[]
  }> = []
  const answers = new Map<string, InsightResult>()
  for (const q of QUERIES) {
    for (const t of targets) {
      const plan = () => planInsight(q.def, ctx, { dialect: t.dialect, workspaceId: WS })
      const warm = await t.backend.run(plan(), { timeoutMs: 3_600_000 })
      const base = answers.get(q.name)
      if (base === undefined) answers.set(q.name, warm)
      else {
        const diff = approxDiff(base, warm)
        if (diff !== undefined) throw new Error(`${t.name} disagrees on ${q.name}: ${diff}`)
      }
      const times: number[] = []
      for (let i = 0; i < runs; i++)
        times.push((await timed(() => t.backend.run(plan(), { timeoutMs: 3_600_000 }))).ms)
      times.sort((a, b) => a - b)
      const row = {
        target: t.name,
        query: q.name,
        medianMs: Math.round(times[Math.floor(times.length / 2)] ?? NaN),
        bestMs: Math.round(times[0] ?? NaN),
        runs: times.map(Math.round),
      }
      results.push(row)
      process.stdout.write(
        `${q.name} on ${t.name}: median ${fmt(row.medianMs)} ms (best ${fmt(row.bestMs)})\n`,
      )
    }
  }
  const endLoad = load()
  for (const t of targets) await t.close()
  rmSync(dir, { recursive: true, force: true })

  const funnel = answers.get('funnel')
  const funnelCounts =
    funnel?.kind === 'funnel' ? funnel.steps.map((s) => fmt(s.count)).join(' → ') : ''
  const m = machine()
  const rates = QUERIES.flatMap((q) =>
    targets.slice(1).map((t) => {
      const r = results.find((x) => x.target === t.name && x.query === q.name)
      const n = scanned.get(q.name) ?? 0
      return {
        target: t.name,
        query: q.name,
        scannedEvents: n,
        eventsPerSecond:
          r === undefined || r.medianMs === 0 ? null : Math.round((n * 1000) / r.medianMs),
      }
    }),
  )
  const json = {
    machine: m,
    events: total,
    spanDays,
    parquetBytes,
    loadAverage: { start: startLoad, end: endLoad },
    load: targets.map((t) => ({ target: t.name, ms: Math.round(t.loadMs) })),
    results,
    rates,
  }
  const cell = (target: string, query: string) => {
    const r = results.find((x) => x.target === target && x.query === query)
    return r === undefined ? '–' : `${fmt(r.medianMs)} (${fmt(r.bestMs)})`
  }
  const ratio = (target: string, query: string) => {
    const a = results.find((x) => x.target === target && x.query === query)
    const b = results.find((x) => x.target === targets[0]?.name && x.query === query)
    return a === undefined || b === undefined || b.medianMs === 0
      ? '–'
      : `${r1(a.medianMs / b.medianMs)}×`
  }
  const md = `## Insights: DuckDB over Parquet against the Postgres backend

${fmt(total)} events from \`bench/data-generator.ts\` (seeded shoppers over ${spanDays} days; ${fmt(Math.round(parquetBytes / 1e6))} MB of Parquet in ${files.length} file(s)), the same rows in each store;
zone Europe/Berlin. Machine: ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${m.date}; 1-minute load average ${startLoad} at the start and ${endLoad} at the end (a shared machine: upper bounds).
Each query ${runs} times after a warm-up, every backend's answer checked equal to DuckDB's. Milliseconds, median (best); the last columns are each Postgres backend's median over DuckDB's.

| query | ${targets.map((t) => t.name).join(' | ')} | ${targets
    .slice(1)
    .map((t) => `${t.name.replace('Postgres backend: ', '')} ÷ DuckDB`)
    .join(' | ')} |
|---|${targets.map(() => '---:').join('|')}|${targets
    .slice(1)
    .map(() => '---:')
    .join('|')}|
${QUERIES.map(
  (q) =>
    `| ${q.what} | ${targets.map((t) => cell(t.name, q.name)).join(' | ')} | ${targets
      .slice(1)
      .map((t) => ratio(t.name, q.name))
      .join(' | ')} |`,
).join('\n')}
| load (write Parquet / insert + VACUUM ANALYZE) | ${targets.map((t) => fmt(Math.round(t.loadMs))).join(' | ')} | ${targets
    .slice(1)
    .map(() => '')
    .join(' | ')} |

Events the Postgres backend's scans read, and per second of median time (the embedded store's time limit is a budget of these:
\`DEFAULT_EMBEDDED_EVENTS_PER_SECOND\`): ${QUERIES.map(
    (q) =>
      `${q.name} ${fmt(scanned.get(q.name) ?? 0)} (${rates
        .filter((x) => x.query === q.name)
        .map(
          (x) =>
            `${x.target.replace('Postgres backend: ', '')} ${x.eventsPerSecond === null ? '–' : fmt(x.eventsPerSecond)}/s`,
        )
        .join(', ')})`,
  ).join('; ')}.

Funnel answer: ${funnelCounts} profiles. DuckDB reads the files in place (the lake's live files, later); the Postgres backend reads \`events\` through the
\`events_name_time\` index and the \`"timestamp"\` bounds. The embedded store runs on the caller's thread (its queries block the event loop while they
run, and cannot be stopped: see \`src/understand/engine/insights/postgres-insights-backend.ts\` for the time limit it gets instead); DuckDB runs on
its own threads and is interrupted at the time limit.
`
  writeResult(total === 1_000_000 ? 'insights' : `insights-${total}`, json, md)
  renderBenchmarks()
}

await main()
