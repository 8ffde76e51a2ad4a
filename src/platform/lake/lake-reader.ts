/**
 * @module platform/lake/lake-reader
 * Reading the lake from Kindred code (insights): the live files of a table, from its Delta log
 * (newest checkpoint, then the commits after it), and a DuckDB `read_parquet` expression over
 * them that brings back the partition columns with their types. Readers outside Kindred: see
 * docs/lake.md.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Queryable } from '../store/db.js'
import { filesIn, openDeltaTable } from './delta-log.js'
import { pendingChanges } from './lake-store.js'
import { LAKE_TABLES, type LakeTableName } from './lake-tables.js'
import { openDuck, sqlString, type Duck } from './parquet-files.js'

/** Absolute paths of the table's live data files (empty when the table does not exist yet). */
export async function liveFiles(duck: Duck, root: string, table: LakeTableName): Promise<string[]> {
  const dir = path.join(root, table)
  if (!existsSync(path.join(dir, '_delta_log'))) return []
  const t = await openDeltaTable({ dir, duck })
  return [...t.snapshot().files.keys()].map((p) => t.absolute(p))
}

/**
 * `read_parquet([...], …)` over `files`, usable as a table in DuckDB SQL: partition columns come
 * from the Hive-style paths with their Delta types, and files written before a column was added
 * read it as NULL. Undefined when there is no file (DuckDB refuses an empty list).
 */
export function readParquetSql(table: LakeTableName, files: readonly string[]): string | undefined {
  if (files.length === 0) return undefined
  const spec = LAKE_TABLES.find((t) => t.name === table)
  const types = (spec?.partitions ?? [])
    .map((p) => `${sqlString(p.name)}: ${p.delta === 'date' ? 'DATE' : 'VARCHAR'}`)
    .join(', ')
  return `read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true,
    hive_types = {${types}}, union_by_name = true)`
}

/** Live files of the lake's tables, kept open between reads (insights ask on every query). */
export interface LakeFileReader {
  /** The table's live files in one workspace's partitions (absolute paths). */
  files(table: LakeTableName, workspaceId: string): Promise<string[]>
  close(): void
}

/**
 * Opens each table's Delta log once and, on every call, reads only the commits made since
 * (`refresh`), so listing the live files costs a directory read, not a log replay. Calls are
 * queued: a handle's snapshot is advanced by one reader at a time.
 */
export function openLakeFileReader(root: string): LakeFileReader {
  let duck: Promise<Duck> | undefined
  const tables = new Map<LakeTableName, Promise<Awaited<ReturnType<typeof openDeltaTable>>>>()
  let queue: Promise<unknown> = Promise.resolve()
  const list = async (table: LakeTableName, workspaceId: string): Promise<string[]> => {
    const dir = path.join(root, table)
    // Opening creates `_delta_log`; a table the writer has not made yet has no files.
    if (!existsSync(path.join(dir, '_delta_log'))) return []
    let t = tables.get(table)
    if (t === undefined) {
      duck ??= openDuck()
      const d = await duck
      t = openDeltaTable({ dir, duck: d })
      tables.set(table, t)
      t.catch(() => tables.delete(table))
    }
    const handle = await t
    const snapshot = await handle.refresh()
    return filesIn(snapshot, { workspace_id: workspaceId }).map((a) => handle.absolute(a.path))
  }
  return {
    files(table, workspaceId) {
      const next = queue.then(() => list(table, workspaceId))
      queue = next.catch(() => undefined)
      return next
    },
    close() {
      void duck?.then((d) => d.close()).catch(() => undefined)
      duck = undefined
      tables.clear()
    },
  }
}

/**
 * How far the lake is behind the store: seconds the oldest change not yet written has waited (0
 * when none waits). Read from the store, so any node can ask, not only the one whose writer
 * holds the lease.
 */
export async function lakeLagSeconds(db: Queryable, nowMs: number): Promise<number> {
  const p = await pendingChanges(db)
  return p.oldestAt === undefined ? 0 : Math.max(0, nowMs - p.oldestAt) / 1000
}

/** What insights read of the lake (src/understand's `InsightsLake`, by shape). */
export interface LakeEventSource {
  /** A workspace's live event files and profile versions (Hive-partitioned: `hive: true`). */
  files(workspaceId: string): Promise<{ events: string[]; profiles: string[]; hive: true }>
  lagSeconds(): Promise<number>
  close(): void
}

/** The lake in `dir` as insights read it: live files from the Delta logs, lag from the store. */
export function openLakeEventSource(options: {
  db: Queryable
  dir: string
  clock: () => number
}): LakeEventSource {
  const reader = openLakeFileReader(options.dir)
  return {
    async files(workspaceId) {
      const events = await reader.files('events', workspaceId)
      const profiles = await reader.files('profiles', workspaceId)
      return { events, profiles, hive: true }
    },
    lagSeconds: () => lakeLagSeconds(options.db, options.clock()),
    close: () => reader.close(),
  }
}
