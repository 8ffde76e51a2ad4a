/**
 * The lake writer (src/platform/lake) while the processor runs: Kindred `--role all` on the
 * embedded store (PGlite in a data dir, file event log), in this process so the writer's batches
 * can be timed, fed synthetic shoppers (bench/data-generator.ts) through the tracking API.
 *
 * 1. Throughput, side by side: BENCH_EVENTS (default 20,000) events in 100-event batches from
 *    BENCH_SENDERS (default 4) senders as fast as they go, with the lake off (the baseline) and
 *    on, alternating for BENCH_ROUNDS (default 3) rounds each on a fresh data dir; medians are
 *    reported (the machine is shared: alternating keeps both variants under the same noise).
 *    Processed events/s = accepted events / time from the first send until the processor has
 *    applied them all. With the lake on, also: events/s the writer sustained while it wrote
 *    (rows / time inside its batches), and when the lake held every event.
 * 2. Freshness under a steady BENCH_RATE (default 1,000) events/s for BENCH_SECONDS (default 60),
 *    for each flush interval in BENCH_FLUSH (seconds, default "30,5"; 30 is the default): per
 *    change, the time from being recorded in the store (the trigger in the processor's
 *    transaction, `clock_timestamp()`) to the commit that made it visible in the lake.
 *
 * `node --import tsx bench/lake.bench.ts` → bench/results/lake.{json,md}, then docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import { startKindred, type Kindred } from '../src/app/runtime.js'
import type { LakeBatchDone, LakeWriter } from '../src/platform/lake/lake-writer.js'
import { liveFiles, readParquetSql } from '../src/platform/lake/lake-reader.js'
import { openDuck } from '../src/platform/lake/parquet-files.js'
import { generateEvents, type GeneratedEvent } from './data-generator.js'
import { renderBenchmarks } from './render.js'
import { fmt, machine, quantile, round, writeResult } from './support.js'

const totalEvents = Number(process.env.BENCH_EVENTS ?? 20_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const senders = Number(process.env.BENCH_SENDERS ?? 4)
const rate = Number(process.env.BENCH_RATE ?? 1_000)
const steadySeconds = Number(process.env.BENCH_SECONDS ?? 60)
const flushes = (process.env.BENCH_FLUSH ?? '30,5').split(',').map(Number)
const batchSize = 100
const token = 'bench-admin-token-0123456789'

interface Run {
  kindred: Kindred
  base: string
  auth: string
  writer: LakeWriter | undefined
  batches: LakeBatchDone[]
  dataDir: string
}

async function start(lake: boolean, flushSeconds = 30): Promise<Run> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-bench-lake-'))
  const batches: LakeBatchDone[] = []
  let writer: LakeWriter | undefined
  const kindred = await startKindred({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    adminToken: token,
    logger: pino({ level: 'warn' }),
    consoleDir: '/nonexistent',
    lake: {
      enabled: lake,
      flushMs: flushSeconds * 1000,
      writer: { onBatch: (b) => batches.push(b) },
      onWriter: (w) => (writer = w),
    },
  })
  const base = kindred.url as string
  const res = await fetch(`${base}/api/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'bench',
      settings: { rateLimit: { eventsPerSecond: 10_000_000, burst: 10_000_000 } },
    }),
  })
  if (!res.ok) throw new Error(`creating the source answered ${res.status}`)
  const { writeKey } = (await res.json()) as { writeKey: string }
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  return { kindred, base, auth, writer: lake ? writer : undefined, batches, dataDir }
}

async function close(run: Run): Promise<void> {
  await run.kindred.close()
  rmSync(run.dataDir, { recursive: true, force: true })
}

async function processed(run: Run): Promise<number> {
  return (await run.kindred.metrics.eventsProcessed.get()).values[0]?.value ?? 0
}

async function send(run: Run, body: string, count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const res = await fetch(`${run.base}/v1/batch`, {
      method: 'POST',
      headers: { authorization: run.auth, 'content-type': 'application/json' },
      body,
    })
    await res.arrayBuffer()
    if (res.status === 200) return count
    if (res.status !== 429 && res.status !== 503) throw new Error(`batch answered ${res.status}`)
    await sleep(50)
  }
  throw new Error('batch kept being refused')
}

function bodies(events: GeneratedEvent[]): { body: string; n: number }[] {
  const out: { body: string; n: number }[] = []
  for (let i = 0; i < events.length; i += batchSize) {
    const b = events.slice(i, i + batchSize)
    out.push({ body: JSON.stringify({ batch: b }), n: b.length })
  }
  return out
}

interface WriterFigures {
  batches: number
  eventRows: number
  allRows: number
  busySeconds: number
  eventsPerBusySecond: number
  rowsPerBusySecond: number
  lakeCount: number
}

const eventRows = (run: Run) => run.batches.reduce((n, b) => n + (b.rows.events ?? 0), 0)

/** Waits until the lake holds `target` events (the writer flushes on its own schedule). */
async function lakeHolds(run: Run, target: number, timeoutMs = 600_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (eventRows(run) < target) {
    if (Date.now() > until) throw new Error(`the lake holds ${eventRows(run)} of ${target} events`)
    await sleep(50)
  }
}

async function lakeCount(run: Run): Promise<number> {
  const duck = await openDuck()
  try {
    const files = await liveFiles(duck, path.join(run.dataDir, 'lake'), 'events')
    const from = readParquetSql('events', files)
    if (!from) return 0
    const [r] = await duck.all(`SELECT count(*)::BIGINT AS n FROM ${from}`)
    return Number(r?.n)
  } finally {
    duck.close()
  }
}

async function throughput(lake: boolean) {
  const run = await start(lake)
  try {
    const events = generateEvents({ seed: 7, events: totalEvents, idPrefix: 'lk' })
    const plan = bodies(events)
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    let next = 0
    let accepted = 0
    await Promise.all(
      Array.from({ length: senders }, async () => {
        for (;;) {
          const b = plan[next++]
          if (!b) return
          const n = await send(run, b.body, b.n)
          accepted += n
        }
      }),
    )
    while ((await processed(run)) < accepted) await sleep(20)
    const tProcessed = performance.now()
    let lakeDoneAfterMs: number | undefined
    let writer: WriterFigures | undefined
    if (lake) {
      await lakeHolds(run, accepted)
      lakeDoneAfterMs = performance.now() - tProcessed
      const busyMs = run.batches.reduce((n, b) => n + b.durationMs, 0)
      const rows = run.batches.reduce(
        (n, b) => n + Object.values(b.rows).reduce((m, r) => m + (r ?? 0), 0),
        0,
      )
      writer = {
        batches: run.batches.length,
        eventRows: eventRows(run),
        allRows: rows,
        busySeconds: round(busyMs / 1000, 2),
        eventsPerBusySecond: Math.round(eventRows(run) / (busyMs / 1000)),
        rowsPerBusySecond: Math.round(rows / (busyMs / 1000)),
        lakeCount: await lakeCount(run),
      }
    }
    const cpu = process.cpuUsage(cpu0)
    const seconds = (tProcessed - t0) / 1000
    return {
      lake,
      events: accepted,
      processedSeconds: round(seconds, 2),
      processedEventsPerSec: Math.round(accepted / seconds),
      cpuMsPer1kEvents: round(((cpu.user + cpu.system) / 1000 / accepted) * 1000, 1),
      ...(lakeDoneAfterMs === undefined
        ? {}
        : { lakeCaughtUpSecondsAfterProcessing: round(lakeDoneAfterMs / 1000, 1) }),
      ...(writer ? { writer } : {}),
    }
  } finally {
    await close(run)
  }
}

async function freshness(flushSeconds: number) {
  const run = await start(true, flushSeconds)
  try {
    const count = Math.round((rate * steadySeconds) / batchSize) * batchSize
    const plan = bodies(generateEvents({ seed: 8, events: count, idPrefix: `fr${flushSeconds}` }))
    const intervalMs = (batchSize / rate) * 1000
    const t0 = performance.now()
    const work: Promise<number>[] = []
    for (let i = 0; i < plan.length; i++) {
      const wait = t0 + i * intervalMs - performance.now()
      if (wait > 0) await sleep(wait)
      const b = plan[i] as { body: string; n: number }
      work.push(send(run, b.body, b.n))
    }
    const accepted = (await Promise.all(work)).reduce((a, b) => a + b, 0)
    const seconds = (performance.now() - t0) / 1000
    await lakeHolds(run, accepted)
    const all = run.batches.flatMap((b) => b.freshnessMs).sort((a, b) => a - b)
    const busyMs = run.batches.reduce((n, b) => n + b.durationMs, 0)
    return {
      flushSeconds,
      targetEventsPerSec: rate,
      achievedEventsPerSec: Math.round(accepted / seconds),
      events: accepted,
      changes: all.length,
      batches: run.batches.length,
      avgBatchMs: Math.round(busyMs / Math.max(1, run.batches.length)),
      writerBusyShare: round(busyMs / 1000 / seconds, 3),
      freshnessMs: {
        p50: Math.round(quantile(all, 0.5)),
        p99: Math.round(quantile(all, 0.99)),
        max: Math.round(all.at(-1) ?? NaN),
      },
    }
  } finally {
    await close(run)
  }
}

async function main() {
  const load = { start: loadavg().map((v) => round(v, 2)), end: [] as number[] }
  const offs: Awaited<ReturnType<typeof throughput>>[] = []
  const ons: Awaited<ReturnType<typeof throughput>>[] = []
  for (let r = 0; r < rounds; r++) {
    process.stdout.write(`throughput round ${r + 1}: ${totalEvents} events, lake off, then on…\n`)
    offs.push(await throughput(false))
    process.stdout.write(`${JSON.stringify(offs.at(-1))}\n`)
    ons.push(await throughput(true))
    process.stdout.write(`${JSON.stringify(ons.at(-1))}\n`)
  }
  const median = <T>(runs: T[], by: (t: T) => number): T =>
    [...runs].sort((a, b) => by(a) - by(b))[Math.floor(runs.length / 2)] as T
  const off = median(offs, (t) => t.processedEventsPerSec)
  const on = median(ons, (t) => t.processedEventsPerSec)
  const cpuOff = median(offs, (t) => t.cpuMsPer1kEvents).cpuMsPer1kEvents
  const cpuOn = median(ons, (t) => t.cpuMsPer1kEvents).cpuMsPer1kEvents
  const fresh: Awaited<ReturnType<typeof freshness>>[] = []
  for (const f of flushes) {
    process.stdout.write(`freshness: ${rate} events/s for ${steadySeconds} s, flush ${f} s…\n`)
    const r = await freshness(f)
    process.stdout.write(`${JSON.stringify(r)}\n`)
    fresh.push(r)
  }
  load.end = loadavg().map((v) => round(v, 2))
  const m = machine()
  const results = {
    machine: m,
    loadAverage: load,
    throughput: { rounds: { off: offs, on: ons }, median: { off, on, cpuOff, cpuOn } },
    freshness: fresh,
  }
  const w = on.writer as WriterFigures
  const md = `## Lake: the writer beside the processor, and freshness

Kindred \`--role all\` on the embedded store (PGlite, file event log) in the benchmark's process,
fed synthetic shoppers (\`bench/data-generator.ts\`) through the tracking API in ${batchSize}-event
batches. The lake writer (\`src/platform/lake\`) reads the changes the store's triggers record
and appends Parquet files with a Delta log (ADR 0014). Machine: ${m.cpuModel}, ${m.cores} cores,
Node ${m.node}, ${m.date}; shared with other jobs: load average ${load.start.join(' / ')} at the
start and ${load.end.join(' / ')} at the end, so the figures are noisy.

### Processing with the lake off (baseline) and on

${fmt(off.events)} events from ${senders} senders as fast as they go, ${rounds} rounds of lake off then
lake on, each on a fresh data dir; medians. Processed = from the first send until the processor
applied every event. CPU is this process's (ingest, processor, and with the lake on the writer
and DuckDB's thread), until the lake held every event.

| figure (median of ${rounds}) | lake off | lake on | on ÷ off |
|---|---:|---:|---:|
| **processed end to end** | ${fmt(off.processedEventsPerSec)} events/s | ${fmt(on.processedEventsPerSec)} events/s | ${round(on.processedEventsPerSec / off.processedEventsPerSec, 2)}× |
| CPU per 1,000 events | ${cpuOff} ms | ${cpuOn} ms | ${round(cpuOn / cpuOff, 2)}× |

Per round, processed events/s off / on: ${offs.map((o, i) => `${fmt(o.processedEventsPerSec)} / ${fmt(ons[i]?.processedEventsPerSec ?? NaN)}`).join(', ')}.

In the median lake-on round the writer wrote ${fmt(w.batches)} batches (${fmt(w.allRows)} rows over the four
tables, ${fmt(w.eventRows)} of them events) in ${w.busySeconds} s of its own work: it sustains
**${fmt(w.eventsPerBusySecond)} events/s** (${fmt(w.rowsPerBusySecond)} rows/s) while the processor
runs beside it on the same event loop. The lake held every event ${on.lakeCaughtUpSecondsAfterProcessing} s after the
processor finished (the last batch waits for its size or the flush interval, 30 s). Read back with
DuckDB from the live files the log names: ${fmt(w.lakeCount)} events (the store: ${fmt(on.events)}).

### Freshness: processed → visible in the lake

A steady ${fmt(rate)} events/s for ${steadySeconds} s; per change, from the trigger in the
processor's transaction to the Delta commit that made it visible.

| flush interval | achieved | changes | batches (avg ms) | writer busy | p50 | **p99** | max |
|---|---:|---:|---:|---:|---:|---:|---:|
${fresh
  .map(
    (f) =>
      `| ${f.flushSeconds} s${f.flushSeconds === 30 ? ' (default)' : ''} | ${fmt(f.achievedEventsPerSec)} events/s | ${fmt(f.changes)} | ${fmt(f.batches)} (${fmt(f.avgBatchMs)}) | ${round(f.writerBusyShare * 100, 1)}% | ${round(f.freshnessMs.p50 / 1000, 1)} s | **${round(f.freshnessMs.p99 / 1000, 1)} s** | ${round(f.freshnessMs.max / 1000, 1)} s |`,
  )
  .join('\n')}

Freshness is the flush interval plus the time to write a batch: a change waits at most until the
oldest change of its batch is a flush interval old (or 20,000 wait), so p99 sits just under the
interval. The default keeps the lake within 60 s of the store with room for a slow batch.
`
  writeResult('lake', results, md)
  renderBenchmarks()
  process.stdout.write(md)
}

await main()
