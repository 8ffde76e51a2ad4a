/**
 * @module engine/effects/file-executor
 * Writes `file` effects (file-export destination) under a base directory: CSV (csv-stringify),
 * JSONL, or Parquet (parquetjs-lite, every column an optional UTF8 string).
 * The path must stay inside the base directory; the file is written to a temporary name and
 * renamed, so readers never see half a file and a retry replaces it whole.
 * Exports hold personal data: files are created 0600 and directories 0700 (owner only).
 * CSV cells that a spreadsheet would run as a formula are neutralised (see `csvCell`).
 */
import { chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'
import { stringify } from 'csv-stringify/sync'
import parquet from 'parquetjs-lite'
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
      const schema = new parquet.ParquetSchema(
        Object.fromEntries(effect.columns.map((c) => [c, { type: 'UTF8', optional: true }])),
      )
      const writer = await parquet.ParquetWriter.openFile(schema, tmp)
      for (const row of effect.rows) {
        const out: Record<string, unknown> = {}
        for (const c of effect.columns) {
          const v = cell(row[c])
          if (v !== null) out[c] = v
        }
        await writer.appendRow(out)
      }
      await writer.close()
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

/** For tests and tools: read a Parquet file back as rows. */
export async function readParquetRows(path: string): Promise<Record<string, unknown>[]> {
  const reader = await parquet.ParquetReader.openFile(path)
  const cursor = reader.getCursor()
  const rows: Record<string, unknown>[] = []
  for (let r = await cursor.next(); r; r = await cursor.next()) rows.push(r)
  await reader.close()
  return rows
}
