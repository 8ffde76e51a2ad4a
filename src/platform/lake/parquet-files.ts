/**
 * @module platform/lake/parquet-files
 * Writes the lake's Parquet data files with DuckDB (`@duckdb/node-api`, as the file-export
 * executor does): rows staged as NDJSON are typed by SQL casts, split by partition, written one
 * file per partition and measured (Delta statistics). Every file is written under the table's
 * `_tmp/` directory, fsynced, then renamed into its partition directory and the directory fsynced:
 * a file a commit names is whole on disk. `_tmp/` is hidden from Delta readers (a leading `_`).
 *
 * One in-memory DuckDB per writer, on one thread: the machine's other core serves ingest.
 */
import { randomUUID } from 'node:crypto'
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import {
  STRING_STATS_PREFIX,
  encodeStats,
  partitionSegment,
  toActionPath,
  type AddAction,
  type FileStats,
  type StatValue,
} from './delta-protocol.js'
import type { LakeColumn, LakeTableSpec } from './lake-tables.js'

export const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`
export const sqlIdent = (s: string) => `"${s.replaceAll('"', '""')}"`
/** A DuckDB list literal of strings (an empty list matches nothing in `IN`). */
export const sqlList = (values: readonly string[]) =>
  values.length === 0 ? '(NULL)' : `(${values.map(sqlString).join(', ')})`

export interface Duck {
  run(sql: string): Promise<void>
  all(sql: string): Promise<Record<string, unknown>[]>
  close(): void
}

export async function openDuck(): Promise<Duck> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  const conn: DuckDBConnection = await instance.connect()
  // Dates of partitions and statistics are UTC, whatever the machine's zone.
  await conn.run(`SET TimeZone = 'UTC'`)
  return {
    async run(sql) {
      await conn.run(sql)
    },
    async all(sql) {
      return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[]
    },
    close() {
      conn.closeSync()
      instance.closeSync()
    },
  }
}

/** Flushes a file or directory to disk (a rename is durable once its directory is). */
export async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

export interface WrittenFile {
  add: AddAction
  /** Absolute path on disk. */
  absolute: string
}

const castOf = (c: LakeColumn, x: string) => (c.cast ? c.cast(x) : `CAST(${x} AS ${c.duck})`)

/**
 * Statistics of the rows `from` selects (a table, view or subquery), per the columns' policy, one
 * result per value of the `groupBy` columns (returned under their names in `group`).
 */
export async function measure(
  duck: Duck,
  columns: readonly LakeColumn[],
  from: string,
  groupBy: readonly string[] = [],
): Promise<Array<{ group: Record<string, string>; stats: FileStats }>> {
  const parts = [
    ...groupBy.map((g, i) => `CAST(${sqlIdent(g)} AS VARCHAR) AS g${i}`),
    'count(*)::BIGINT AS n',
  ]
  columns.forEach((c, i) => {
    const col = sqlIdent(c.name)
    if (c.stats === 'none') return
    parts.push(`(count(*) - count(${col}))::BIGINT AS n${i}`)
    if (c.stats !== 'minmax') return
    if (c.duck === 'TIMESTAMPTZ') {
      // Truncated to milliseconds, as the protocol says readers expect.
      parts.push(`strftime(min(${col}), '%Y-%m-%dT%H:%M:%S.%gZ') AS lo${i}`)
      parts.push(`strftime(max(${col}), '%Y-%m-%dT%H:%M:%S.%gZ') AS hi${i}`)
    } else if (c.duck === 'VARCHAR') {
      parts.push(`left(min(${col}), ${STRING_STATS_PREFIX}) AS lo${i}`)
      parts.push(
        `CASE WHEN length(max(${col})) <= ${STRING_STATS_PREFIX} THEN max(${col}) END AS hi${i}`,
      )
    } else {
      parts.push(`CAST(min(${col}) AS VARCHAR) AS lo${i}`)
      parts.push(`CAST(max(${col}) AS VARCHAR) AS hi${i}`)
    }
  })
  const grouping =
    groupBy.length === 0 ? '' : ` GROUP BY ${groupBy.map((_, i) => i + 1).join(', ')}`
  const rows = await duck.all(`SELECT ${parts.join(', ')} FROM ${from}${grouping}`)
  return rows.map((r) => {
    const stats: FileStats = {
      numRecords: Number(r.n ?? 0),
      minValues: {},
      maxValues: {},
      nullCount: {},
    }
    columns.forEach((c, i) => {
      if (c.stats === 'none') return
      stats.nullCount[c.name] = Number(r[`n${i}`] ?? 0)
      const raw = c.duck !== 'VARCHAR' && c.duck !== 'TIMESTAMPTZ'
      const value = (v: unknown): StatValue | undefined =>
        v === null || v === undefined ? undefined : raw ? { raw: String(v) } : String(v)
      const lo = value(r[`lo${i}`])
      const hi = value(r[`hi${i}`])
      if (lo !== undefined) stats.minValues[c.name] = lo
      if (hi !== undefined) stats.maxValues[c.name] = hi
    })
    const group = Object.fromEntries(groupBy.map((g, i) => [g, String(r[`g${i}`] ?? '')]))
    return { group, stats }
  })
}

const copyTo = (from: string, file: string) =>
  `COPY (${from}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`

/**
 * Moves a written temporary file to a new name in its partition directory, durably: the file
 * fsynced, renamed, the directory fsynced. Files of one batch are placed in parallel (libuv's
 * threads), since a fsync waits on the disk, not on the CPU.
 */
async function place(
  spec: Pick<LakeTableSpec, 'partitions'>,
  tableDir: string,
  tmp: string,
  id: string,
  values: Record<string, string>,
  stats: FileStats,
  now: () => number,
): Promise<WrittenFile> {
  await fsyncPath(tmp)
  const relDir = spec.partitions.map((p) => partitionSegment(p.name, values[p.name] ?? ''))
  const rel = [...relDir, `part-00000-${id}.c000.zstd.parquet`].join('/')
  const absolute = path.join(tableDir, rel)
  await mkdir(path.dirname(absolute), { recursive: true, mode: 0o700 })
  await rename(tmp, absolute)
  await fsyncPath(path.dirname(absolute))
  const { size } = await stat(absolute)
  return {
    absolute,
    add: {
      path: toActionPath(rel),
      partitionValues: Object.fromEntries(
        spec.partitions.map((p) => [p.name, values[p.name] ?? '']),
      ),
      size,
      modificationTime: now(),
      dataChange: true,
      stats: encodeStats(stats),
    },
  }
}

/**
 * COPYs what `select` returns into a new data file of the partition `values`; undefined when it
 * has no rows. The file is durable at its final name when this resolves (not yet committed).
 */
export async function writeDataFile(
  duck: Duck,
  spec: Pick<LakeTableSpec, 'columns' | 'partitions'>,
  tableDir: string,
  values: Record<string, string>,
  select: string,
  now: () => number,
): Promise<WrittenFile | undefined> {
  const id = randomUUID()
  const tmpDir = path.join(tableDir, '_tmp')
  await mkdir(tmpDir, { recursive: true, mode: 0o700 })
  const tmp = path.join(tmpDir, `${id}.parquet`)
  await duck.run(`CREATE OR REPLACE TEMP TABLE out_rows AS ${select}`)
  try {
    const [measured] = await measure(duck, spec.columns, 'out_rows')
    if (!measured || measured.stats.numRecords === 0) return undefined
    await duck.run(copyTo('SELECT * FROM out_rows', tmp))
    return await place(spec, tableDir, tmp, id, values, measured.stats, now)
  } finally {
    await duck.run('DROP TABLE IF EXISTS out_rows')
    await rm(tmp, { force: true })
  }
}

/**
 * Writes one data file per partition from a staged NDJSON file (pages of `LakeTableSpec.load`):
 * typed by the columns' casts, deduplicated by `unique`, date partitions taken from their
 * timestamps in UTC; statistics of every partition in one query, one COPY per partition, then
 * the files placed together.
 */
export async function writeStaged(
  duck: Duck,
  spec: LakeTableSpec,
  tableDir: string,
  stagedFile: string,
  now: () => number,
): Promise<WrittenFile[]> {
  const tmpDir = path.join(tableDir, '_tmp')
  await mkdir(tmpDir, { recursive: true, mode: 0o700 })
  const stagedColumns = [
    ...spec.partitions.filter((p) => !p.dateOf).map((p) => `${sqlIdent(p.name)}: 'VARCHAR'`),
    ...spec.columns.map((c) => `${sqlIdent(c.name)}: ${sqlString(c.staged ?? 'VARCHAR')}`),
  ].join(', ')
  const typed = [
    ...spec.partitions.map((p) =>
      p.dateOf
        ? `strftime(CAST(${sqlIdent(p.dateOf)} AS TIMESTAMPTZ), '%Y-%m-%d') AS ${sqlIdent(p.name)}`
        : sqlIdent(p.name),
    ),
    ...spec.columns.map((c) => `${castOf(c, sqlIdent(c.name))} AS ${sqlIdent(c.name)}`),
  ].join(', ')
  const dedup = spec.unique
    ? ` QUALIFY row_number() OVER (PARTITION BY ${spec.unique.map(sqlIdent).join(', ')}) = 1`
    : ''
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE staged_rows AS SELECT ${typed} FROM read_json(${sqlString(stagedFile)},
       format = 'newline_delimited', columns = {${stagedColumns}},
       maximum_object_size = 268435456)${dedup}`,
  )
  const written: Array<{
    tmp: string
    id: string
    values: Record<string, string>
    stats: FileStats
  }> = []
  try {
    const names = spec.partitions.map((p) => p.name)
    const groups = await measure(duck, spec.columns, 'staged_rows', names)
    const dataColumns = spec.columns.map((c) => sqlIdent(c.name)).join(', ')
    for (const { group: values, stats } of groups) {
      const where = names.map((n) => `${sqlIdent(n)} = ${sqlString(values[n] ?? '')}`).join(' AND ')
      const id = randomUUID()
      const tmp = path.join(tmpDir, `${id}.parquet`)
      written.push({ tmp, id, values, stats })
      await duck.run(copyTo(`SELECT ${dataColumns} FROM staged_rows WHERE ${where}`, tmp))
    }
    return await Promise.all(
      written.map((w) => place(spec, tableDir, w.tmp, w.id, w.values, w.stats, now)),
    )
  } finally {
    await duck.run('DROP TABLE IF EXISTS staged_rows')
    await Promise.all(written.map((w) => rm(w.tmp, { force: true })))
  }
}

/** `writeStaged` from row objects (tests, tools): staged values keyed by column name. */
export async function writeRows(
  duck: Duck,
  spec: LakeTableSpec,
  tableDir: string,
  rows: readonly Record<string, unknown>[],
  now: () => number,
): Promise<WrittenFile[]> {
  if (rows.length === 0) return []
  const tmpDir = path.join(tableDir, '_tmp')
  await mkdir(tmpDir, { recursive: true, mode: 0o700 })
  const staged = path.join(tmpDir, `${randomUUID()}.ndjson`)
  await writeFile(staged, rows.map((r) => JSON.stringify(r)).join('\n'), { mode: 0o600 })
  try {
    return await writeStaged(duck, spec, tableDir, staged, now)
  } finally {
    await rm(staged, { force: true })
  }
}

/**
 * A SELECT of the table's data columns over existing data files, in the table's current column
 * order and types: files written before a column was added (schema evolution) give NULL for it.
 */
export async function selectFromFiles(
  duck: Duck,
  columns: readonly LakeColumn[],
  files: readonly string[],
): Promise<string> {
  const source = `read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`
  const present = new Set(
    (await duck.all(`DESCRIBE SELECT * FROM ${source}`)).map((r) => String(r.column_name)),
  )
  const list = columns
    .map((c) =>
      present.has(c.name)
        ? `CAST(${sqlIdent(c.name)} AS ${c.duck}) AS ${sqlIdent(c.name)}`
        : `CAST(NULL AS ${c.duck}) AS ${sqlIdent(c.name)}`,
    )
    .join(', ')
  return `SELECT ${list} FROM ${source}`
}
