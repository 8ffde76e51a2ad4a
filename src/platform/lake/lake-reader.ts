/**
 * @module platform/lake/lake-reader
 * Reading the lake from Kindred code (insights): the live files of a table, from its Delta log
 * (newest checkpoint, then the commits after it), and a DuckDB `read_parquet` expression over
 * them that brings back the partition columns with their types. Readers outside Kindred: see
 * docs/lake.md.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { openDeltaTable } from './delta-log.js'
import { LAKE_TABLES, type LakeTableName } from './lake-tables.js'
import { sqlString, type Duck } from './parquet-files.js'

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
