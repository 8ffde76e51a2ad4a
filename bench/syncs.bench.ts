/**
 * Database syncs: a generated customer table (BENCH_SYNC_ROWS, default 1,000,000) in the local
 * PostgreSQL and in MariaDB, synced by the sync runner into an embedded store and a file event
 * log (processing happens later, in the server, as for imports): the first full sync (rows/s),
 * an incremental run after 1% of the rows changed, a run with nothing changed, and the process's
 * peak RSS. Checksum change detection (no cursor column), upsert mode, batches of 1,000.
 * Baseline, same run: the same table streamed by the same reader with nothing done per row.
 * `node --import tsx bench/syncs.bench.ts` → bench/results/syncs.{json,md}, then docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { machine, writeResult } from './support.js'
import { renderBenchmarks } from './render.js'
import { openStore } from '../src/platform/store/open-store.js'
import { bootstrap } from '../src/app/bootstrap.js'
import { openFileEventLog } from '../src/platform/stream/file-event-log.js'
import { sourcesRepository } from '../src/platform/store/repositories/sources-repository.js'
import { parseOutboundAllow } from '../src/protocol/outbound-policy.js'
import { syncModelSchema } from '../src/collect/core/sync-model.js'
import { openSource } from '../src/collect/engine/syncs/source-readers.js'
import { syncsRepository as repo } from '../src/collect/engine/syncs/syncs-repository.js'
import { queueRun, workPass } from '../src/collect/engine/syncs/sync-worker.js'
import { createSourceDatabase, type SourceDialect } from '../src/testing/source-databases.js'

const rows = Number(process.env.BENCH_SYNC_ROWS ?? 1_000_000)
const logger = pino({ level: 'warn' })

let peak = 0
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100)
sampler.unref()
const resetPeak = () => (peak = process.memoryUsage().rss)
const mib = (b: number) => Math.round(b / 2 ** 20)

const tableSql: Record<SourceDialect, string[]> = {
  postgres: [
    `CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL, first_name text,
      plan text, ltv numeric(12,2), signed_up timestamptz, updated_at timestamptz)`,
    `INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'Name' || (g % 977),
      (ARRAY['free','basic','pro'])[1 + g % 3], (g % 10000) / 100.0,
      timestamptz '2024-01-01' + g * interval '1 minute', now()
      FROM generate_series(1, ${rows}) g`,
  ],
  mysql: [
    `CREATE TABLE customers (id int PRIMARY KEY, email varchar(200) NOT NULL,
      first_name varchar(100), plan varchar(20), ltv decimal(12,2), signed_up datetime(3),
      updated_at datetime(3))`,
    `INSERT INTO customers SELECT seq, CONCAT('c', seq, '@example.com'),
      CONCAT('Name', seq % 977), ELT(1 + seq % 3, 'free', 'basic', 'pro'), (seq % 10000) / 100.0,
      TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq MINUTE, NOW(3)
      FROM seq_1_to_${rows}`,
  ],
}

interface Phase {
  seconds: number
  rowsRead: number
  rowsSent: number
  rowsPerSec: number
  peakRssMiB: number
}

async function benchDialect(dialect: SourceDialect) {
  const src = await createSourceDatabase(dialect)
  const dataDir = mkdtempSync(path.join(tmpdir(), `kindred-sync-bench-${dialect}-`))
  try {
    for (const sql of tableSql[dialect]) await src.exec(sql)
    const connection = {
      kind: dialect,
      host: src.host,
      port: src.port,
      database: src.database,
      user: src.user,
      ssl: false,
      queryTimeoutMs: 3_600_000,
    }
    const outbound = parseOutboundAllow('127.0.0.0/8')

    // Baseline: the same reader, nothing done per row.
    resetPeak()
    let t0 = performance.now()
    const reader = await openSource(connection, outbound)
    let read = 0
    for await (const batch of reader.batches(
      { text: 'SELECT * FROM customers ORDER BY id', params: [] },
      1000,
    ))
      read += batch.length
    await reader.close()
    const baselineSeconds = (performance.now() - t0) / 1000
    const baseline = { rowsPerSec: read / baselineSeconds, peakRssMiB: mib(peak) }

    const store = await openStore({ dataDir })
    await bootstrap(store.db, 'bench-admin-token-0123456789')
    const eventLog = await openFileEventLog(path.join(dataDir, 'log'))
    await sourcesRepository.insert(store.db, {
      id: 'src_sync_bench',
      workspaceId: 'default',
      name: 'sync: customers',
      writeKeyHash: 's'.repeat(64),
      writeKeyPrefix: 'wk_s',
      settings: {},
    })
    await repo.insertConnection(
      store.db,
      {
        workspaceId: 'default',
        id: 'scon_bench',
        name: dialect,
        kind: dialect,
        settings: connection,
        passwordSealed: null,
      },
      new Date(),
    )
    await repo.insertModel(
      store.db,
      {
        workspaceId: 'default',
        id: 'smod_bench',
        connectionId: 'scon_bench',
        sourceId: 'src_sync_bench',
        name: 'customers',
        definition: syncModelSchema.parse({
          name: 'customers',
          connectionId: 'scon_bench',
          source: { table: 'customers' },
          key: 'id',
          identifiers: { email: 'email' },
          columns: {
            first_name: 'traits.first_name',
            plan: 'traits.plan',
            ltv: 'traits.ltv',
            signed_up: 'traits.signed_up',
          },
        }),
        schedule: null,
        nextRunAt: null,
      },
      new Date(),
    )
    const deps = {
      db: store.db,
      eventLog,
      clock: () => new Date(),
      outbound,
      openSecret: () => undefined,
      batchSize: 1000,
    }
    const phase = async (): Promise<Phase> => {
      resetPeak()
      const start = performance.now()
      const run = await queueRun(deps, 'default', 'smod_bench', 'manual')
      while (await workPass(deps, logger)) {
        /* one run */
      }
      const seconds = (performance.now() - start) / 1000
      const r = await repo.getRun(store.db, 'default', run?.id as string)
      if (r?.status !== 'succeeded') throw new Error(`run ${r?.status}: ${r?.error}`)
      return {
        seconds,
        rowsRead: r.rowsRead,
        rowsSent: r.rowsSent,
        rowsPerSec: r.rowsRead / seconds,
        peakRssMiB: mib(peak),
      }
    }
    const first = await phase()
    t0 = performance.now()
    await src.exec(
      dialect === 'postgres'
        ? `UPDATE customers SET plan = 'enterprise', updated_at = now() WHERE id % 100 = 0`
        : `UPDATE customers SET plan = 'enterprise', updated_at = NOW(3) WHERE id % 100 = 0`,
    )
    const incremental = await phase()
    const unchanged = await phase()
    await eventLog.close()
    await store.close()
    return { baseline, first, incremental, unchanged }
  } finally {
    await src.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function main() {
  const loadBefore = loadavg()
  const postgres = await benchDialect('postgres')
  const mariadb = await benchDialect('mysql')
  const loadAfter = loadavg()
  const results = {
    machine: machine(),
    rows,
    loadavg: { before: loadBefore, after: loadAfter },
    postgres,
    mariadb,
  }
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  const line = (name: string, p: Phase) =>
    `| ${name} | ${p.seconds.toFixed(1)} s | ${n(p.rowsRead)} | ${n(p.rowsSent)} | ${n(p.rowsPerSec)} | ${p.peakRssMiB} MiB |`
  const block = (label: string, r: Awaited<ReturnType<typeof benchDialect>>) => `### ${label}

| run | time | rows read | rows sent | rows read/s | peak RSS |
|---|---:|---:|---:|---:|---:|
${line('first full sync', r.first)}
${line('after 1% changed', r.incremental)}
${line('nothing changed', r.unchanged)}

Baseline (same run, same table, same reader, nothing done per row): ${n(r.baseline.rowsPerSec)}
rows/s, peak RSS ${r.baseline.peakRssMiB} MiB; the first sync runs at
${((r.first.rowsPerSec / r.baseline.rowsPerSec) * 100).toFixed(0)}% of the read ceiling.
`
  const md = `## Database syncs: ${n(rows)}-row customer table from PostgreSQL and MariaDB

The sync runner (checksum change detection, no cursor column, upsert, batches of 1,000) reading a
generated customer table (email identifier, four mapped traits: text, text, decimal, timestamp)
from the machine's own servers into an embedded store (the per-row snapshot) and the file event
log, in one process (processing happens later, in the server). The 1% change is an UPDATE of
every 100th row. Peak RSS is the whole process (reader, runner, PGlite). Machine:
${results.machine.cpuModel}, ${results.machine.cores} cores, Node ${results.machine.node},
${results.machine.date}. Shared machine: load average ${loadBefore.map((l) => l.toFixed(1)).join(' / ')}
at the start, ${loadAfter.map((l) => l.toFixed(1)).join(' / ')} at the end.

${block('PostgreSQL 15', postgres)}
${block('MariaDB', mariadb)}`
  writeResult('syncs', results, md)
  renderBenchmarks()
  process.stdout.write(md)
}

await main()
