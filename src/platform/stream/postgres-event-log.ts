import { KindredError } from '../../protocol/errors.js'
import type { Db, Queryable } from '../store/db.js'
import {
  entryEventCount,
  refuseAppend,
  type EventLog,
  type LogEntry,
  type LogRecord,
} from './event-log.js'

interface Pending {
  entry: LogEntry
  json: string
  resolve: () => void
  reject: (err: unknown) => void
}

export interface GroupCommitOptions {
  /** Most rows (requests) written by one INSERT. */
  maxGroupRows?: number
  /** Most events waiting for a write before ingest answers 503 (back-pressure). */
  maxQueuedEvents?: number
}

/**
 * Group commit: requests that arrive while a write is in flight are written together by the
 * next single INSERT, so the cost of a commit is shared by many requests. On a Postgres server a
 * transaction-level advisory lock makes appends commit in `seq` order, so a reader that has seen
 * seq N will never later find a smaller seq appear (no gaps skipped).
 */
export function createPostgresEventLog(db: Db, options: GroupCommitOptions = {}): EventLog {
  const maxGroupRows = options.maxGroupRows ?? 500
  const maxQueuedEvents = options.maxQueuedEvents ?? 200_000
  const queue: Pending[] = []
  const listeners = new Set<() => void>()
  let queuedEvents = 0
  let flushing: Promise<void> | undefined
  let closed = false

  async function writeGroup(group: Pending[]): Promise<void> {
    const params: unknown[] = []
    const values: string[] = []
    for (const p of group) {
      const i = params.length
      values.push(`($${i + 1}, $${i + 2}, $${i + 3}::timestamptz, $${i + 4}::int, $${i + 5})`)
      params.push(
        p.entry.workspaceId,
        p.entry.sourceId,
        p.entry.receivedAt,
        p.entry.events.length,
        p.json,
      )
    }
    const sql = `INSERT INTO event_log (workspace_id, source_id, received_at, event_count, events) VALUES ${values.join(',')}`
    if (db.dialect === 'postgres') {
      await db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock(4242002)')
        await tx.query(sql, params)
      })
    } else {
      // PGlite has one connection: appends are serial already, and one statement is one commit.
      await db.query(sql, params)
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const group = queue.splice(0, maxGroupRows)
      try {
        await writeGroup(group)
        for (const p of group) p.resolve()
        for (const l of listeners) l()
      } catch (err) {
        const failure = new KindredError(
          'UNAVAILABLE',
          'the event log could not be written; retry',
          {
            cause: err,
            headers: { 'Retry-After': '1' },
          },
        )
        for (const p of group) p.reject(failure)
      } finally {
        for (const p of group) queuedEvents -= p.entry.events.length
      }
    }
  }

  function kick(): void {
    if (flushing) return
    flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(drain).finally(() => {
      flushing = undefined
      if (queue.length > 0) kick()
    })
  }

  return {
    append(entry) {
      const count = entryEventCount(entry)
      const refused = refuseAppend(closed, queuedEvents, count, maxQueuedEvents)
      if (refused) return Promise.reject(refused)
      // Serialise here, on the request's own turn, not inside the shared flush.
      const json = entry.eventsJson ?? JSON.stringify(entry.events)
      queuedEvents += count
      return new Promise<void>((resolve, reject) => {
        queue.push({ entry, json, resolve, reject })
        kick()
      })
    },
    onAppended(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    read: (tx, afterSeq, maxEvents) => readEventLog(tx, afterSeq, maxEvents),
    async release(seq) {
      // Applied rows are in the events store; the log keeps no second copy.
      await db.query('DELETE FROM event_log WHERE seq <= $1', [seq])
    },
    async close() {
      closed = true
      while (flushing) await flushing
    },
  }
}

interface LogRow {
  seq: number | string
  workspace_id: string
  source_id: string
  received_at: Date | string
  events: string
}

/** Reads log records after `afterSeq`, in order, at most `maxEvents` events (at least one row). */
export async function readEventLog(
  db: Queryable,
  afterSeq: number,
  maxEvents: number,
): Promise<LogRecord[]> {
  const res = await db.query<LogRow>(
    `SELECT seq, workspace_id, source_id, received_at, events FROM (
       SELECT seq, workspace_id, source_id, received_at, events,
              sum(event_count) OVER (ORDER BY seq) - event_count AS before
       FROM (SELECT * FROM event_log WHERE seq > $1 ORDER BY seq LIMIT $2) head
     ) t WHERE before < $2 ORDER BY seq`,
    [afterSeq, maxEvents],
  )
  return res.rows.map((r) => ({
    seq: Number(r.seq),
    workspaceId: r.workspace_id,
    sourceId: r.source_id,
    receivedAt: new Date(r.received_at).toISOString(),
    events: JSON.parse(r.events) as LogRecord['events'],
  }))
}
