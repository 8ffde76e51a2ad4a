/**
 * `kindred import`: a CSV or JSONL file of profiles or events into a source.
 *
 * ```
 * kindred import --source <id> --kind profiles|events [--format csv|jsonl]
 *   [--mapping mapping.json] [--map col=target[:type] …] [--event "Order Completed"]
 *   [--rejects path] [--resume] [--data-dir ./.kindred] [--workspace default] [--url http://…] <file>
 * ```
 * Runs in-process against the store and event log (the embedded store must not be in use by a
 * server), or, with `--url` and `KINDRED_ADMIN_TOKEN`, uploads the file to a running server.
 * Re-running the same import resumes it where it stopped, or does nothing when it finished.
 *
 * `kindred import cancel <import id> [--url http://…] [--workspace default] [--data-dir …]` stops
 * an import (through the API with `--url`, else in the store) and marks it cancelled.
 * @module
 */
import { createReadStream, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { KindredError, isKindredError } from '../protocol/errors.js'
import { openStore } from '../platform/store/open-store.js'
import { createPostgresEventLog } from '../platform/stream/postgres-event-log.js'
import { openFileEventLog } from '../platform/stream/file-event-log.js'
import type { EventLogWriter } from '../platform/stream/event-log.js'
import {
  importFormats,
  importKinds,
  parseImportMapping,
  parseMapFlags,
  type ImportFormat,
  type ImportKind,
  type ImportMapping,
} from '../collect/core/import-mapping.js'
import {
  prepareImport,
  runImport,
  type ImportProgress,
} from '../collect/engine/imports/import-runner.js'
import { importsRepository } from '../collect/engine/imports/imports-repository.js'
import { formatProgressLine } from '../collect/core/import-progress.js'

export const IMPORT_USAGE =
  'kindred import --source <id> --kind profiles|events [--format csv|jsonl] ' +
  '[--mapping mapping.json] [--map col=target[:type] …] [--event name] [--rejects path] ' +
  '[--resume] [--data-dir ./.kindred] [--workspace default] [--url http://host:port] <file>'

export interface ImportCommandOptions {
  file: string
  sourceId: string
  kind: ImportKind
  format: ImportFormat
  mapping: ImportMapping
  rejectsPath: string
  /** Informational: a re-run of an unfinished import always resumes. */
  resume: boolean
  workspaceId: string
  dataDir: string
  databaseUrl: string | undefined
  /** Upload to this running server instead of opening the store. */
  url: string | undefined
  adminToken: string | undefined
  batchSize?: number
  /** `auto`: a bar on stderr when it is a TTY. */
  progress?: 'auto' | 'bar' | 'none'
}

export type ParsedImportArgs =
  { ok: true; options: ImportCommandOptions } | { ok: false; error: string }

export interface ImportSummary {
  importId: string
  status: string
  /** `already-imported`: the same file was imported the same way before; nothing was done. */
  outcome: 'imported' | 'resumed' | 'already-imported'
  rowsRead: number
  rowsAccepted: number
  rowsRejected: number
  rejectsPath: string | null
  seconds: number
  rowsPerSec: number
}

function formatFromName(file: string): ImportFormat | undefined {
  const ext = path.extname(file).toLowerCase()
  if (ext === '.csv') return 'csv'
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl'
  return undefined
}

export function parseImportArgs(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): ParsedImportArgs {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        source: { type: 'string' },
        kind: { type: 'string' },
        format: { type: 'string' },
        mapping: { type: 'string' },
        map: { type: 'string', multiple: true },
        event: { type: 'string' },
        rejects: { type: 'string' },
        resume: { type: 'boolean' },
        workspace: { type: 'string' },
        'data-dir': { type: 'string' },
        url: { type: 'string' },
        'batch-size': { type: 'string' },
        'no-progress': { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    return { ok: false, error: `${(err as Error).message}\nusage: ${IMPORT_USAGE}` }
  }
  const { values, positionals } = parsed
  const fail = (error: string): ParsedImportArgs => ({
    ok: false,
    error: `${error}\nusage: ${IMPORT_USAGE}`,
  })
  if (positionals.length !== 1) return fail('give exactly one file to import')
  const file = positionals[0] as string
  if (!values.source) return fail('--source <id> is required')
  const kind = values.kind as ImportKind | undefined
  if (!kind || !importKinds.includes(kind)) return fail('--kind must be profiles or events')
  const format = (values.format ?? formatFromName(file)) as ImportFormat | undefined
  if (!format || !importFormats.includes(format)) {
    return fail('--format must be csv or jsonl (or name the file .csv, .jsonl or .ndjson)')
  }
  let mappingInput: Record<string, unknown> = {}
  if (values.mapping !== undefined) {
    try {
      mappingInput = JSON.parse(readFileSync(values.mapping, 'utf8')) as Record<string, unknown>
    } catch (err) {
      return fail(`cannot read --mapping ${values.mapping}: ${(err as Error).message}`)
    }
  }
  const flags = parseMapFlags(values.map ?? [])
  if (!flags.ok) return fail(flags.message)
  const mapping = parseImportMapping({
    ...mappingInput,
    columns: {
      ...((mappingInput.columns as Record<string, unknown> | undefined) ?? {}),
      ...flags.value,
    },
    ...(values.event === undefined ? {} : { event: values.event }),
  })
  if (!mapping.ok) return fail(mapping.message)
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size'])
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) {
    return fail('--batch-size must be a positive integer')
  }
  const base = file.replace(/\.(csv|jsonl|ndjson)$/i, '')
  return {
    ok: true,
    options: {
      file,
      sourceId: values.source,
      kind,
      format,
      mapping: mapping.value,
      rejectsPath: values.rejects ?? `${base}.rejects.jsonl`,
      resume: values.resume ?? false,
      workspaceId: values.workspace ?? 'default',
      dataDir: values['data-dir'] ?? env.KINDRED_DATA_DIR ?? '.kindred',
      databaseUrl: env.DATABASE_URL || undefined,
      url: values.url,
      adminToken: env.KINDRED_ADMIN_TOKEN || undefined,
      ...(batchSize === undefined ? {} : { batchSize }),
      progress: values['no-progress'] ? 'none' : 'auto',
    },
  }
}

export interface ImportCommandIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream & { isTTY?: boolean }
}

function progressReporter(o: ImportCommandOptions, io: ImportCommandIo) {
  const show = o.progress === 'bar' || (o.progress !== 'none' && io.stderr.isTTY === true)
  const started = Date.now()
  let last = 0
  return {
    update(p: ImportProgress) {
      if (!show) return
      const now = Date.now()
      if (now - last < 100) return
      last = now
      io.stderr.write(`\r${formatProgressLine(p, now - started)}\x1b[K`)
    },
    done() {
      if (show) io.stderr.write('\n')
    },
  }
}

function printSummary(s: ImportSummary, io: ImportCommandIo): void {
  const lines =
    s.outcome === 'already-imported'
      ? `already imported (import ${s.importId}, ${s.rowsAccepted} rows accepted): nothing to do\n`
      : `${s.outcome} ${s.importId}: ${s.status}, ${s.rowsRead} rows read, ${s.rowsAccepted} accepted, ` +
        `${s.rowsRejected} rejected in ${s.seconds.toFixed(1)} s (${Math.round(s.rowsPerSec)} rows/s)` +
        (s.rowsRejected > 0 && s.rejectsPath ? `\n  rejected rows: ${s.rejectsPath}` : '') +
        '\n'
  io.stdout.write(lines)
}

/** Runs the import; prints a summary on stdout and returns it. */
export async function runImportCommand(
  o: ImportCommandOptions,
  io: ImportCommandIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<ImportSummary> {
  statSync(o.file)
  const summary = o.url ? await uploadToServer(o, io) : await importLocally(o, io)
  printSummary(summary, io)
  return summary
}

async function importLocally(o: ImportCommandOptions, io: ImportCommandIo): Promise<ImportSummary> {
  const dataDir = path.resolve(o.dataDir)
  let store
  try {
    store = await openStore({ databaseUrl: o.databaseUrl, dataDir })
  } catch (err) {
    if (isKindredError(err) && err.code === 'DATA_DIR_LOCKED') {
      throw new KindredError(
        'DATA_DIR_LOCKED',
        `${err.message}. A running Kindred server owns the embedded store: import through it ` +
          'with --url http://localhost:8787 and KINDRED_ADMIN_TOKEN set, or stop the server first.',
      )
    }
    throw err
  }
  let eventLog: EventLogWriter | undefined
  try {
    eventLog = o.databaseUrl
      ? createPostgresEventLog(store.db)
      : await openFileEventLog(path.join(dataDir, 'event-log'))
    const clock = () => new Date()
    const prepared = await prepareImport({
      db: store.db,
      workspaceId: o.workspaceId,
      sourceId: o.sourceId,
      kind: o.kind,
      format: o.format,
      mapping: o.mapping,
      filePath: o.file,
      rejectsPath: o.rejectsPath,
      clock,
    })
    const r0 = prepared.record
    if (prepared.previous === 'completed') {
      return {
        importId: r0.id,
        status: r0.status,
        outcome: 'already-imported',
        rowsRead: r0.rowsRead,
        rowsAccepted: r0.rowsAccepted,
        rowsRejected: r0.rowsRejected,
        rejectsPath: r0.rejectsPath,
        seconds: 0,
        rowsPerSec: 0,
      }
    }
    if (prepared.previous === 'resumable') {
      io.stderr.write(`resuming import ${r0.id} after row ${r0.checkpointRow}\n`)
    }
    const started = Date.now()
    const reporter = progressReporter(o, io)
    const final = await runImport({
      db: store.db,
      eventLog,
      record: r0,
      filePath: o.file,
      clock,
      onProgress: (p) => reporter.update(p),
      ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
    }).finally(() => reporter.done())
    const seconds = (Date.now() - started) / 1000
    return {
      importId: final.id,
      status: final.status,
      outcome: prepared.previous === 'resumable' ? 'resumed' : 'imported',
      rowsRead: final.rowsRead,
      rowsAccepted: final.rowsAccepted,
      rowsRejected: final.rowsRejected,
      rejectsPath: final.rejectsPath,
      seconds,
      rowsPerSec: (final.rowsRead - r0.checkpointRow) / Math.max(seconds, 0.001),
    }
  } finally {
    await eventLog?.close()
    await store.close()
  }
}

interface ImportView {
  id: string
  status: string
  counts: { read: number; accepted: number; rejected: number }
  progress: { bytesRead: number }
  fileSize: number | null
  error: string | null
}

/** Two-step upload to a running server, then polls the import until it ends. */
async function uploadToServer(
  o: ImportCommandOptions,
  io: ImportCommandIo,
): Promise<ImportSummary> {
  if (!o.adminToken) {
    throw new KindredError('UNAUTHORIZED', 'set KINDRED_ADMIN_TOKEN to import through --url')
  }
  const base = (o.url as string).replace(/\/$/, '')
  const headers = {
    authorization: `Bearer ${o.adminToken}`,
    'x-kindred-workspace': o.workspaceId,
  }
  const call = async (pathname: string, init: RequestInit = {}): Promise<ImportView> => {
    const res = await fetch(`${base}${pathname}`, {
      ...init,
      headers: { ...headers, ...init.headers },
    })
    const text = await res.text()
    if (!res.ok)
      throw new KindredError(
        'INTERNAL',
        `${init.method ?? 'GET'} ${pathname}: ${res.status} ${text}`,
      )
    return JSON.parse(text) as ImportView
  }
  const started = Date.now()
  const created = await call('/api/v1/imports', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      sourceId: o.sourceId,
      kind: o.kind,
      format: o.format,
      mapping: o.mapping,
      fileName: path.basename(o.file),
    }),
  })
  await call(`/api/v1/imports/${created.id}/file`, {
    method: 'PUT',
    headers: { 'content-type': o.format === 'csv' ? 'text/csv' : 'application/x-ndjson' },
    body: Readable.toWeb(createReadStream(o.file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit)
  const reporter = progressReporter(o, io)
  let view: ImportView
  for (;;) {
    view = await call(`/api/v1/imports/${created.id}`)
    reporter.update({
      rowsRead: view.counts.read,
      rowsAccepted: view.counts.accepted,
      rowsRejected: view.counts.rejected,
      bytesRead: view.progress.bytesRead,
      fileSize: view.fileSize,
      resumedFrom: 0,
    })
    if (view.status === 'completed' || view.status === 'failed' || view.status === 'cancelled')
      break
    await new Promise((r) => setTimeout(r, 500))
  }
  reporter.done()
  if (view.status === 'failed') throw new KindredError('INTERNAL', `import failed: ${view.error}`)
  if (view.status === 'cancelled')
    throw new KindredError('CONFLICT', `import ${view.id} was cancelled`)
  const seconds = (Date.now() - started) / 1000
  return {
    importId: view.id,
    status: view.status,
    outcome: 'imported',
    rowsRead: view.counts.read,
    rowsAccepted: view.counts.accepted,
    rowsRejected: view.counts.rejected,
    rejectsPath: `${base}/api/v1/imports/${view.id}/rejects`,
    seconds,
    rowsPerSec: view.counts.read / Math.max(seconds, 0.001),
  }
}

export const IMPORT_CANCEL_USAGE =
  'kindred import cancel <import id> [--url http://host:port] [--workspace default] [--data-dir ./.kindred]'

export interface ImportCancelOptions {
  importId: string
  workspaceId: string
  dataDir: string
  databaseUrl: string | undefined
  url: string | undefined
  adminToken: string | undefined
}

export type ParsedImportCancelArgs =
  { ok: true; options: ImportCancelOptions } | { ok: false; error: string }

/** Arguments after `kindred import cancel`. */
export function parseImportCancelArgs(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): ParsedImportCancelArgs {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        workspace: { type: 'string' },
        'data-dir': { type: 'string' },
        url: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    return { ok: false, error: `${(err as Error).message}\nusage: ${IMPORT_CANCEL_USAGE}` }
  }
  const { values, positionals } = parsed
  if (positionals.length !== 1) {
    return { ok: false, error: `give exactly one import id\nusage: ${IMPORT_CANCEL_USAGE}` }
  }
  return {
    ok: true,
    options: {
      importId: positionals[0] as string,
      workspaceId: values.workspace ?? 'default',
      dataDir: values['data-dir'] ?? env.KINDRED_DATA_DIR ?? '.kindred',
      databaseUrl: env.DATABASE_URL || undefined,
      url: values.url,
      adminToken: env.KINDRED_ADMIN_TOKEN || undefined,
    },
  }
}

/**
 * Cancels an import: through a running server's API with `--url` (it stops the run at once), or
 * in the store (a run in another process notices at its next checkpoint).
 */
export async function runImportCancel(
  o: ImportCancelOptions,
  io: Pick<ImportCommandIo, 'stdout'> = { stdout: process.stdout },
): Promise<{ importId: string; status: string }> {
  let status: string
  if (o.url) {
    if (!o.adminToken) {
      throw new KindredError('UNAUTHORIZED', 'set KINDRED_ADMIN_TOKEN to cancel through --url')
    }
    const res = await fetch(
      `${o.url.replace(/\/$/, '')}/api/v1/imports/${encodeURIComponent(o.importId)}/cancel`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${o.adminToken}`, 'x-kindred-workspace': o.workspaceId },
      },
    )
    const text = await res.text()
    if (!res.ok) {
      const body = JSON.parse(text) as { error?: { code?: string; message?: string } }
      const code = res.status === 404 ? 'NOT_FOUND' : res.status === 409 ? 'CONFLICT' : 'INTERNAL'
      throw new KindredError(code, body.error?.message ?? `${res.status} ${text}`)
    }
    status = (JSON.parse(text) as { status: string }).status
  } else {
    const store = await openStore({ databaseUrl: o.databaseUrl, dataDir: path.resolve(o.dataDir) })
    try {
      const db = store.db
      const cancelled = await importsRepository.cancel(db, o.workspaceId, o.importId, new Date())
      if (!cancelled) {
        const r = await importsRepository.get(db, o.workspaceId, o.importId)
        if (!r) throw new KindredError('NOT_FOUND', `import ${o.importId} not found`)
        throw new KindredError('CONFLICT', `import ${o.importId} is already ${r.status}`)
      }
      status = cancelled.status
    } finally {
      await store.close()
    }
  }
  io.stdout.write(`import ${o.importId}: ${status}\n`)
  return { importId: o.importId, status }
}
