/**
 * @module platform/lake/lake-writer
 * Appends what changed in the store to the lake, continuously and crash-safely (ADR 0014):
 *
 * 1. **claim**: changes recorded by the store's triggers (`lake_changes`) are claimed as batch B
 *    when enough wait (`maxBatchChanges`) or the oldest is `flushMs` old;
 * 2. **write**: per table, B's content is read from the store, written as Parquet files (fsynced,
 *    renamed into place) and committed with the Delta action `txn {appId: kindred-lake, version:
 *    B}`, the way Delta's own streaming sink makes appends idempotent;
 * 3. **finish**: B's changes are deleted from the store.
 *
 * A crash before 2 leaves B claimed: the next pass writes it. A crash between a table's files and
 * its commit leaves orphan files no commit names (readers ignore them; the writer deletes them on
 * start); the next pass writes B again. A crash after a commit and before 3: that table's `txn`
 * already says B, so B is not written to it twice. The lease in `lake_state` keeps one writer at
 * a time, so batches commit in the order of their numbers and "txn version ≥ B" means "B is in".
 *
 * Between batches the same loop carries out privacy erasures, compacts small files, drops
 * superseded profile versions and vacuums. Falling behind raises `kindred_lake_lag_seconds` and a
 * health warning; the changes wait in the store, so nothing is lost.
 */
import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { appendFile, mkdir, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import type { Db } from '../store/db.js'
import { pollingLoop } from '../jobs/loops.js'
import { commitInfo, openLakeTable, LAKE_APP_ID, type LakeTable } from './lake-table.js'
import { LAKE_TABLES, type LakeTableName } from './lake-tables.js'
import type { AddAction } from './delta-protocol.js'
import {
  compactPartition,
  dropSupersededProfiles,
  eraseFromTable,
  type TableErasure,
} from './lake-maintenance.js'
import { openDuck, writeStaged, type Duck, type WrittenFile } from './parquet-files.js'
import {
  claimBatch,
  finishBatch,
  finishErasure,
  openErasures,
  pendingChanges,
  releaseLease,
  takeLease,
  type LakeBatch,
  type LakeErasureRow,
} from './lake-store.js'
import type { LakeMetrics } from './lake-metrics.js'

const numRecords = (a: AddAction) =>
  a.stats === undefined ? 0 : (JSON.parse(a.stats) as { numRecords: number }).numRecords

/** Changes of one kind become rows of one table. */
const tableOfKind: Record<string, LakeTableName> = {
  event: 'events',
  profile: 'profiles',
  merge: 'identity_merges',
  membership: 'segment_membership_changes',
}

export interface LakeFaults {
  /** Between a table's data files (durable) and its commit: throw to simulate a crash. */
  beforeCommit?(table: LakeTableName, batch: number): void | Promise<void>
  /** After a table's commit, before the batch is finished in the store. */
  afterCommit?(table: LakeTableName, batch: number): void | Promise<void>
}

export interface LakeBatchDone {
  batch: number
  /** From reading the batch's content to deleting its changes. */
  durationMs: number
  /** Per change: ms from being recorded in the store to its table's commit. */
  freshnessMs: number[]
  rows: Partial<Record<LakeTableName, number>>
}

export interface LakeWriterOptions {
  db: Db
  /** The lake's root directory (one sub-directory per table). */
  dir: string
  logger: Logger
  metrics?: LakeMetrics
  /** Epoch ms. */
  clock?: () => number
  /** false: carry out erasures and vacuum only, append nothing (the lake is off). Default true. */
  capture?: boolean
  /** Flush when the oldest waiting change is this old. Default 30 s. */
  flushMs?: number
  /** Flush when this many changes wait; also the most one batch takes. Default 20,000. */
  maxBatchChanges?: number
  /** Changes read from the store per query (each query holds PGlite's one connection). Default 2,000. */
  loadPageSize?: number
  /** How often the writer looks. Default 1 s. */
  pollMs?: number
  /** The writer's lease. Default 30 s. */
  leaseMs?: number
  /** A partition with this many small files is compacted. Default 10. */
  compactMinFiles?: number
  /** Files under this size are small. Default 16 MiB. */
  smallFileBytes?: number
  /** Superseded profile versions are dropped this often. Default 10 min. */
  profileCompactionMs?: number
  /** Files removed by compaction are deleted from disk after this. Default 1 hour. */
  vacuumRetentionMs?: number
  /** Unreferenced data files older than this are orphans (default: 0 embedded, 10 min on a server). */
  orphanGraceMs?: number
  /** Warn on /healthz when the lake is this far behind. Default 2 × flushMs + 60 s. */
  lagWarningMs?: number
  faults?: LakeFaults
  onBatch?: (done: LakeBatchDone) => void
}

export interface LakeHealth {
  /** Seconds the oldest change not yet in the lake has waited (0 when none waits). */
  lagSeconds: number
  pending: number
  /** Consecutive failed passes. */
  failures: number
  lastError?: string
  /** Another node's writer holds the lease. */
  standby: boolean
  warning?: string
}

export interface LakeWriter {
  start(): void
  stop(): Promise<void>
  wake(): void
  /** One pass; `force` writes what waits whatever its age. True when it wrote a batch. */
  runOnce(opts?: { force?: boolean }): Promise<boolean>
  /** Writes everything waiting now (tests, benchmarks); returns the batches written. */
  flush(): Promise<number>
  health(): LakeHealth
}

export function createLakeWriter(options: LakeWriterOptions): LakeWriter {
  const { db, logger, metrics } = options
  const clock = options.clock ?? Date.now
  const capture = options.capture ?? true
  const flushMs = options.flushMs ?? 30_000
  const maxBatch = options.maxBatchChanges ?? 20_000
  const leaseMs = options.leaseMs ?? 30_000
  const exclusive = db.dialect === 'pglite'
  const orphanGraceMs = options.orphanGraceMs ?? (exclusive ? 0 : 10 * 60_000)
  const compaction = {
    minFiles: options.compactMinFiles ?? 10,
    smallBytes: options.smallFileBytes ?? 16 * 1024 * 1024,
  }
  const profileCompactionMs = options.profileCompactionMs ?? 10 * 60_000
  const vacuumRetentionMs = options.vacuumRetentionMs ?? 60 * 60_000
  const lagWarningMs = options.lagWarningMs ?? 2 * flushMs + 60_000
  const loadPage = options.loadPageSize ?? 2_000
  const writerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`

  let opened: Promise<{ duck: Duck; tables: Map<LakeTableName, LakeTable> }> | undefined
  let closed = false
  let chain: Promise<unknown> = Promise.resolve()
  let lastProfileCompaction = clock()
  const profileWorkspaces = new Set<string>()
  let finished = 0
  const state: LakeHealth = { lagSeconds: 0, pending: 0, failures: 0, standby: false }

  /** Every operation runs alone: appends, erasures and compaction never interleave. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = chain.then(fn, fn)
    chain = run.catch(() => undefined)
    return run
  }

  function open() {
    opened ??= (async () => {
      await mkdir(options.dir, { recursive: true, mode: 0o700 })
      const duck = await openDuck()
      const tables = new Map<LakeTableName, LakeTable>()
      for (const spec of LAKE_TABLES) {
        const t = await openLakeTable({
          root: options.dir,
          spec,
          duck,
          now: clock,
          onCheckpointError: (err) =>
            logger.warn({ err, table: spec.name }, 'lake checkpoint failed; readers replay JSON'),
        })
        tables.set(spec.name, t)
      }
      return { duck, tables }
    })()
    return opened
  }

  /** At the first pass holding the lease: what a crash left behind goes. */
  let swept = false
  async function sweepOrphans(tables: Map<LakeTableName, LakeTable>): Promise<void> {
    if (swept) return
    swept = true
    for (const t of tables.values()) {
      await t.delta.refresh()
      const gone = await t.delta.removeOrphans(clock() - orphanGraceMs)
      if (gone.length > 0)
        logger.info({ table: t.spec.name, files: gone.length }, 'lake: removed orphan files')
    }
  }

  /**
   * The batch's rows for one table, page by page into a staging file (other work reaches the
   * store between pages); undefined when the batch has none.
   */
  async function stageBatch(t: LakeTable, batch: LakeBatch): Promise<string | undefined> {
    const tmpDir = path.join(t.delta.dir, '_tmp')
    await mkdir(tmpDir, { recursive: true, mode: 0o700 })
    const file = path.join(tmpDir, `${randomUUID()}.ndjson`)
    let after: string | undefined
    let any = false
    do {
      const page = await t.spec.load(db, batch, after, loadPage)
      if (page.ndjson !== '') {
        await appendFile(file, any ? `\n${page.ndjson}` : page.ndjson, { mode: 0o600 })
        any = true
      }
      after = page.next
    } while (after !== undefined)
    return any ? file : undefined
  }

  async function writeBatch(
    duck: Duck,
    tables: Map<LakeTableName, LakeTable>,
    claimed: LakeBatch,
  ): Promise<void> {
    const { batch } = claimed
    const started = clock()
    const committedAt = new Map<LakeTableName, number>()
    const rows: Partial<Record<LakeTableName, number>> = {}
    const touched: Array<{ t: LakeTable; values: Record<string, string> }> = []
    for (const t of tables.values()) {
      // A long batch renews the lease table by table; a writer that lost it (paused past the
      // lease) stops here, and the one holding it writes the batch (a table's txn says where).
      if (!(await takeLease(db, writerId, clock(), leaseMs, exclusive))) {
        state.standby = true
        return
      }
      await t.delta.refresh()
      if (t.committedBatch() >= batch) continue
      const staged = await stageBatch(t, claimed)
      if (staged === undefined) continue
      let files: WrittenFile[]
      try {
        files = await writeStaged(duck, t.spec, t.delta.dir, staged, clock)
      } finally {
        await rm(staged, { force: true })
      }
      if (files.length === 0) continue
      const written = files.reduce((n, f) => n + numRecords(f.add), 0)
      await options.faults?.beforeCommit?.(t.spec.name, batch)
      const version = await t.delta.commit((s) => {
        if ((s.txns.get(LAKE_APP_ID)?.version ?? -1) >= batch) return null
        const now = clock()
        return [
          commitInfo(
            now,
            'WRITE',
            { mode: 'Append', partitionBy: JSON.stringify(t.spec.partitions.map((p) => p.name)) },
            { isBlindAppend: true },
          ),
          { txn: { appId: LAKE_APP_ID, version: batch, lastUpdated: now } },
          ...files.map((f) => ({ add: f.add })),
        ]
      })
      if (version === null) {
        // Another writer committed this batch to the table first: ours are orphans.
        for (const f of files) await rm(f.absolute, { force: true })
        continue
      }
      committedAt.set(t.spec.name, clock())
      rows[t.spec.name] = written
      metrics?.rowsWritten.inc({ table: t.spec.name }, written)
      metrics?.commits.inc({ table: t.spec.name, operation: 'append' })
      for (const f of files) touched.push({ t, values: f.add.partitionValues })
      if (t.spec.latestBy) {
        for (const f of files) profileWorkspaces.add(f.add.partitionValues.workspace_id ?? '')
      }
      await options.faults?.afterCommit?.(t.spec.name, batch)
    }
    const done = await finishBatch(db, claimed)
    if (++finished % 20 === 0) {
      // The embedded store has no autovacuum: the queue's dead rows are reclaimed here.
      await db.query('VACUUM lake_changes').catch((err: unknown) => {
        logger.warn({ err }, 'lake: VACUUM lake_changes failed')
      })
    }
    const now = clock()
    const freshnessMs = done.map((r) => {
      const table = tableOfKind[r.kind]
      const at = (table && committedAt.get(table)) ?? now
      return Math.max(0, at - new Date(r.created_at).getTime())
    })
    for (const ms of freshnessMs) metrics?.freshness.observe(ms / 1000)
    options.onBatch?.({ batch, durationMs: now - started, freshnessMs, rows })
    const seen = new Set<string>()
    for (const { t, values } of touched) {
      const key = `${t.spec.name}\u0000${JSON.stringify(values)}`
      if (seen.has(key)) continue
      seen.add(key)
      const n = await compactPartition({ duck, now: clock }, t, values, compaction)
      if (n > 0) metrics?.commits.inc({ table: t.spec.name, operation: 'compact' })
    }
  }

  async function erase(
    duck: Duck,
    tables: Map<LakeTableName, LakeTable>,
    e: LakeErasureRow,
  ): Promise<void> {
    const result: Record<string, TableErasure> = {}
    for (const t of tables.values()) {
      result[t.spec.name] = await eraseFromTable({ duck, now: clock }, t, e)
      if (result[t.spec.name]?.filesRewritten)
        metrics?.commits.inc({ table: t.spec.name, operation: 'erase' })
    }
    await finishErasure(db, e, { tables: result }, new Date(clock()))
    logger.info({ requestId: e.requestId, tables: result }, 'lake: privacy deletion carried out')
  }

  async function maintenance(duck: Duck, tables: Map<LakeTableName, LakeTable>): Promise<void> {
    const now = clock()
    for (const t of tables.values()) {
      const gone = await t.delta.vacuum(now - vacuumRetentionMs)
      if (gone.length > 0) metrics?.filesVacuumed.inc({ table: t.spec.name }, gone.length)
    }
    if (now - lastProfileCompaction >= profileCompactionMs && profileWorkspaces.size > 0) {
      lastProfileCompaction = now
      const profiles = tables.get('profiles')
      if (profiles) {
        for (const ws of profileWorkspaces) {
          await dropSupersededProfiles({ duck, now: clock }, profiles, ws)
        }
      }
      profileWorkspaces.clear()
    }
  }

  async function pass(force: boolean): Promise<boolean> {
    if (closed) return false
    const { duck, tables } = await open()
    if (!(await takeLease(db, writerId, clock(), leaseMs, exclusive))) {
      state.standby = true
      return false
    }
    state.standby = false
    await sweepOrphans(tables)
    // Erasures first, every pass: one that keeps failing holds the appends back (the lake falls
    // behind and says so) rather than letting new files land beside the person's old ones.
    for (const e of await openErasures(db)) await erase(duck, tables, e)
    const p = await pendingChanges(db)
    const now = clock()
    state.pending = p.count
    state.lagSeconds = p.oldestAt === undefined ? 0 : Math.max(0, now - p.oldestAt) / 1000
    metrics?.lag.set(state.lagSeconds)
    metrics?.pending.set(p.count)
    let batch = p.claimed
    if (batch === undefined && capture && p.count > 0) {
      const due =
        force || p.count >= maxBatch || (p.oldestAt !== undefined && now - p.oldestAt >= flushMs)
      if (due) batch = await claimBatch(db, maxBatch)
    }
    if (batch === undefined) {
      await maintenance(duck, tables)
      return false
    }
    await writeBatch(duck, tables, batch)
    return true
  }

  async function guarded(force: boolean): Promise<boolean> {
    try {
      const wrote = await serial(() => pass(force))
      state.failures = 0
      delete state.lastError
      return wrote
    } catch (err) {
      state.failures++
      state.lastError = (err instanceof Error ? err.message : String(err)).slice(0, 200)
      metrics?.failures.inc()
      throw err
    }
  }

  const loop = pollingLoop(() => guarded(false), {
    intervalMs: options.pollMs ?? 1_000,
    onError: (err) => logger.error({ err }, 'lake writer pass failed; will retry'),
    errorDelayMs: () => 5_000,
  })

  return {
    start: loop.start,
    wake: loop.wake,
    async stop() {
      await loop.stop()
      closed = true
      await chain
      if (opened) {
        const { duck } = await opened.catch(() => ({ duck: undefined }))
        duck?.close()
        await releaseLease(db, writerId).catch(() => undefined)
      }
    },
    runOnce: (opts) => guarded(opts?.force ?? false),
    async flush() {
      let n = 0
      while (await guarded(true)) n++
      return n
    },
    health() {
      const warning =
        state.lagSeconds * 1000 > lagWarningMs
          ? `the lake is ${Math.round(state.lagSeconds)} s behind the store (${state.pending} changes waiting)`
          : state.failures >= 3
            ? `the lake writer failed ${state.failures} times in a row: ${state.lastError ?? ''}`
            : undefined
      return { ...state, ...(warning ? { warning } : {}) }
    },
  }
}
