/**
 * Runs an import: streams the file's rows, maps each to a Segment event (identify for profiles,
 * track for events), validates it like a live event, appends accepted events to the event log in
 * batches and checkpoints the import record after each durable batch. Rejected rows go to the
 * rejects file (JSONL: row, raw, errors) and a sample to the record.
 *
 * Idempotence: messageId = hash(import key, row number) where the import key hashes the source,
 * kind, format, mapping and file content; timestamps come from the row or the import's fixed
 * time. Re-importing the same file yields the same events, which the processor stores once.
 * Resume: rows up to the checkpoint are skipped and the rejects file is cut back to its size at
 * the checkpoint; rows appended after the checkpoint before a crash are appended again, harmlessly.
 * @module
 */
import { createHash } from 'node:crypto'
import {
  createReadStream,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  closeSync,
} from 'node:fs'
import { ftruncateSync, statSync, writeSync } from 'node:fs'
import path from 'node:path'
import { KindredError, isKindredError, type FieldIssue } from '../../../protocol/errors.js'
import { importRowMessageId } from '../../../protocol/ids.js'
import type { Db } from '../../../platform/store/db.js'
import { newId } from '../../../platform/store/ids.js'
import { sourcesRepository } from '../../../platform/store/repositories/sources-repository.js'
import type { EventLogWriter } from '../../../platform/stream/event-log.js'
import {
  createRowMapper,
  type ImportFormat,
  type ImportKind,
  type ImportMapping,
} from '../../core/import-mapping.js'
import { importsRepository, type ImportRecord, type RejectSample } from './imports-repository.js'
import { readRows } from './row-reader.js'
import { rowEventChecker } from './row-events.js'
import type { KindredEvent } from '../../../protocol/event-schema.js'

/** Rejected rows kept on the import record (the rejects file has them all). */
export const ERROR_SAMPLE_SIZE = 100

export async function hashFile(file: string): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { hash: hash.digest('hex'), size }
}

/** Same source, kind, format, mapping and bytes → same key → same messageIds. */
export function importKeyFor(k: {
  workspaceId: string
  sourceId: string
  kind: ImportKind
  format: ImportFormat
  mapping: ImportMapping
  fileHash: string
}): string {
  return createHash('sha256')
    .update(JSON.stringify([k.workspaceId, k.sourceId, k.kind, k.format, k.mapping, k.fileHash]))
    .digest('hex')
}

/** Unique per (import key, row) and the same on every run (the contract is in protocol/ids). */
export const messageIdFor = importRowMessageId

export function newImportId(): string {
  return `imp_${newId('source').slice(4)}`
}

export interface PrepareImportOptions {
  db: Db
  workspaceId: string
  sourceId: string
  kind: ImportKind
  format: ImportFormat
  mapping: ImportMapping
  filePath: string
  rejectsPath: string
  clock: () => Date
}

export interface PreparedImport {
  record: ImportRecord
  /** An earlier run of the same import exists: `completed` (nothing to do) or to resume. */
  previous: 'none' | 'completed' | 'resumable'
}

/** Hashes the file and finds the earlier run of the same import, or creates the record. */
export async function prepareImport(o: PrepareImportOptions): Promise<PreparedImport> {
  const source = await sourcesRepository.get(o.db, o.workspaceId, o.sourceId)
  if (!source) {
    throw new KindredError(
      'NOT_FOUND',
      `source ${o.sourceId} not found in workspace ${o.workspaceId}`,
    )
  }
  const { hash, size } = await hashFile(o.filePath)
  const importKey = importKeyFor({ ...o, fileHash: hash })
  const existing = await importsRepository.findByKey(o.db, o.workspaceId, importKey)
  if (existing) {
    if (existing.status === 'completed') return { record: existing, previous: 'completed' }
    // Running the same file again is the way to retry a failed, parked or cancelled import.
    const reopened = await importsRepository.reopen(o.db, o.workspaceId, existing.id, o.clock())
    return { record: reopened ?? existing, previous: 'resumable' }
  }
  const record = await importsRepository.insert(o.db, {
    workspaceId: o.workspaceId,
    id: newImportId(),
    sourceId: o.sourceId,
    kind: o.kind,
    format: o.format,
    mapping: o.mapping,
    importKey,
    fileName: path.basename(o.filePath),
    fileHash: hash,
    fileSize: size,
    rejectsPath: path.resolve(o.rejectsPath),
    status: 'running',
    now: o.clock(),
  })
  return { record, previous: 'none' }
}

import type { ImportProgress } from '../../core/import-progress.js'
export type { ImportProgress }

export interface RunImportOptions {
  db: Db
  eventLog: EventLogWriter
  record: ImportRecord
  filePath: string
  clock: () => Date
  /** Rows per event-log append and checkpoint (default 500). */
  batchSize?: number
  onProgress?: (p: ImportProgress) => void
  /** Stops after the current batch, leaving the import `running` with its checkpoint (resumable). */
  signal?: AbortSignal
  /**
   * The import was cancelled (its record already says so): stops after the current row and
   * leaves the record as the cancel left it. A cancel from another node is noticed at the next
   * checkpoint, whose conditional update finds the import no longer running.
   */
  cancelSignal?: AbortSignal
  /** Waits between retries when the event log is overloaded (default 200 ms). */
  overloadedDelayMs?: number
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function appendWithRetry(
  log: EventLogWriter,
  entry: Parameters<EventLogWriter['append']>[0],
  delayMs: number,
  stopping: () => boolean,
): Promise<void> {
  for (;;) {
    try {
      await log.append(entry)
      return
    } catch (err) {
      // A stop or cancel must not wait for an overloaded log to drain.
      if (isKindredError(err) && err.code === 'OVERLOADED' && !stopping()) {
        await sleep(delayMs)
        continue
      }
      throw err
    }
  }
}

/** Runs (or resumes) an import to the end; returns the final record. */
export async function runImport(o: RunImportOptions): Promise<ImportRecord> {
  const { db, record } = o
  const batchSize = o.batchSize ?? 500
  const importKey = record.importKey
  const rejectsPath = record.rejectsPath
  if (importKey === null || rejectsPath === null) {
    throw new KindredError('CONFLICT', `import ${record.id} has no file yet: upload it first`)
  }
  // Cancelled (or finished) before this run began: nothing to do.
  if (!(await importsRepository.isRunning(db, record.workspaceId, record.id))) {
    return (await importsRepository.get(db, record.workspaceId, record.id)) as ImportRecord
  }
  let cancelledElsewhere = false
  const cancelled = () => cancelledElsewhere || o.cancelSignal?.aborted === true
  const stopping = () => cancelled() || o.signal?.aborted === true
  const receivedAt = new Date(record.importTime)
  // Size, normalisation, PII protection (ADR 0003) and the identity check, shared with syncs.
  const checker = await rowEventChecker(db, record.workspaceId, record.sourceId, receivedAt)
  const mapper = createRowMapper(record.mapping, {
    kind: record.kind,
    defaultTimestamp: record.importTime,
  })

  // Rejects file: cut back to its size at the checkpoint, so a resumed run does not repeat rows.
  mkdirSync(path.dirname(rejectsPath), { recursive: true })
  const rejectsFd = openSync(rejectsPath, existsSync(rejectsPath) ? 'r+' : 'w+')
  const resumedFrom = record.checkpointRow
  let rejectsBytes =
    resumedFrom === 0 ? 0 : Math.min(record.rejectsBytes, statSync(rejectsPath).size)
  ftruncateSync(rejectsFd, rejectsBytes)

  const state = {
    rowsRead: resumedFrom === 0 ? 0 : record.rowsRead,
    rowsAccepted: resumedFrom === 0 ? 0 : record.rowsAccepted,
    rowsRejected: resumedFrom === 0 ? 0 : record.rowsRejected,
    bytesRead: 0,
  }
  const errors: RejectSample[] = resumedFrom === 0 ? [] : [...record.errors]
  let events: KindredEvent[] = []
  let rejectLines: string[] = []
  let rowsInBatch = 0
  let lastRow = resumedFrom

  const reject = (row: number, raw: unknown, issues: FieldIssue[]) => {
    state.rowsRejected++
    rejectLines.push(`${JSON.stringify({ row, raw, errors: issues })}\n`)
    if (errors.length < ERROR_SAMPLE_SIZE) errors.push({ row, errors: issues })
  }

  const flush = async (batch: {
    events: KindredEvent[]
    rejects: string[]
    checkpointRow: number
    snapshot: typeof state
    errors: RejectSample[]
  }) => {
    if (batch.events.length > 0) {
      await appendWithRetry(
        o.eventLog,
        {
          workspaceId: record.workspaceId,
          sourceId: record.sourceId,
          receivedAt: receivedAt.toISOString(),
          events: batch.events,
        },
        o.overloadedDelayMs ?? 200,
        stopping,
      )
    }
    if (batch.rejects.length > 0) {
      const buf = Buffer.from(batch.rejects.join(''))
      writeSync(rejectsFd, buf, 0, buf.length, rejectsBytes)
      rejectsBytes += buf.length
      fdatasyncSync(rejectsFd)
    }
    const stillRunning = await importsRepository.checkpoint(
      db,
      record.workspaceId,
      record.id,
      { ...batch.snapshot, checkpointRow: batch.checkpointRow, rejectsBytes, errors: batch.errors },
      o.clock(),
    )
    if (!stillRunning) cancelledElsewhere = true
    o.onProgress?.({ ...batch.snapshot, fileSize: record.fileSize, resumedFrom })
  }

  // One batch in flight while the next is parsed: the append's promise is the back-pressure.
  let inFlight: Promise<void> = Promise.resolve()
  const startFlush = async () => {
    const batch = {
      events,
      rejects: rejectLines,
      checkpointRow: lastRow,
      snapshot: { ...state },
      errors: [...errors],
    }
    events = []
    rejectLines = []
    rowsInBatch = 0
    await inFlight
    inFlight = flush(batch)
    inFlight.catch(() => undefined)
  }

  try {
    for await (const r of readRows(o.filePath, {
      format: record.format,
      afterRow: resumedFrom,
      onBytes: (b) => (state.bytesRead = b),
    })) {
      state.rowsRead++
      lastRow = r.row
      rowsInBatch++
      if ('error' in r) {
        reject(r.row, r.raw, [{ path: '', code: 'unreadable_row', message: r.error }])
      } else {
        const mapped = mapper(r.values)
        if (!mapped.ok) reject(r.row, r.values, mapped.issues)
        else {
          const checked = checker.check(mapped.event, messageIdFor(importKey, r.row))
          if (checked.ok) {
            state.rowsAccepted++
            events.push(checked.event)
          } else reject(r.row, r.values, checked.issues)
        }
      }
      if (stopping()) break
      if (rowsInBatch >= batchSize) await startFlush()
      if (stopping()) break
    }
    // A cancelled import appends nothing more; a stopped one keeps what it read, at a checkpoint.
    if (!cancelled()) await startFlush()
    await inFlight
    if (o.signal?.aborted && !cancelled()) {
      // A clean stop at a checkpoint is no sign that the import itself brings the process down.
      await importsRepository.clearResumeAttempts(db, record.workspaceId, record.id)
    } else if (!stopping()) {
      await importsRepository.finish(
        db,
        record.workspaceId,
        record.id,
        'completed',
        null,
        o.clock(),
      )
    }
  } catch (err) {
    await inFlight.catch(() => undefined)
    // Stopped by the server closing: leave it `running` at its checkpoint, resumed on next start.
    if (o.signal?.aborted && !cancelled()) throw err
    // Cancelled: the record already says so, and an error on the way out is no failure.
    if (cancelled()) {
      return (await importsRepository.get(db, record.workspaceId, record.id)) as ImportRecord
    }
    const message = err instanceof Error ? err.message : String(err)
    await importsRepository
      .finish(db, record.workspaceId, record.id, 'failed', message, o.clock())
      .catch(() => undefined)
    throw err
  } finally {
    closeSync(rejectsFd)
  }
  const final = await importsRepository.get(db, record.workspaceId, record.id)
  return final as ImportRecord
}
