/**
 * Imports run by the server in the background (after an upload, or resumed on start): each with
 * its own cancel switch, and the uploaded file removed once the import is over, whatever the
 * outcome. Only a run stopped by the server closing keeps its file, to resume from it.
 * @module
 */
import { rmSync } from 'node:fs'
import path from 'node:path'
import type { Logger } from 'pino'
import type { Db } from '../../../platform/store/db.js'
import type { EventLogWriter } from '../../../platform/stream/event-log.js'
import { runImport } from './import-runner.js'
import { finishedStatuses, importsRepository, type ImportRecord } from './imports-repository.js'

/** Resumes on start before an import is parked: one crash can be bad luck, a pattern is not. */
export const MAX_RESUME_ATTEMPTS = 3

export interface RunningImport {
  done: Promise<void>
  /** Aborted by a cancel: the run stops after its current row. */
  cancel: AbortController
}

export interface BackgroundRunDeps {
  db: Db
  eventLog: EventLogWriter
  clock: () => Date
  logger: Logger
  /** Uploaded files and rejects files live here. */
  workDir: string
  /** Background runs of this node, so that stop and cancel can reach them. */
  running: Map<string, RunningImport>
  /** Aborted when the server closes: runs stop at a checkpoint and resume on the next start. */
  signal: AbortSignal
}

/** Where an upload is kept: named by the server, never by the client's file name. */
export function uploadPath(workDir: string, record: Pick<ImportRecord, 'id' | 'format'>): string {
  return path.join(workDir, `${record.id}.${record.format}`)
}

/** Removes the uploaded file of an import that is over; the rejects file stays. */
async function removeUploadIfOver(deps: BackgroundRunDeps, record: ImportRecord, file: string) {
  const now = await importsRepository.get(deps.db, record.workspaceId, record.id)
  if (now === undefined || finishedStatuses.has(now.status)) rmSync(file, { force: true })
}

export function startBackgroundRun(
  deps: BackgroundRunDeps,
  record: ImportRecord,
  filePath: string,
): RunningImport {
  const cancel = new AbortController()
  const done = runImport({
    db: deps.db,
    eventLog: deps.eventLog,
    record,
    filePath,
    clock: deps.clock,
    signal: deps.signal,
    cancelSignal: cancel.signal,
  })
    .then(() => undefined)
    .catch((err: unknown) => deps.logger.error({ err, importId: record.id }, 'import failed'))
    .then(() => removeUploadIfOver(deps, record, filePath))
    .catch((err: unknown) =>
      deps.logger.error({ err, importId: record.id }, 'could not remove the uploaded file'),
    )
    .finally(() => deps.running.delete(record.id))
  const run = { done, cancel }
  deps.running.set(record.id, run)
  return run
}

/**
 * On start: resumes imports left running by this node (their uploaded file is here), or parks
 * those already resumed `MAX_RESUME_ATTEMPTS` times without stopping cleanly.
 */
export async function resumeInterrupted(
  deps: BackgroundRunDeps,
  existsFile: (file: string) => boolean,
): Promise<void> {
  for (const record of await importsRepository.listRunning(deps.db)) {
    const filePath = uploadPath(deps.workDir, record)
    // No file here: another node's import (each node has its own work dir), not ours to touch.
    if (deps.running.has(record.id) || !existsFile(filePath)) continue
    const attempt = await importsRepository.beginResume(
      deps.db,
      record.workspaceId,
      record.id,
      MAX_RESUME_ATTEMPTS,
      deps.clock(),
    )
    if (!attempt.resumed) {
      if (attempt.reason !== null) {
        deps.logger.warn({ importId: record.id, reason: attempt.reason }, 'import parked')
        rmSync(filePath, { force: true })
      }
      continue
    }
    deps.logger.info(
      { importId: record.id, attempt: attempt.record.resumeAttempts },
      'resuming interrupted import',
    )
    startBackgroundRun(deps, attempt.record, filePath)
  }
}
