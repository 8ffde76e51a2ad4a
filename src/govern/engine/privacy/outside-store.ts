/**
 * @module engine/privacy/outside-store
 * The parts of a deletion that are not rows of the store's tables, run outside the step's
 * transaction (files are not transactional; each pass is idempotent, so a step interrupted by a
 * crash simply runs it again):
 *
 * - the event log's own storage (the embedded segment files: `EventLogWriter.erase`, ADR 0009);
 * - the imports' rejects files (`<data dir>/imports/<id>.rejects.jsonl`);
 * - a plain VACUUM of the tables the erasure touched, so their dead tuples are freed.
 */
import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from 'node:fs'
import type { Logger } from 'pino'
import type { CompiledIdentityRules } from '../../../unify/core/index.js'
import { identifierKey } from '../../../unify/core/index.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import type { EventLogWriter, LogErasureResult } from '../../../platform/stream/event-log.js'
import { concernsPerson, type ErasureSubject } from './erase.js'

/** Lower-case identifier values and profile ids (at least 3 characters) a residue is found by. */
export function erasureNeedles(subject: {
  identities?: { value: string }[]
  profileIds?: string[]
}): string[] {
  const values = [
    ...new Set([...(subject.identities ?? []).map((i) => i.value), ...(subject.profileIds ?? [])]),
  ]
  return values.filter((v) => v.length >= 3).map((v) => v.toLowerCase())
}

export interface OutsideStoreErasure {
  eventLog?: LogErasureResult
  rejectLines: number
}

/** Erases the person from the event log's files and the rejects files. */
export async function eraseOutsideStore(
  deps: { db: Queryable; eventLog?: EventLogWriter | undefined },
  subject: ErasureSubject,
  rules: CompiledIdentityRules,
): Promise<OutsideStoreErasure> {
  const needles = erasureNeedles(subject)
  const keys = new Set(subject.identities.map(identifierKey))
  const out: OutsideStoreErasure = { rejectLines: 0 }
  if (deps.eventLog?.erase && needles.length > 0) {
    out.eventLog = await deps.eventLog.erase({
      workspaceId: subject.workspaceId,
      needles,
      concerns: (event) => concernsPerson(event, keys, rules),
    })
  }
  out.rejectLines = await eraseRejectFiles(deps.db, subject.workspaceId, needles)
  return out
}

/**
 * Each line of the workspace's rejects files that mentions a needle is overwritten in place by a
 * line of the same length (`{"row":n,"erased":"privacy deletion"}` padded with spaces): the
 * import's byte count of the file (what the rejects route serves) and a running import's write
 * position stay right, and no other line is touched, so a crash mid-way loses nothing else.
 */
export async function eraseRejectFiles(
  db: Queryable,
  workspaceId: string,
  needles: string[],
): Promise<number> {
  if (needles.length === 0) return 0
  const r = await db.query<{ rejects_path: string }>(
    `SELECT rejects_path FROM imports WHERE workspace_id = $1 AND rejects_path IS NOT NULL`,
    [workspaceId],
  )
  let changed = 0
  for (const { rejects_path: file } of r.rows) {
    if (!existsSync(file)) continue
    const buf = readFileSync(file)
    const writes: { at: number; bytes: Buffer }[] = []
    let start = 0
    while (start < buf.length) {
      let nl = buf.indexOf(0x0a, start)
      if (nl === -1) nl = buf.length
      const line = buf.toString('utf8', start, nl).toLowerCase()
      if (needles.some((n) => line.includes(n))) {
        writes.push({ at: start, bytes: erasedLine(line, nl - start) })
      }
      start = nl + 1
    }
    if (writes.length === 0) continue
    const fd = openSync(file, 'r+')
    try {
      for (const w of writes) writeSync(fd, w.bytes, 0, w.bytes.length, w.at)
      fdatasyncSync(fd)
    } finally {
      closeSync(fd)
    }
    changed += writes.length
  }
  return changed
}

function erasedLine(line: string, length: number): Buffer {
  const row = /^\{"row":(\d+)/.exec(line)?.[1]
  const candidates = [
    `{"row":${row ?? 'null'},"erased":"privacy deletion"}`,
    '{"erased":true}',
    '{}',
  ]
  const out = Buffer.alloc(length, 0x20)
  const fit = candidates.find((c) => Buffer.byteLength(c) <= length)
  if (fit) out.write(fit)
  return out
}

/**
 * A plain VACUUM of each table (never FULL: no exclusive lock), one statement each, outside any
 * transaction. Best effort: a failure is logged and the deletion stands. It frees the dead tuples
 * the erasure left; it does not promise their bytes are overwritten on disk at once (see
 * docs/privacy.md).
 */
export async function vacuumTables(db: Db, tables: string[], logger: Logger): Promise<string[]> {
  const known = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [[...new Set(tables)]],
  )
  const done: string[] = []
  for (const { table_name: t } of known.rows) {
    try {
      await db.query(`VACUUM "${t.replace(/"/g, '""')}"`)
      done.push(t)
    } catch (err) {
      logger.warn({ err, table: t }, 'vacuum after a privacy deletion failed')
    }
  }
  if (done.length > 0) logger.info({ tables: done }, 'vacuumed after a privacy deletion')
  return done
}
