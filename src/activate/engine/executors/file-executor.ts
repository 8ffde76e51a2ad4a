/**
 * @module engine/effects/file-executor
 * Writes `file` effects (file-export destination) under a base directory: CSV (csv-stringify),
 * JSONL, or Parquet (DuckDB's `@duckdb/node-api`, every column an optional VARCHAR; DuckDB is the
 * engine the lake and insights read Parquet with, so an export is readable by the same code).
 * The path must stay inside the base directory; the file is written to a temporary name and
 * renamed, so readers never see half a file and a retry replaces it whole.
 * Exports hold personal data: files are created 0600 and directories 0700 (owner only).
 * CSV cells that a spreadsheet would run as a formula are neutralised (see `csvCell`).
 */
import { chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { stringify } from 'csv-stringify/sync'
import { RelativePathSchema, type FileEffect } from '../../core/contract.js'
import { isSafeExportDirectory } from '../../core/file-export/manifest.js'

export type FileExecution =
  | { ok: true; path: string; bytes: number; rowCount: number; latencyMs: number }
  | { ok: false; error: { code: string; message: string; retryable: boolean }; latencyMs: number }

/** A cell as text: strings as they are, null/undefined empty, everything else JSON. */
function cell(v: unknown): string | null {
  if (v === undefined || v === null) return null
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/**
 * A CSV cell a spreadsheet shows as text: a value starting with `=`, `+`, `-`, `@`, tab or
 * carriage return is a formula to Excel, LibreOffice and Sheets (`=HYPERLINK(…)` leaks other
 * cells, `=cmd|…` runs commands), so it gets a leading `'` (OWASP CSV injection guidance).
 * Profile traits come from anyone who can send an event, and the file is opened by staff.
 */
export function csvCell(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
}

const FILE_MODE = 0o600
const DIR_MODE = 0o700

/**
 * The directory a file-export destination writes into: its `directory` setting inside the
 * operator's export root, or null when the setting is absolute or climbs out (`..`). Checked at
 * send time as well as at save, for rows stored before the rule existed.
 */
export function resolveExportDir(root: string, directory: string): string | null {
  if (!isSafeExportDirectory(directory)) return null
  const base = resolve(root)
  const dir = resolve(base, directory)
  return dir === base || dir.startsWith(base + sep) ? dir : null
}

/**
 * Write one file effect. `root` is the export root; `directory` (default: the root itself) is the
 * destination's sub-directory, relative to it.
 */
export async function executeFile(
  effect: FileEffect,
  root: string,
  directory = '.',
): Promise<FileExecution> {
  const started = performance.now()
  const unsafe = (message: string): FileExecution => ({
    ok: false,
    error: { code: 'UNSAFE_PATH', message, retryable: false },
    latencyMs: performance.now() - started,
  })
  const base = resolveExportDir(root, directory)
  if (base === null) {
    return unsafe(
      `refusing to write outside the export root ${resolve(root)}: directory "${directory}" must be relative, without ".."`,
    )
  }
  const target = resolve(base, effect.path)
  if (!RelativePathSchema.safeParse(effect.path).success || !target.startsWith(base + sep)) {
    return unsafe(`refusing to write outside ${base}: ${effect.path}`)
  }
  const tmp = `${target}.tmp-${process.pid}`
  try {
    await mkdir(dirname(target), { recursive: true, mode: DIR_MODE })
    if (effect.format === 'parquet') {
      await writeParquet(effect, dirname(target), tmp)
    } else if (effect.format === 'csv') {
      const records = effect.rows.map((r) => effect.columns.map((c) => csvCell(cell(r[c]) ?? '')))
      await writeFile(tmp, stringify(records, { header: true, columns: effect.columns }), {
        mode: FILE_MODE,
      })
    } else {
      const lines = effect.rows.map((r) =>
        JSON.stringify(Object.fromEntries(effect.columns.map((c) => [c, r[c] ?? null]))),
      )
      await writeFile(tmp, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: FILE_MODE })
    }
    await chmod(tmp, FILE_MODE)
    await rename(tmp, target)
    const { size } = await stat(target)
    return {
      ok: true,
      path: target,
      bytes: size,
      rowCount: effect.rows.length,
      latencyMs: performance.now() - started,
    }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined)
    const code = (err as { code?: string }).code ?? 'WRITE_FAILED'
    return {
      ok: false,
      // Out of space or a busy/unavailable mount may clear up; permissions and bad paths do not.
      error: {
        code,
        message: `${code}: ${(err as Error).message}`,
        retryable: ['ENOSPC', 'EAGAIN', 'EBUSY', 'EIO', 'EMFILE', 'ENFILE'].includes(code),
      },
      latencyMs: performance.now() - started,
    }
  }
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`
const sqlIdent = (s: string) => `"${s.replaceAll('"', '""')}"`

/**
 * One in-memory DuckDB per file, on one thread (the machine's other core serves ingest). The
 * table's columns are c0…cn and get their names only in the COPY, so any column name works.
 * DuckDB names are case-insensitive: a second column spelt like the first but for case is written
 * with a `_1` suffix. DuckDB creates the file itself, with the process umask, so it writes inside
 * a fresh 0700 directory and the file is moved into place once it is 0600.
 */
async function writeParquet(effect: FileEffect, parent: string, tmp: string): Promise<void> {
  const work = await mkdtemp(join(parent, '.parquet-'))
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  try {
    const db = await instance.connect()
    try {
      const cols = effect.columns.map((_, i) => `c${i}`)
      await db.run(`CREATE TABLE t (${cols.map((c) => `${c} VARCHAR`).join(', ')})`)
      const appender = await db.createAppender('t')
      for (const row of effect.rows) {
        for (const c of effect.columns) {
          const v = cell(row[c])
          if (v === null) appender.appendNull()
          else appender.appendVarchar(v)
        }
        appender.endRow()
      }
      appender.closeSync()
      const out = join(work, 'export.parquet')
      const select = effect.columns.map((c, i) => `c${i} AS ${sqlIdent(c)}`).join(', ')
      await db.run(`COPY (SELECT ${select} FROM t) TO ${sqlString(out)} (FORMAT parquet)`)
      await chmod(out, FILE_MODE)
      await rename(out, tmp)
    } finally {
      db.closeSync()
    }
  } finally {
    instance.closeSync()
    await rm(work, { recursive: true, force: true })
  }
}

/** For tests and tools: read a Parquet file back as rows (SQL NULL as null). */
export async function readParquetRows(path: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' })
  try {
    const db = await instance.connect()
    try {
      const result = await db.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(path)})`)
      return result.getRowObjectsJS()
    } finally {
      db.closeSync()
    }
  } finally {
    instance.closeSync()
  }
}
