/**
 * @module platform/lake/lake-store
 * The lake's rows in the store (migration 0700-lake.sql): whether changes are captured, the
 * writer's lease, the changes waiting for the lake and their batches, and privacy erasures the
 * writer must carry out. The privacy worker's `lake` step files erasures through
 * `requestLakeErasure` and reads `lakeErasureStatus`; everything else is the writer's.
 */
import type { Db, Queryable } from '../store/db.js'
import type { LakeErasureSubject } from './lake-tables.js'

/** Turns capture on or off (the triggers read it in every statement they follow). */
export async function setCapture(db: Queryable, capture: boolean): Promise<void> {
  await db.query(
    `INSERT INTO lake_state (id, capture) VALUES (1, $1)
     ON CONFLICT (id) DO UPDATE SET capture = EXCLUDED.capture, updated_at = now()`,
    [capture],
  )
}

/** Has a lake ever been set up on this store (so a deletion must reach its files)? */
export async function lakeInUse(db: Queryable): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM lake_state WHERE id = 1')
  return r.rows.length > 0
}

/** Forgets the lake: no capture, nothing pending, no erasure to wait for. */
export async function forgetLake(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('DELETE FROM lake_state')
    await tx.query('DELETE FROM lake_changes')
  })
}

/**
 * Takes or renews the writer's lease; false while another writer's lease runs. `exclusive`: the
 * store is embedded (the data dir lock already makes this the only process), take it regardless.
 */
export async function takeLease(
  db: Queryable,
  writer: string,
  now: number,
  leaseMs: number,
  exclusive: boolean,
): Promise<boolean> {
  const r = await db.query<{ writer: string }>(
    `INSERT INTO lake_state (id, capture, writer, leased_until) VALUES (1, true, $1, $2)
     ON CONFLICT (id) DO UPDATE SET writer = EXCLUDED.writer, leased_until = EXCLUDED.leased_until,
       updated_at = now()
     WHERE $4 OR lake_state.writer IS NULL OR lake_state.writer = EXCLUDED.writer
       OR lake_state.leased_until IS NULL OR lake_state.leased_until < $3
     RETURNING writer`,
    [writer, new Date(now + leaseMs).toISOString(), new Date(now).toISOString(), exclusive],
  )
  return r.rows.length === 1
}

export async function releaseLease(db: Queryable, writer: string): Promise<void> {
  await db.query('UPDATE lake_state SET leased_until = NULL WHERE id = 1 AND writer = $1', [writer])
}

/** A claimed batch: its number (the Delta `txn` version) and the id range of its changes. */
export interface LakeBatch {
  batch: number
  lo: number
  hi: number
}

export interface PendingChanges {
  /** Rows waiting (claimed or not). */
  count: number
  /** When the oldest was recorded (epoch ms), undefined when none waits. */
  oldestAt: number | undefined
  /** A batch claimed but not finished (a writer stopped or crashed mid-batch). */
  claimed: LakeBatch | undefined
}

export async function pendingChanges(db: Queryable): Promise<PendingChanges> {
  // min/max of the primary key and the oldest row are index lookups, never a scan: the count is
  // the id span (ids lost to rolled-back transactions count too, which only flushes sooner).
  const r = await db.query<{
    lo: string | number | null
    hi: string | number | null
    oldest: Date | string | null
    batch: string | number | null
    batch_lo: string | number | null
    batch_hi: string | number | null
  }>(
    `SELECT min(c.id) AS lo, max(c.id) AS hi,
       (SELECT created_at FROM lake_changes ORDER BY id LIMIT 1) AS oldest,
       s.batch, s.batch_lo, s.batch_hi
     FROM lake_changes c LEFT JOIN lake_state s ON s.id = 1
     GROUP BY s.batch, s.batch_lo, s.batch_hi`,
  )
  const row = r.rows[0]
  const claimed =
    row && row.batch !== null && row.batch_lo !== null && row.batch_hi !== null
      ? { batch: Number(row.batch), lo: Number(row.batch_lo), hi: Number(row.batch_hi) }
      : undefined
  if (!row || row.lo === null || row.hi === null) {
    return { count: 0, oldestAt: undefined, claimed }
  }
  return {
    count: Number(row.hi) - Number(row.lo) + 1,
    oldestAt: row.oldest === null ? undefined : new Date(row.oldest).getTime(),
    claimed,
  }
}

/**
 * Claims up to `limit` unclaimed changes as a new batch, numbered from a sequence: the batch
 * number rises with every claim and is the Delta `txn` version its commits carry. Only committed
 * rows are visible to the claim, so a change committed late is claimed by a later batch, never
 * passed over (a cursor by id would skip it on a Postgres server, see migration 0500). The batch
 * and its id range are kept in `lake_state` until it is finished.
 */
export async function claimBatch(db: Db, limit: number): Promise<LakeBatch | undefined> {
  return db.transaction(async (tx) => {
    const seq = await tx.query<{ batch: string | number }>(
      `SELECT nextval('lake_batches') AS batch`,
    )
    const batch = Number(seq.rows[0]?.batch)
    const r = await tx.query<{ n: number; lo: string | number | null; hi: string | number | null }>(
      `WITH claimed AS (
         UPDATE lake_changes SET batch = $1 WHERE id IN (
           SELECT id FROM lake_changes WHERE batch IS NULL ORDER BY id LIMIT $2
           FOR UPDATE SKIP LOCKED)
         RETURNING id)
       SELECT count(*)::int AS n, min(id) AS lo, max(id) AS hi FROM claimed`,
      [batch, limit],
    )
    const row = r.rows[0]
    if (!row || Number(row.n) === 0 || row.lo === null || row.hi === null) return undefined
    const claimed = { batch, lo: Number(row.lo), hi: Number(row.hi) }
    await tx.query(
      `UPDATE lake_state SET batch = $1, batch_lo = $2, batch_hi = $3, updated_at = now()
       WHERE id = 1`,
      [claimed.batch, claimed.lo, claimed.hi],
    )
    return claimed
  })
}

/** The batch is in every lake table: its changes go (returned: their kind and time). */
export async function finishBatch(
  db: Db,
  b: LakeBatch,
): Promise<Array<{ kind: string; created_at: Date | string }>> {
  return db.transaction(async (tx) => {
    const r = await tx.query<{ kind: string; created_at: Date | string }>(
      `DELETE FROM lake_changes WHERE id BETWEEN $2 AND $3 AND batch = $1
       RETURNING kind, created_at`,
      [b.batch, b.lo, b.hi],
    )
    await tx.query(
      'UPDATE lake_state SET batch = NULL, batch_lo = NULL, batch_hi = NULL WHERE batch = $1',
      [b.batch],
    )
    return r.rows
  })
}

export interface LakeErasureRequest extends LakeErasureSubject {
  requestId: string
}

export interface LakeErasureRow extends LakeErasureRequest {
  doneAt: Date | null
  result: Record<string, unknown> | null
}

/** Files a deletion for the lake writer (idempotent per request). */
export async function requestLakeErasure(
  db: Queryable,
  req: LakeErasureRequest,
  now: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO lake_erasures (workspace_id, request_id, profile_ids, user_ids, anonymous_ids,
       requested_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, request_id) DO NOTHING`,
    [
      req.workspaceId,
      req.requestId,
      req.profileIds,
      req.userIds,
      req.anonymousIds,
      now.toISOString(),
    ],
  )
}

interface ErasureDbRow {
  workspace_id: string
  request_id: string
  profile_ids: string[]
  user_ids: string[]
  anonymous_ids: string[]
  done_at: Date | string | null
  result: Record<string, unknown> | null
}

const toErasure = (r: ErasureDbRow): LakeErasureRow => ({
  workspaceId: r.workspace_id,
  requestId: r.request_id,
  profileIds: r.profile_ids,
  userIds: r.user_ids,
  anonymousIds: r.anonymous_ids,
  doneAt: r.done_at === null ? null : new Date(r.done_at),
  result: r.result,
})

export async function lakeErasureStatus(
  db: Queryable,
  workspaceId: string,
  requestId: string,
): Promise<LakeErasureRow | undefined> {
  const r = await db.query<ErasureDbRow>(
    'SELECT * FROM lake_erasures WHERE workspace_id = $1 AND request_id = $2',
    [workspaceId, requestId],
  )
  const row = r.rows[0]
  return row ? toErasure(row) : undefined
}

/** The request has its receipt: its identifiers need not be kept any longer. */
export async function forgetLakeErasure(
  db: Queryable,
  workspaceId: string,
  requestId: string,
): Promise<void> {
  await db.query('DELETE FROM lake_erasures WHERE workspace_id = $1 AND request_id = $2', [
    workspaceId,
    requestId,
  ])
}

export async function openErasures(db: Queryable): Promise<LakeErasureRow[]> {
  const r = await db.query<ErasureDbRow>(
    'SELECT * FROM lake_erasures WHERE done_at IS NULL ORDER BY requested_at, request_id',
  )
  return r.rows.map(toErasure)
}

/**
 * Marks an erasure done, and drops changes of the erased profiles recorded since the store-wide
 * deletion (the deletion's own DELETEs record some): they would read nothing, but they name
 * the profiles.
 */
export async function finishErasure(
  db: Db,
  e: LakeErasureRequest,
  result: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      'DELETE FROM lake_changes WHERE workspace_id = $1 AND profile_id = ANY($2::text[])',
      [e.workspaceId, e.profileIds],
    )
    await tx.query(
      `UPDATE lake_erasures SET done_at = $3, result = $4
       WHERE workspace_id = $1 AND request_id = $2`,
      [e.workspaceId, e.requestId, now.toISOString(), JSON.stringify(result)],
    )
  })
}
