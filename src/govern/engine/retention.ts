/**
 * Retention: per workspace `retentionDays` (in `settings.pii`), events older
 * than that are deleted, and so are quarantined events and recorded violations.
 *
 * Events are partitioned by month for every workspace at once, so a monthly partition is dropped
 * whole (instant, no dead rows) only when every workspace with rows in it has a retention that has
 * expired the whole month. Otherwise rows are deleted in bounded chunks, each its own statement,
 * so a large backlog never holds locks for long and is worked off over a few ticks.
 *
 * Two schedulers running at once do no harm: deletes of the same rows serialise on row locks and
 * `DROP TABLE IF EXISTS` is idempotent; no lock is needed.
 */
import type { Logger } from 'pino'
import { intervalTask } from '../../platform/jobs/loops.js'
import type { Db } from '../../platform/store/db.js'

const DAY_MS = 86_400_000
const PARTITION_NAME = /^events_(\d{4})_(\d{2})$/

export interface RetentionResult {
  workspaces: number
  partitionsDropped: string[]
  eventsDeleted: number
  quarantinedDeleted: number
  violationsDeleted: number
}

export interface RetentionOptions {
  /** Rows per DELETE statement. */
  chunk?: number
  /** DELETE statements per table and workspace per run; the rest waits for the next tick. */
  maxChunks?: number
}

export async function applyRetention(
  db: Db,
  now: Date,
  options: RetentionOptions = {},
): Promise<RetentionResult> {
  const chunk = options.chunk ?? 5_000
  const maxChunks = options.maxChunks ?? 20
  const result: RetentionResult = {
    workspaces: 0,
    partitionsDropped: [],
    eventsDeleted: 0,
    quarantinedDeleted: 0,
    violationsDeleted: 0,
  }
  const ws = await db.query<{ id: string; days: number | string }>(
    `SELECT id, (settings->'pii'->>'retentionDays')::int AS days FROM workspaces
     WHERE jsonb_typeof(settings->'pii'->'retentionDays') = 'number'`,
  )
  if (ws.rows.length === 0) return result
  const cutoffs = new Map(
    ws.rows.map((r) => [r.id, new Date(now.getTime() - Number(r.days) * DAY_MS)]),
  )
  result.workspaces = cutoffs.size

  const parts = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname = 'events' ORDER BY c.relname`,
  )
  for (const { name } of parts.rows) {
    const m = PARTITION_NAME.exec(name)
    if (!m) continue
    const end = new Date(Date.UTC(Number(m[1]), Number(m[2]), 1))
    if (end.getTime() > now.getTime()) continue
    // The name matched a fixed pattern of our own partitions: safe to interpolate.
    const present = await db.query<{ workspace_id: string }>(
      `SELECT DISTINCT workspace_id FROM ${name}`,
    )
    if (present.rows.length === 0) continue
    const expired = present.rows.every((r) => {
      const cutoff = cutoffs.get(r.workspace_id)
      return cutoff !== undefined && cutoff.getTime() >= end.getTime()
    })
    if (!expired) continue
    await db.query(`DROP TABLE IF EXISTS ${name}`)
    result.partitionsDropped.push(name)
  }

  for (const [workspaceId, cutoff] of cutoffs) {
    const at = cutoff.toISOString()
    result.eventsDeleted += await deleteInChunks(db, chunk, maxChunks, (limit) => ({
      sql: `DELETE FROM events WHERE (tableoid, ctid) IN (
              SELECT tableoid, ctid FROM events
              WHERE workspace_id = $1 AND "timestamp" < $2 LIMIT $3)`,
      params: [workspaceId, at, limit],
    }))
    result.quarantinedDeleted += await deleteInChunks(db, chunk, maxChunks, (limit) => ({
      sql: `DELETE FROM quarantined_events WHERE (source_id, message_id) IN (
              SELECT source_id, message_id FROM quarantined_events
              WHERE workspace_id = $1 AND quarantined_at < $2 LIMIT $3)`,
      params: [workspaceId, at, limit],
    }))
    result.violationsDeleted += await deleteInChunks(db, chunk, maxChunks, (limit) => ({
      sql: `DELETE FROM event_violations WHERE (source_id, message_id) IN (
              SELECT source_id, message_id FROM event_violations
              WHERE workspace_id = $1 AND seen_at < $2 LIMIT $3)`,
      params: [workspaceId, at, limit],
    }))
  }
  return result
}

async function deleteInChunks(
  db: Db,
  chunk: number,
  maxChunks: number,
  statement: (limit: number) => { sql: string; params: unknown[] },
): Promise<number> {
  let total = 0
  for (let i = 0; i < maxChunks; i++) {
    const { sql, params } = statement(chunk)
    const res = await db.query(sql, params)
    total += res.rowCount
    if (res.rowCount < chunk) break
  }
  return total
}

export interface RetentionScheduler {
  tick(now?: Date): Promise<RetentionResult>
  start(): void
  stop(): Promise<void>
}

export function createRetentionScheduler(options: {
  db: Db
  clock: () => Date
  logger?: Logger
  intervalMs?: number
  retention?: RetentionOptions
}): RetentionScheduler {
  const intervalMs = options.intervalMs ?? 15 * 60_000
  const tick = (now: Date = options.clock()) => applyRetention(options.db, now, options.retention)

  const task = intervalTask(
    async () => {
      const r = await tick()
      if (r.eventsDeleted + r.partitionsDropped.length + r.quarantinedDeleted > 0) {
        options.logger?.info(r, 'retention applied')
      }
    },
    { intervalMs, onError: (err) => options.logger?.error({ err }, 'retention run failed') },
  )
  return { tick, start: task.start, stop: task.stop }
}
