/**
 * The store of database syncs (migration `0320-syncs.sql`): connections, models, runs (a job
 * table of the one leased queue), the per-row snapshot and the rejected rows. One round trip per
 * batch of rows for each table, never one per row.
 * @module
 */
import type { Queryable } from '../../../platform/store/db.js'
import { createLeasedQueue } from '../../../platform/jobs/leased-queue.js'
import type {
  ConnectionKind,
  ConnectionSettings,
  Schedule,
  SyncModel,
} from '../../core/sync-model.js'

export interface ConnectionRecord {
  workspaceId: string
  id: string
  name: string
  kind: ConnectionKind
  settings: ConnectionSettings
  passwordSealed: string | null
  createdAt: string
  updatedAt: string
}

export interface ModelRecord {
  workspaceId: string
  id: string
  connectionId: string
  sourceId: string
  name: string
  definition: SyncModel
  schedule: Schedule | null
  nextRunAt: string | null
  watermark: string | null
  createdAt: string
  updatedAt: string
}

export type RunStatus = 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed'

export interface RunCounters {
  rowsRead: number
  rowsChanged: number
  rowsSent: number
  rowsSkipped: number
  rowsRejected: number
  rowsDeleted: number
}

export interface RunRecord extends RunCounters {
  workspaceId: string
  id: string
  modelId: string
  trigger: string
  status: RunStatus
  runAt: string
  attempts: number
  error: string | null
  checkpointKey: string | null
  maxCursor: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
}

export interface KnownRowRecord {
  rowKey: string
  checksum: string
  version: number
  sent: boolean
  identity: Record<string, unknown>
  fields: string[]
}

type Row = Record<string, unknown>
const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null ? null : String(v))
const num = (v: unknown) => Number(v ?? 0)
const json = <T>(v: unknown): T => (typeof v === 'string' ? (JSON.parse(v) as T) : (v as T))

function toConnection(r: Row): ConnectionRecord {
  return {
    workspaceId: r.workspace_id as string,
    id: r.id as string,
    name: r.name as string,
    kind: r.kind as ConnectionKind,
    settings: json<ConnectionSettings>(r.settings),
    passwordSealed: (r.password_sealed as string | null) ?? null,
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
  }
}

function toModel(r: Row): ModelRecord {
  return {
    workspaceId: r.workspace_id as string,
    id: r.id as string,
    connectionId: r.connection_id as string,
    sourceId: r.source_id as string,
    name: r.name as string,
    definition: json<SyncModel>(r.definition),
    schedule: r.schedule === null ? null : json<Schedule>(r.schedule),
    nextRunAt: iso(r.next_run_at),
    watermark: (r.watermark as string | null) ?? null,
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
  }
}

function toRun(r: Row): RunRecord {
  const started = iso(r.started_at)
  const finished = iso(r.finished_at)
  return {
    workspaceId: r.workspace_id as string,
    id: r.id as string,
    modelId: r.model_id as string,
    trigger: r.trigger as string,
    status: r.status as RunStatus,
    runAt: iso(r.run_at) as string,
    attempts: num(r.attempts),
    error: (r.error as string | null) ?? null,
    checkpointKey: (r.checkpoint_key as string | null) ?? null,
    maxCursor: (r.max_cursor as string | null) ?? null,
    rowsRead: num(r.rows_read),
    rowsChanged: num(r.rows_changed),
    rowsSent: num(r.rows_sent),
    rowsSkipped: num(r.rows_skipped),
    rowsRejected: num(r.rows_rejected),
    rowsDeleted: num(r.rows_deleted),
    createdAt: iso(r.created_at) as string,
    startedAt: started,
    finishedAt: finished,
    durationMs:
      started !== null && finished !== null ? Date.parse(finished) - Date.parse(started) : null,
  }
}

/** Runs are jobs of the one leased queue: claimed, leased, retried with backoff, dead = failed. */
export const syncRunQueue = createLeasedQueue<RunRecord, { workspaceId: string; id: string }>({
  table: 'sync_runs',
  key: {
    columns: [
      { name: 'workspace_id', type: 'text' },
      { name: 'id', type: 'text' },
    ],
    values: (k) => [k.workspaceId, k.id],
  },
  state: {
    column: 'status',
    ready: ['queued', 'retrying'],
    claimed: 'running',
    retry: 'retrying',
    dead: 'failed',
  },
  due: 'run_at',
  leasedUntil: 'leased_until',
  attempts: { column: 'attempts', countedOn: 'claim' },
  error: 'error',
  updatedAt: 'updated_at',
  finishedAt: 'finished_at',
  onClaim: 'started_at = coalesce(t.started_at, $now)',
  order: 'run_at, id',
  decode: toRun,
})

export const syncsRepository = {
  async insertConnection(
    db: Queryable,
    c: Omit<ConnectionRecord, 'createdAt' | 'updatedAt'>,
    now: Date,
  ): Promise<ConnectionRecord> {
    const r = await db.query<Row>(
      `INSERT INTO sync_connections
         (workspace_id, id, name, kind, settings, password_sealed, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *`,
      [c.workspaceId, c.id, c.name, c.kind, JSON.stringify(c.settings), c.passwordSealed, now],
    )
    return toConnection(r.rows[0] as Row)
  },
  async updateConnection(
    db: Queryable,
    c: Omit<ConnectionRecord, 'createdAt' | 'updatedAt'>,
    now: Date,
  ): Promise<ConnectionRecord | undefined> {
    const r = await db.query<Row>(
      `UPDATE sync_connections SET name = $3, kind = $4, settings = $5, password_sealed = $6,
         updated_at = $7 WHERE workspace_id = $1 AND id = $2 RETURNING *`,
      [c.workspaceId, c.id, c.name, c.kind, JSON.stringify(c.settings), c.passwordSealed, now],
    )
    return r.rows[0] ? toConnection(r.rows[0]) : undefined
  },
  async getConnection(db: Queryable, ws: string, id: string) {
    const r = await db.query<Row>(
      `SELECT * FROM sync_connections WHERE workspace_id = $1 AND id = $2`,
      [ws, id],
    )
    return r.rows[0] ? toConnection(r.rows[0]) : undefined
  },
  async listConnections(db: Queryable, ws: string) {
    const r = await db.query<Row>(
      `SELECT * FROM sync_connections WHERE workspace_id = $1 ORDER BY created_at, id`,
      [ws],
    )
    return r.rows.map(toConnection)
  },
  async deleteConnection(db: Queryable, ws: string, id: string): Promise<boolean> {
    const r = await db.query(`DELETE FROM sync_connections WHERE workspace_id = $1 AND id = $2`, [
      ws,
      id,
    ])
    return r.rowCount > 0
  },
  async modelsOfConnection(db: Queryable, ws: string, connectionId: string): Promise<number> {
    const r = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sync_models WHERE workspace_id = $1 AND connection_id = $2`,
      [ws, connectionId],
    )
    return Number(r.rows[0]?.n ?? 0)
  },

  async insertModel(
    db: Queryable,
    m: Omit<ModelRecord, 'createdAt' | 'updatedAt' | 'watermark'>,
    now: Date,
  ): Promise<ModelRecord> {
    const r = await db.query<Row>(
      `INSERT INTO sync_models (workspace_id, id, connection_id, source_id, name, definition,
         schedule, next_run_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING *`,
      [
        m.workspaceId,
        m.id,
        m.connectionId,
        m.sourceId,
        m.name,
        JSON.stringify(m.definition),
        m.schedule === null ? null : JSON.stringify(m.schedule),
        m.nextRunAt,
        now,
      ],
    )
    return toModel(r.rows[0] as Row)
  },
  /** A changed definition forgets the watermark: the next run reads everything (and resends). */
  async updateModel(
    db: Queryable,
    m: Pick<
      ModelRecord,
      'workspaceId' | 'id' | 'connectionId' | 'name' | 'definition' | 'schedule' | 'nextRunAt'
    >,
    now: Date,
  ): Promise<ModelRecord | undefined> {
    const r = await db.query<Row>(
      `UPDATE sync_models SET connection_id = $3, name = $4,
         watermark = CASE WHEN definition = $5::jsonb THEN watermark END,
         definition = $5, schedule = $6, next_run_at = $7, updated_at = $8
       WHERE workspace_id = $1 AND id = $2 RETURNING *`,
      [
        m.workspaceId,
        m.id,
        m.connectionId,
        m.name,
        JSON.stringify(m.definition),
        m.schedule === null ? null : JSON.stringify(m.schedule),
        m.nextRunAt,
        now,
      ],
    )
    return r.rows[0] ? toModel(r.rows[0]) : undefined
  },
  async getModel(db: Queryable, ws: string, id: string) {
    const r = await db.query<Row>(`SELECT * FROM sync_models WHERE workspace_id = $1 AND id = $2`, [
      ws,
      id,
    ])
    return r.rows[0] ? toModel(r.rows[0]) : undefined
  },
  async listModels(db: Queryable, ws: string) {
    const r = await db.query<Row>(
      `SELECT * FROM sync_models WHERE workspace_id = $1 ORDER BY created_at, id`,
      [ws],
    )
    return r.rows.map(toModel)
  },
  /** Removes a model with its snapshot, runs and rejects (what it sent stays in Kindred). */
  async deleteModel(db: Queryable, ws: string, id: string): Promise<boolean> {
    await db.query(`DELETE FROM sync_rows WHERE workspace_id = $1 AND model_id = $2`, [ws, id])
    await db.query(
      `DELETE FROM sync_rejects WHERE workspace_id = $1 AND run_id IN
         (SELECT id FROM sync_runs WHERE workspace_id = $1 AND model_id = $2)`,
      [ws, id],
    )
    await db.query(`DELETE FROM sync_runs WHERE workspace_id = $1 AND model_id = $2`, [ws, id])
    const r = await db.query(`DELETE FROM sync_models WHERE workspace_id = $1 AND id = $2`, [
      ws,
      id,
    ])
    return r.rowCount > 0
  },
  /** Models whose schedule is due, moved on to their next time in the same statement. */
  async dueModels(db: Queryable, now: Date, limit = 50) {
    const r = await db.query<Row>(
      `SELECT * FROM sync_models WHERE next_run_at IS NOT NULL AND next_run_at <= $1
       ORDER BY next_run_at LIMIT $2`,
      [now, limit],
    )
    return r.rows.map(toModel)
  },
  async setNextRun(db: Queryable, ws: string, id: string, at: string | null) {
    await db.query(`UPDATE sync_models SET next_run_at = $3 WHERE workspace_id = $1 AND id = $2`, [
      ws,
      id,
      at,
    ])
  },
  async setWatermark(db: Queryable, ws: string, id: string, watermark: string | null) {
    await db.query(`UPDATE sync_models SET watermark = $3 WHERE workspace_id = $1 AND id = $2`, [
      ws,
      id,
      watermark,
    ])
  },

  /** Queues a run; undefined when the model already has one queued or running. */
  async enqueueRun(
    db: Queryable,
    r: { workspaceId: string; id: string; modelId: string; trigger: string },
    now: Date,
  ): Promise<RunRecord | undefined> {
    const res = await db.query<Row>(
      `INSERT INTO sync_runs (workspace_id, id, model_id, trigger, status, run_at, created_at,
         updated_at)
       VALUES ($1, $2, $3, $4, 'queued', $5, $5, $5)
       ON CONFLICT (workspace_id, model_id) WHERE status IN ('queued', 'running', 'retrying')
       DO NOTHING RETURNING *`,
      [r.workspaceId, r.id, r.modelId, r.trigger, now],
    )
    return res.rows[0] ? toRun(res.rows[0]) : undefined
  },
  async activeRun(db: Queryable, ws: string, modelId: string) {
    const r = await db.query<Row>(
      `SELECT * FROM sync_runs WHERE workspace_id = $1 AND model_id = $2
         AND status IN ('queued', 'running', 'retrying')`,
      [ws, modelId],
    )
    return r.rows[0] ? toRun(r.rows[0]) : undefined
  },
  async getRun(db: Queryable, ws: string, id: string) {
    const r = await db.query<Row>(`SELECT * FROM sync_runs WHERE workspace_id = $1 AND id = $2`, [
      ws,
      id,
    ])
    return r.rows[0] ? toRun(r.rows[0]) : undefined
  },
  async listRuns(db: Queryable, ws: string, modelId: string, limit = 50) {
    const r = await db.query<Row>(
      `SELECT * FROM sync_runs WHERE workspace_id = $1 AND model_id = $2
       ORDER BY created_at DESC, id DESC LIMIT $3`,
      [ws, modelId, limit],
    )
    return r.rows.map(toRun)
  },
  /**
   * After a durable batch: counters, the checkpoint key and a longer lease, only while this
   * attempt still holds the run (a swept lease lets another worker take it). False: stop.
   */
  async checkpoint(
    db: Queryable,
    run: { workspaceId: string; id: string },
    c: RunCounters & { checkpointKey: string | null; maxCursor: string | null },
    now: Date,
    leaseUntil: Date,
  ): Promise<boolean> {
    const r = await db.query(
      `UPDATE sync_runs SET rows_read = $3, rows_changed = $4, rows_sent = $5, rows_skipped = $6,
         rows_rejected = $7, rows_deleted = $8, checkpoint_key = $9, max_cursor = $10,
         updated_at = $11, leased_until = $12
       WHERE workspace_id = $1 AND id = $2 AND status = 'running'`,
      [
        run.workspaceId,
        run.id,
        c.rowsRead,
        c.rowsChanged,
        c.rowsSent,
        c.rowsSkipped,
        c.rowsRejected,
        c.rowsDeleted,
        c.checkpointKey,
        c.maxCursor,
        now,
        leaseUntil,
      ],
    )
    return r.rowCount > 0
  },

  async knownRows(
    db: Queryable,
    ws: string,
    modelId: string,
    keys: readonly string[],
  ): Promise<Map<string, KnownRowRecord>> {
    const out = new Map<string, KnownRowRecord>()
    if (keys.length === 0) return out
    const r = await db.query<Row>(
      `SELECT row_key, checksum, version, sent, identity, fields FROM sync_rows
       WHERE workspace_id = $1 AND model_id = $2 AND row_key = ANY($3::text[])`,
      [ws, modelId, keys],
    )
    for (const row of r.rows) out.set(row.row_key as string, toKnown(row))
    return out
  },
  /** Writes the snapshot of a batch's changed rows and marks every row of it seen by the run. */
  async saveRows(
    db: Queryable,
    ws: string,
    modelId: string,
    runId: string,
    changed: readonly KnownRowRecord[],
    seen: readonly string[],
  ): Promise<void> {
    if (changed.length > 0) {
      await db.query(
        `INSERT INTO sync_rows (workspace_id, model_id, row_key, checksum, version, sent, identity,
           fields, seen_run)
         SELECT $1, $2, x.row_key, x.checksum, x.version, x.sent, x.identity, x.fields, $3
         FROM jsonb_to_recordset($4::jsonb)
           AS x(row_key text, checksum text, version int, sent boolean, identity jsonb, fields jsonb)
         ON CONFLICT (workspace_id, model_id, row_key) DO UPDATE SET checksum = excluded.checksum,
           version = excluded.version, sent = excluded.sent, identity = excluded.identity,
           fields = excluded.fields, seen_run = excluded.seen_run`,
        [
          ws,
          modelId,
          runId,
          JSON.stringify(
            changed.map((c) => ({
              row_key: c.rowKey,
              checksum: c.checksum,
              version: c.version,
              sent: c.sent,
              identity: c.identity,
              fields: c.fields,
            })),
          ),
        ],
      )
    }
    if (seen.length > 0) {
      await db.query(
        `UPDATE sync_rows SET seen_run = $3
         WHERE workspace_id = $1 AND model_id = $2 AND row_key = ANY($4::text[])`,
        [ws, modelId, runId, seen],
      )
    }
  },
  /** Rows a full scan by `runId` did not see (gone from the source), a page at a time. */
  async vanishedRows(db: Queryable, ws: string, modelId: string, runId: string, limit: number) {
    const r = await db.query<Row>(
      `SELECT row_key, checksum, version, sent, identity, fields FROM sync_rows
       WHERE workspace_id = $1 AND model_id = $2 AND seen_run IS DISTINCT FROM $3
       ORDER BY row_key LIMIT $4`,
      [ws, modelId, runId, limit],
    )
    return r.rows.map(toKnown)
  },
  async forgetRows(db: Queryable, ws: string, modelId: string, keys: readonly string[]) {
    if (keys.length === 0) return
    await db.query(
      `DELETE FROM sync_rows WHERE workspace_id = $1 AND model_id = $2 AND row_key = ANY($3::text[])`,
      [ws, modelId, keys],
    )
  },

  async insertRejects(
    db: Queryable,
    ws: string,
    runId: string,
    rejects: ReadonlyArray<{ rowKey: string; raw: unknown; errors: unknown }>,
  ) {
    if (rejects.length === 0) return
    await db.query(
      `INSERT INTO sync_rejects (workspace_id, run_id, row_key, raw, errors)
       SELECT $1, $2, x.row_key, x.raw, x.errors
       FROM jsonb_to_recordset($3::jsonb) AS x(row_key text, raw jsonb, errors jsonb)
       ON CONFLICT DO NOTHING`,
      [
        ws,
        runId,
        JSON.stringify(rejects.map((r) => ({ row_key: r.rowKey, raw: r.raw, errors: r.errors }))),
      ],
    )
  },
  async listRejects(
    db: Queryable,
    ws: string,
    runId: string,
    afterKey: string | null,
    limit: number,
  ) {
    const r = await db.query<{ row_key: string; raw: unknown; errors: unknown }>(
      `SELECT row_key, raw, errors FROM sync_rejects WHERE workspace_id = $1 AND run_id = $2
         AND ($3::text IS NULL OR row_key > $3) ORDER BY row_key LIMIT $4`,
      [ws, runId, afterKey, limit],
    )
    return r.rows.map((x) => ({ rowKey: x.row_key, raw: json(x.raw), errors: json(x.errors) }))
  },
}

function toKnown(row: Row): KnownRowRecord {
  return {
    rowKey: row.row_key as string,
    checksum: row.checksum as string,
    version: num(row.version),
    sent: row.sent === true,
    identity: json<Record<string, unknown>>(row.identity),
    fields: json<string[]>(row.fields),
  }
}
