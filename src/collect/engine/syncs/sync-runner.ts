/**
 * One attempt of a sync run: read the model's rows in key order from the source (read-only,
 * streamed), compare each with the snapshot Kindred keeps (`sync_rows`), decide per the sync
 * mode, map and check the rows to send exactly as file imports do (`../imports/row-events.ts`),
 * append them to the event log, then commit the batch's snapshot, rejects and checkpoint in one
 * store transaction. After a full scan, rows the scan did not see are gone: mirror models undo
 * what those rows set.
 *
 * Never twice: an event's messageId is a hash of (model, row key, row version), and the version
 * moves only when the snapshot commits. A crash between the append and the commit re-reads the
 * batch after the checkpoint, builds the same messageIds, and the processor stores each once.
 * A row that changes back to an earlier value has a new version, so it is sent again.
 * @module
 */
import { isKindredError, type FieldIssue } from '../../../protocol/errors.js'
import type { KindredEvent } from '../../../protocol/event-schema.js'
import type { OutboundPolicy } from '../../../protocol/outbound-policy.js'
import type { Db } from '../../../platform/store/db.js'
import type { EventLogWriter } from '../../../platform/stream/event-log.js'
import { profilesOfIdentifiers, traitSurvivorSources } from '../../../unify/index.js'
import {
  createSyncRowMapper,
  decideRow,
  exactValue,
  maxCursor,
  modelColumns,
  modelFingerprint,
  readQuery,
  rowChecksum,
  syncMessageId,
  tombstoneEvent,
  type SyncModel,
  type SyncRowResult,
} from '../../core/sync-model.js'
import { rowEventChecker } from '../imports/row-events.js'
import { openSource, type SourceConnection, type SourceReader } from './source-readers.js'
import {
  syncsRepository as repo,
  type KnownRowRecord,
  type ModelRecord,
  type RunCounters,
  type RunRecord,
} from './syncs-repository.js'

export interface SyncRunDeps {
  db: Db
  eventLog: EventLogWriter
  clock: () => Date
  outbound: OutboundPolicy
  /** Opens a sealed connection password (the secret key is app's). */
  openSecret(sealed: string): string | undefined
  /** Rows per read, append and checkpoint (default 500). */
  batchSize?: number
  /** How long a checkpoint extends the run's lease (default 5 minutes). */
  leaseMs?: number
  /**
   * Tests: called after a batch's events are durable and before its snapshot commits (a crash
   * test dies there: appended, not committed), and after the commit.
   */
  beforeCommit?: (counters: RunCounters) => void | Promise<void>
  afterBatch?: (counters: RunCounters) => void | Promise<void>
}

export class RunLostError extends Error {
  constructor() {
    super('the run is no longer this attempt’s (its lease was taken over)')
  }
}

/** Stands for the mapping of a row that is not mapped because it did not change. */
const unchangedRow: SyncRowResult = { ok: false, issues: [] }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function append(deps: SyncRunDeps, model: ModelRecord, events: KindredEvent[], at: Date) {
  if (events.length === 0) return
  for (let i = 0; ; i++) {
    try {
      await deps.eventLog.append({
        workspaceId: model.workspaceId,
        sourceId: model.sourceId,
        receivedAt: at.toISOString(),
        events,
      })
      return
    } catch (err) {
      // Back-pressure: the log is full for now; the batch waits rather than failing the run.
      if (isKindredError(err) && err.code === 'OVERLOADED' && i < 600) {
        await sleep(200)
        continue
      }
      throw err
    }
  }
}

/** The connection of a model as the reader takes it (password opened). */
export async function sourceConnectionOf(
  deps: Pick<SyncRunDeps, 'db' | 'openSecret'>,
  workspaceId: string,
  connectionId: string,
): Promise<SourceConnection | undefined> {
  const c = await repo.getConnection(deps.db, workspaceId, connectionId)
  if (!c) return undefined
  const password = c.passwordSealed === null ? undefined : deps.openSecret(c.passwordSealed)
  if (c.passwordSealed !== null && password === undefined)
    throw new Error(
      'the connection password cannot be decrypted (the secret key changed): enter it again',
    )
  return { ...c.settings, kind: c.kind, password }
}

/** Runs (or resumes) one claimed run to its end; returns the counters. Throws on failure. */
export async function runSync(deps: SyncRunDeps, run: RunRecord): Promise<RunCounters> {
  const { db } = deps
  const model = await repo.getModel(db, run.workspaceId, run.modelId)
  if (!model) throw new Error(`model ${run.modelId} no longer exists`)
  const def: SyncModel = model.definition
  const connection = await sourceConnectionOf(deps, run.workspaceId, model.connectionId)
  if (!connection) throw new Error(`connection ${model.connectionId} no longer exists`)
  const batchSize = deps.batchSize ?? 500
  const leaseMs = deps.leaseMs ?? 300_000
  const runStarted = new Date(run.startedAt ?? run.createdAt)
  // Rows without a time column get the run's start: the same on every attempt of this run.
  const mapper = createSyncRowMapper(def, { defaultTimestamp: runStarted.toISOString() })
  const checker = await rowEventChecker(db, model.workspaceId, model.sourceId, runStarted)
  const fingerprint = modelFingerprint(def)
  const columns = modelColumns(def)
  // Mirror must see every row to see which are gone; cursor models otherwise read from the
  // last run's highest cursor on (>=, so rows committed late with the same value are not lost:
  // unchanged ones cost a checksum, not a send).
  const fullScan = def.cursor === undefined || def.mode === 'mirror'
  const watermark = fullScan ? null : model.watermark
  const counters: RunCounters = {
    rowsRead: run.rowsRead,
    rowsChanged: run.rowsChanged,
    rowsSent: run.rowsSent,
    rowsSkipped: run.rowsSkipped,
    rowsRejected: run.rowsRejected,
    rowsDeleted: run.rowsDeleted,
  }
  let checkpointKey = run.checkpointKey
  let highCursor = run.maxCursor ?? model.watermark

  const commit = async (
    changed: KnownRowRecord[],
    seen: string[],
    rejects: Array<{ rowKey: string; raw: unknown; errors: FieldIssue[] }>,
    forget: string[] = [],
  ) => {
    await deps.beforeCommit?.({ ...counters })
    const now = deps.clock()
    await db.transaction(async (tx) => {
      await repo.saveRows(tx, model.workspaceId, model.id, run.id, changed, fullScan ? seen : [])
      await repo.forgetRows(tx, model.workspaceId, model.id, forget)
      await repo.insertRejects(tx, model.workspaceId, run.id, rejects)
      const held = await repo.checkpoint(
        tx,
        run,
        { ...counters, checkpointKey, maxCursor: highCursor },
        now,
        new Date(now.getTime() + leaseMs),
      )
      if (!held) throw new RunLostError()
    })
    await deps.afterBatch?.({ ...counters })
  }

  let reader: SourceReader | undefined
  try {
    reader = await openSource(connection, deps.outbound)
    const query = readQuery(connection.kind, def, { afterKey: checkpointKey, watermark })
    for await (const rows of reader.batches(query, batchSize)) {
      const prepared = rows.map((row) => {
        const key = exactValue(row[def.key])
        const rowKey =
          key.ok && key.value !== null ? String(key.value as string | number) : undefined
        const exact: Record<string, unknown> = {}
        for (const c of columns) {
          const v = exactValue(row[c])
          exact[c] = v.ok ? v.value : `\0unmappable:${String(row[c])}`
        }
        return { row, rowKey, checksum: rowChecksum(fingerprint, columns, exact) }
      })
      const keys = prepared.flatMap((p) => (p.rowKey === undefined ? [] : [p.rowKey]))
      const known = await repo.knownRows(db, model.workspaceId, model.id, keys)
      // Only rows whose checksum changed are mapped: an unchanged row costs its checksum alone.
      const mapped = prepared.map((p) => {
        const k = p.rowKey === undefined ? undefined : known.get(p.rowKey)
        const same = k !== undefined && k.checksum === p.checksum
        return { ...p, known: k, result: same ? unchangedRow : mapper(p.row) }
      })
      // Update-only never creates a person: which of the new rows' identifiers have a profile.
      let existing = new Map<string, string>()
      if (def.mode === 'update_only') {
        const ids = mapped.flatMap((m) =>
          m.result.ok && m.known?.sent !== true && m.known?.checksum !== m.checksum
            ? checker.identifiers(m.result.event as unknown as KindredEvent)
            : [],
        )
        existing = await profilesOfIdentifiers(db, model.workspaceId, ids)
      }
      const events: KindredEvent[] = []
      const changed: KnownRowRecord[] = []
      const seen: string[] = []
      const rejects: Array<{ rowKey: string; raw: unknown; errors: FieldIssue[] }> = []
      for (const m of mapped) {
        counters.rowsRead++
        if (m.rowKey === undefined) {
          counters.rowsRejected++
          rejects.push({
            rowKey: `#${counters.rowsRead}`,
            raw: rawOf(m.row),
            errors: [
              {
                path: def.key,
                code: 'missing_key',
                message: `no value in key column "${def.key}"`,
              },
            ],
          })
          continue
        }
        checkpointKey = m.rowKey
        if (def.cursor !== undefined) {
          const c = exactValue(m.row[def.cursor])
          if (c.ok) highCursor = maxCursor(highCursor, c.value)
        }
        seen.push(m.rowKey)
        if (m.known !== undefined && m.known.checksum === m.checksum) continue
        counters.rowsChanged++
        const base = {
          rowKey: m.rowKey,
          checksum: m.checksum,
          version: m.known?.version ?? 0,
          sent: m.known?.sent ?? false,
          identity: m.known?.identity ?? {},
          fields: m.known?.fields ?? [],
        }
        if (!m.result.ok) {
          counters.rowsRejected++
          rejects.push({ rowKey: m.rowKey, raw: rawOf(m.row), errors: m.result.issues })
          changed.push(base)
          continue
        }
        const exists =
          def.mode === 'update_only' &&
          checker
            .identifiers(m.result.event as unknown as KindredEvent)
            .some((i) => existing.has(`${i.type}\0${i.value}`))
        const decision = decideRow(def.mode, m.known, m.checksum, exists)
        if (decision !== 'send') {
          counters.rowsSkipped++
          changed.push(base)
          continue
        }
        const version = base.version + 1
        const checked = checker.check(
          m.result.event,
          syncMessageId(model.id, m.rowKey, version, 'row'),
        )
        if (!checked.ok) {
          counters.rowsRejected++
          rejects.push({ rowKey: m.rowKey, raw: rawOf(m.row), errors: checked.issues })
          changed.push(base)
          continue
        }
        counters.rowsSent++
        events.push(checked.event)
        // What the row set, added to what earlier versions set: mirror clears them all.
        const fields = [...new Set([...base.fields, ...m.result.fields])].sort()
        changed.push({ ...base, version, sent: true, identity: m.result.identity, fields })
      }
      await append(deps, model, events, runStarted)
      await commit(changed, seen, rejects)
    }
    if (fullScan) await processVanished(deps, model, run, counters, commit)
  } finally {
    await reader?.close()
  }
  if (def.cursor !== undefined && !fullScan)
    await repo.setWatermark(db, model.workspaceId, model.id, highCursor)
  return counters
}

/** A rejected row as the rejects file shows it: its values as exact JSON where they have one. */
function rawOf(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row)) {
    const e = exactValue(v)
    out[k] = e.ok ? e.value : `(${e.message})`
  }
  return out
}

/**
 * Rows the full scan did not see. Every model counts and forgets them; mirror models first send
 * their undo: the traits they set, cleared, but only those whose surviving value still comes from
 * this model's source (a value another source set, before or since, is never touched).
 */
async function processVanished(
  deps: SyncRunDeps,
  model: ModelRecord,
  run: RunRecord,
  counters: RunCounters,
  commit: (
    changed: KnownRowRecord[],
    seen: string[],
    rejects: never[],
    forget: string[],
  ) => Promise<void>,
) {
  const def = model.definition
  const checker = await rowEventChecker(deps.db, model.workspaceId, model.sourceId, deps.clock())
  const at = new Date(run.startedAt ?? run.createdAt)
  for (;;) {
    const gone = await repo.vanishedRows(deps.db, model.workspaceId, model.id, run.id, 500)
    if (gone.length === 0) return
    const events: KindredEvent[] = []
    for (const g of gone) {
      counters.rowsDeleted++
      if (def.mode !== 'mirror' || !g.sent) continue
      let clear = g.fields
      if (def.kind === 'identify') {
        const probe = tombstoneEvent('identify', g.identity, ['_'], at.toISOString())
        const ids = probe ? checker.identifiers(probe as unknown as KindredEvent) : []
        const profiles = await profilesOfIdentifiers(deps.db, model.workspaceId, ids)
        const profileId = [...profiles.values()][0]
        const survivors = profileId
          ? await traitSurvivorSources(deps.db, model.workspaceId, profileId)
          : new Map<string, string>()
        clear = g.fields.filter((f) => survivors.get(f) === model.sourceId)
      }
      const raw = tombstoneEvent(def.kind, g.identity, clear, at.toISOString())
      if (raw === undefined) continue
      const checked = checker.check(raw, syncMessageId(model.id, g.rowKey, g.version + 1, 'delete'))
      if (checked.ok) {
        events.push(checked.event)
        counters.rowsSent++
      }
    }
    await append(deps, model, events, at)
    await commit(
      [],
      [],
      [],
      gone.map((g) => g.rowKey),
    )
  }
}
