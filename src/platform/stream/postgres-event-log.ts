import type { Db, Queryable } from '../store/db.js'
import { entryEventCount, type EventLog, type LogEntry, type LogRecord } from './event-log.js'
import { createGroupCommitter } from './group-commit.js'

interface Row {
  entry: LogEntry
  json: string
}

export interface PostgresEventLogOptions {
  /** Most rows (requests) written by one INSERT. */
  maxGroupRows?: number
  /** Most events waiting for a write before ingest answers 503 (back-pressure). */
  maxQueuedEvents?: number
}

/**
 * Group commit (`group-commit.ts`): requests that arrive while a write is in flight are written
 * together by the next single INSERT, so the cost of a commit is shared by many requests. On a
 * Postgres server a transaction-level advisory lock makes appends commit in `seq` order, so a
 * reader that has seen seq N will never later find a smaller seq appear (no gaps skipped).
 */
export function createPostgresEventLog(db: Db, options: PostgresEventLogOptions = {}): EventLog {
  async function writeGroup(group: Row[]): Promise<void> {
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

  // A write is a round trip: wait a turn so the requests parsed meanwhile share it. A failed
  // INSERT wrote nothing, so the next group is tried.
  const committer = createGroupCommitter(writeGroup, {
    maxQueuedEvents: options.maxQueuedEvents ?? 200_000,
    maxGroupItems: options.maxGroupRows ?? 500,
    gather: true,
  })

  return {
    append(entry) {
      // Serialise on the request's own turn, not inside the shared flush.
      return committer.submit(entryEventCount(entry), () => ({
        entry,
        json: entry.eventsJson ?? JSON.stringify(entry.events),
      }))
    },
    onAppended: (listener) => committer.onCommitted(listener),
    read: (tx, afterSeq, maxEvents) => readEventLog(tx, afterSeq, maxEvents),
    async release(seq) {
      // Applied rows are in the events store; the log keeps no second copy.
      await db.query('DELETE FROM event_log WHERE seq <= $1', [seq])
    },
    close: () => committer.close(),
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
