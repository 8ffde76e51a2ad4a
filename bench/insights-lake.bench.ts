/**
 * Insights on the lake's layout: the same 4-step funnel (and the 8-week retention, the daily
 * trend) on DuckDB over several layouts of the same generated events, side by side in one run,
 * against the layout the insights benchmark measures today (one unsorted file per million
 * events, read whole by the planner).
 *
 * Layouts (all Parquet written by DuckDB, zstd like the lake writer's):
 * - `slices`: one file per 1M-event slice, in generation order (bench/insights.bench.ts today);
 * - `lake`: what the lake writer makes: Hive-partitioned `workspace_id=…/event_date=…/`, the
 *   partition columns only in the paths, read with `hive_partitioning` and date pruning;
 * - `lake, sorted`: the same partitions, rows sorted by (event, profile_id, timestamp) inside
 *   each file, so the event-name prefilter skips row groups by their statistics;
 * - `one sorted file`: fewer, larger files: everything in one file sorted the same way.
 * Each at 1 and 2 DuckDB threads. Every answer is checked equal to the baseline's.
 *
 * `BENCH_EVENTS=10000000 BENCH_QUERIES=funnel BENCH_THREADS=2 BENCH_RUNS=1 node --import tsx bench/insights-lake.bench.ts`
 * (the 10M funnel run in docs/benchmarks.md; BENCH_QUERIES and BENCH_THREADS pick a subset).
 * → bench/results/insights-lake[-N].json and .md, then docs/benchmarks.md.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { DuckDBInstance } from '@duckdb/node-api'
import {
  approxDiff,
  writeEventsParquet,
  type StoredEvent,
} from '../src/testing/insights-harness.js'
import {
  duckdbInsightDialect,
  parseInsightDefinition,
  planInsight,
  type DuckdbEventSource,
  type InsightDefinition,
  type InsightResult,
} from '../src/understand/core/insights/index.js'
import { duckdbInsightsBackend } from '../src/understand/engine/insights/duckdb-insights-backend.js'
import { generateEvents } from './data-generator.js'
import { renderBenchmarks } from './render.js'
import { fmt, machine, writeResult } from './support.js'

const total = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const spanDays = Number(process.env.BENCH_SPAN_DAYS ?? 60)
const runs = Number(process.env.BENCH_RUNS ?? 3)
const SLICE = 1_000_000
/** Which queries (comma-separated names; default all) and DuckDB thread counts (default 1,2). */
const only = process.env.BENCH_QUERIES?.split(',')
const threadCounts = (process.env.BENCH_THREADS ?? '1,2').split(',').map(Number)
const WS = 'bench'
const START = '2026-01-01'
const ctx = { nowMs: Date.parse('2026-04-01T00:00:00Z'), timeZone: 'Europe/Berlin' }
const r1 = (v: number) => Math.round(v * 10) / 10
const load = () => r1(loadavg()[0] ?? 0)
const end = new Date(Date.parse(`${START}T00:00:00Z`) + (spanDays + 20) * 86_400_000)
  .toISOString()
  .slice(0, 10)
const range = { kind: 'between', from: START, to: end }

const ALL_QUERIES: Array<{ name: string; what: string; def: InsightDefinition }> = [
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

const QUERIES = ALL_QUERIES.filter((q) => only === undefined || only.includes(q.name))

function* slice(seed: number, n: number): Generator<StoredEvent> {
  for (const e of generateEvents({
    seed,
    events: n,
    start: `${START}T00:00:00.000Z`,
    spanDays,
    idPrefix: `s${seed}`,
  })) {
    yield {
      workspaceId: WS,
      messageId: e.messageId,
      profileId: e.anonymousId.split('-').slice(0, -1).join('-'),
      event: e.type === 'track' ? (e.event ?? null) : null,
      type: e.type,
      timestamp: Date.parse(e.timestamp),
      properties: e.properties ?? {},
    }
  }
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`
const listFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.parquet'))
    .map((d) => join(d.parentPath, d.name))
    .sort()
const bytes = (files: string[]) => files.reduce((n, f) => n + statSync(f).size, 0)

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now()
  const value = await fn()
  return { ms: performance.now() - t, value }
}

interface Layout {
  name: string
  source: DuckdbEventSource
  writeMs: number
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'kindred-bench-lake-insights-'))
  const slicesDir = join(dir, 'slices')
  mkdirSync(slicesDir)
  let sliceMs = 0
  const startLoad = load()
  for (let s = 0; s * SLICE < total; s++) {
    const n = Math.min(SLICE, total - s * SLICE)
    const rows = [...slice(s + 1, n)]
    sliceMs += (
      await timed(() =>
        writeEventsParquet(join(slicesDir, `events-${s}.parquet`), rows, { threads: 2 }),
      )
    ).ms
    process.stdout.write(`slice ${s + 1}: ${fmt(n)} events\n`)
  }
  const slices = listFiles(slicesDir)

  // The other layouts, rewritten from the slices by DuckDB.
  const inst = await DuckDBInstance.create(':memory:', { threads: '2' })
  const c = await inst.connect()
  await c.run(`SET TimeZone = 'UTC'`)
  await c.run(`SET preserve_insertion_order = false`)
  const src = `read_parquet([${slices.map(sqlString).join(', ')}])`
  const rewrite = async (name: string, sql: string) => {
    const t = await timed(() => c.run(sql))
    process.stdout.write(`${name}: written in ${fmt(t.ms)} ms\n`)
    return t.ms
  }
  const lakeDir = join(dir, 'lake')
  const lakeMs = await rewrite(
    'lake',
    `COPY (SELECT *, CAST("timestamp" AS DATE) AS event_date FROM ${src})
     TO ${sqlString(lakeDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (workspace_id, event_date))`,
  )
  const sortedDir = join(dir, 'lake-sorted')
  const sortedMs = await rewrite(
    'lake, sorted',
    `COPY (SELECT *, CAST("timestamp" AS DATE) AS event_date FROM ${src}
           ORDER BY event_date, event, profile_id, "timestamp")
     TO ${sqlString(sortedDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (workspace_id, event_date))`,
  )
  const oneFile = join(dir, 'one-sorted.parquet')
  const oneMs = await rewrite(
    'one sorted file',
    `COPY (SELECT * FROM ${src} ORDER BY event, profile_id, "timestamp")
     TO ${sqlString(oneFile)} (FORMAT parquet, COMPRESSION zstd)`,
  )
  c.closeSync()
  inst.closeSync()

  const layouts: Layout[] = [
    { name: 'slices (today)', source: { events: slices }, writeMs: sliceMs },
    {
      name: 'lake partitions',
      source: { events: listFiles(lakeDir), hive: true },
      writeMs: lakeMs,
    },
    {
      name: 'lake partitions, sorted',
      source: { events: listFiles(sortedDir), hive: true },
      writeMs: sortedMs,
    },
    { name: 'one sorted file', source: { events: [oneFile] }, writeMs: oneMs },
  ]
  const info = layouts.map((l) => ({
    layout: l.name,
    files: l.source.events.length,
    mb: Math.round(bytes([...l.source.events]) / 1e6),
    writeMs: Math.round(l.writeMs),
  }))

  const results: Array<{
    layout: string
    threads: number
    query: string
    medianMs: number
    bestMs: number
    runs: number[]
  }> = []
  const answers = new Map<string, InsightResult>()
  for (const threads of threadCounts) {
    const duck = duckdbInsightsBackend({ threads })
    for (const l of layouts) {
      const dialect = duckdbInsightDialect(l.source)
      for (const q of QUERIES) {
        const plan = () => planInsight(q.def, ctx, { dialect, workspaceId: WS })
        const warm = await duck.run(plan(), { timeoutMs: 3_600_000 })
        const base = answers.get(q.name)
        if (base === undefined) answers.set(q.name, warm)
        else {
          const diff = approxDiff(base, warm)
          if (diff !== undefined) throw new Error(`${l.name} disagrees on ${q.name}: ${diff}`)
        }
        const times: number[] = []
        for (let i = 0; i < runs; i++)
          times.push((await timed(() => duck.run(plan(), { timeoutMs: 3_600_000 }))).ms)
        times.sort((a, b) => a - b)
        const row = {
          layout: l.name,
          threads,
          query: q.name,
          medianMs: Math.round(times[Math.floor(times.length / 2)] ?? NaN),
          bestMs: Math.round(times[0] ?? NaN),
          runs: times.map(Math.round),
        }
        results.push(row)
        process.stdout.write(
          `${q.name} on ${l.name}, ${threads} thread(s): median ${fmt(row.medianMs)} ms\n`,
        )
      }
    }
    duck.close()
  }
  const endLoad = load()
  rmSync(dir, { recursive: true, force: true })

  const m = machine()
  const funnel = answers.get('funnel')
  const funnelCounts =
    funnel?.kind === 'funnel' ? funnel.steps.map((s) => fmt(s.count)).join(' → ') : ''
  const cell = (layout: string, threads: number, query: string) => {
    const r = results.find((x) => x.layout === layout && x.threads === threads && x.query === query)
    return r === undefined ? '–' : `${fmt(r.medianMs)} (${fmt(r.bestMs)})`
  }
  const ratio = (layout: string, threads: number, query: string) => {
    const a = results.find((x) => x.layout === layout && x.threads === threads && x.query === query)
    const b = results.find(
      (x) => x.layout === layouts[0]?.name && x.threads === threads && x.query === query,
    )
    return a === undefined || b === undefined || a.medianMs === 0
      ? '–'
      : `${r1(b.medianMs / a.medianMs)}×`
  }
  const rows = layouts.flatMap((l) =>
    threadCounts.map(
      (t) =>
        `| ${l.name} | ${t} | ${QUERIES.map((q) => `${cell(l.name, t, q.name)} | ${ratio(l.name, t, q.name)}`).join(' | ')} |`,
    ),
  )
  const md = `## Insights on the lake's layout: DuckDB over the same events laid out four ways

${fmt(total)} events from \`bench/data-generator.ts\` (seeded shoppers over ${spanDays} days), zone Europe/Berlin, the planner of
\`src/understand/core/insights\` unchanged; \`bench/insights-lake.bench.ts\`. Machine: ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${m.date};
1-minute load average ${startLoad} at the start and ${endLoad} at the end (a shared machine: upper bounds). Each query ${runs} times after a
warm-up, every answer checked equal to the first layout's. Milliseconds, median (best), and the baseline's median over this one (the
baseline is the first row with the same threads: one unsorted file per million events, what the insights benchmark reads today).

| layout | threads | ${QUERIES.map((q) => `${q.what} | speed-up`).join(' | ')} |
|---|---:|${QUERIES.map(() => '---:|---:').join('|')}|
${rows.join('\n')}

Layouts: ${info.map((i) => `${i.layout}: ${fmt(i.files)} file(s), ${fmt(i.mb)} MB, written in ${fmt(i.writeMs)} ms`).join('; ')}.
Funnel answer: ${funnelCounts} profiles.
`
  writeResult(
    total === 1_000_000 ? 'insights-lake' : `insights-lake-${total}`,
    {
      machine: m,
      events: total,
      spanDays,
      layouts: info,
      results,
      loadAverage: { start: startLoad, end: endLoad },
    },
    md,
  )
  renderBenchmarks()
}

await main()
