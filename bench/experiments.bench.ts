/**
 * Experiment readout: 3 arms × 5 metrics over BENCH_EXPOSED exposed profiles (default 100,000;
 * the size is 1,000,000) and BENCH_EVENTS events in all (default 10 per exposed profile),
 * generated in SQL on a Postgres server (BENCH_DATABASE_URL, default the machine's
 * postgres://postgres@127.0.0.1:5432/postgres; a fresh database, dropped after). Baseline in the
 * same run: one `count(*)` over the workspace's events (a full pass over the same rows).
 *
 * → bench/results/experiments.{json,md}, then docs/benchmarks.md.
 */
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { openStore } from '../src/platform/store/open-store.js'
import { createTestDatabase } from '../src/testing/databases.js'
import {
  createExperiment,
  experimentResults,
} from '../src/understand/engine/experiments/experiments-service.js'
import { renderBenchmarks } from './render.js'
import { fmt, machine, writeResult } from './support.js'

const exposed = Number(process.env.BENCH_EXPOSED ?? 100_000)
const totalEvents = Number(process.env.BENCH_EVENTS ?? exposed * 10)
const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const WS = 'bench'

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now()
  const value = await fn()
  return { ms: performance.now() - t0, value }
}

async function main(): Promise<void> {
  const load = loadavg()[0] ?? 0
  const server = await createTestDatabase(serverUrl)
  const store = await openStore({ databaseUrl: server.url })
  const { db } = store
  try {
    const now = new Date('2025-06-01T00:00:00Z')
    const loadMs = (
      await timed(async () => {
        await db.query('SELECT setseed(0.19)')
        // Exposures: one per profile, arms by i % 3.
        await db.query(
          `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event, "timestamp", received_at, properties, payload)
           SELECT $1, 'p' || i, 'src', 'x' || i, i, 'track', 'Experiment Viewed', $2::timestamptz - interval '30 days' + (i % 86400) * interval '1 second',
                  $2::timestamptz, jsonb_build_object('experiment_id', 'bench', 'variation_id', (ARRAY['control','b','c'])[1 + i % 3]), '{}'::jsonb
             FROM generate_series(1, $3::int) AS i`,
          [WS, now.toISOString(), exposed],
        )
        const rest = totalEvents - exposed
        const chunk = 1_000_000
        for (let start = 0; start < rest; start += chunk) {
          await db.query(
            `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event, "timestamp", received_at, properties, payload)
             SELECT $1, 'p' || (1 + j % $4::int), 'src', 'm' || j, $4::bigint + j, 'track',
                    (ARRAY['Order Completed','Product Viewed','Product Added','Signed In','Support Ticket'])[1 + floor(random() * 5)::int],
                    $2::timestamptz - random() * interval '40 days', $2::timestamptz,
                    jsonb_build_object('revenue', round((random() * 100)::numeric, 2)), '{}'::jsonb
               FROM generate_series($3::bigint + 1, $3::bigint + $5::bigint) AS j`,
            [WS, now.toISOString(), start, exposed, Math.min(chunk, rest - start)],
          )
        }
        await db.query('VACUUM (ANALYZE)')
      })
    ).ms
    const e = await createExperiment(
      db,
      WS,
      {
        key: 'bench',
        name: 'Bench',
        arms: [
          { key: 'control', weight: 1 },
          { key: 'b', weight: 1 },
          { key: 'c', weight: 1 },
        ],
        metrics: [
          { key: 'orders', kind: 'conversion', event: 'Order Completed', role: 'goal' },
          {
            key: 'revenue',
            kind: 'sum',
            event: 'Order Completed',
            property: 'revenue',
            role: 'goal',
          },
          { key: 'views', kind: 'count', event: 'Product Viewed', role: 'goal' },
          { key: 'adds', kind: 'conversion', event: 'Product Added', role: 'goal' },
          { key: 'tickets', kind: 'count', event: 'Support Ticket', role: 'guardrail' },
        ],
      },
      now,
    )
    const baseline = await timed(() =>
      db.query(`SELECT count(*) FROM events WHERE workspace_id = $1`, [WS]),
    )
    const runs: number[] = []
    for (let i = 0; i < 3; i++) {
      runs.push(
        (
          await timed(() =>
            experimentResults({ db, clock: () => new Date(), timeoutMs: 600_000 }, WS, e.id),
          )
        ).ms,
      )
    }
    const base2 = await timed(() =>
      db.query(`SELECT count(*) FROM events WHERE workspace_id = $1`, [WS]),
    )
    const sorted = [...runs].sort((a, b) => a - b)
    const median = sorted[1]!
    const baseMs = Math.min(baseline.ms, base2.ms)
    const results = {
      machine: machine(),
      loadAverage: load,
      exposed,
      totalEvents,
      loadMs,
      runs,
      baselineMs: [baseline.ms, base2.ms],
    }
    const md = `## Experiments: a readout of 3 arms × 5 metrics

${fmt(exposed)} exposed profiles, ${fmt(totalEvents)} events in all, on the machine's Postgres 15 server
(generated in SQL, loaded in ${fmt(loadMs)} ms, then VACUUM ANALYZE), load average ${load.toFixed(1)} at
the start. The readout is one exposure count and one aggregate for all five metrics (grouped by arm,
with each metric's 14-day pre-exposure covariate for CUPED), then the stats; baseline: one \`count(*)\` over the workspace's events, in the same run (best of two).
The issue's target is < 2 s at 1,000,000 exposed profiles and 10,000,000 events.

| step | time | × baseline |
|---|---:|---:|
| baseline: count(*) over the events | ${fmt(baseMs)} ms | 1.0 |
| readout, median of 3 (${runs.map((r) => fmt(r)).join(', ')} ms) | ${fmt(median)} ms | ${(median / baseMs).toFixed(1)} |
`
    writeResult('experiments', results, md)
    renderBenchmarks()
    process.stdout.write(md)
  } finally {
    await store.close()
    await server.drop()
  }
}

await main()
