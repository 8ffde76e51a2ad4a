/**
 * @module engine/destinations/repository
 * Destination instances in the store, and the delivery jobs that follow an instance (its initial
 * audience sync; its pending work and dead letters, deleted with it). Settings are stored as
 * given (secret fields already encrypted by the caller). The jobs themselves (counts, dead
 * letters, replay) and the delivery log are read in `dispatcher/`.
 */
import type { Queryable } from '../../platform/store/db.js'
import { actionsSchema, type DestinationActions } from '../core/destination-config.js'

export interface DestinationRow {
  workspaceId: string
  id: string
  type: string
  name: string
  /** Secret fields encrypted. */
  settings: Record<string, unknown>
  actions: DestinationActions
  enabled: boolean
  rateLimit: number | null
  /** Hours a failing delivery is retried before it is a dead letter; null: the default (24 h). */
  retryHours: number | null
  /** The consent purpose its deliveries serve; null: its type's (the manifest's). */
  purpose: string | null
  status: 'healthy' | 'degraded'
  consecutiveFailures: number
  lastError: string | null
  lastSuccessAt: string | null
  lastFailureAt: string | null
  createdAt: string
  updatedAt: string
}

interface RawRow {
  workspace_id: string
  id: string
  type: string
  name: string
  settings: Record<string, unknown>
  actions: unknown
  enabled: boolean
  rate_limit: number | null
  retry_hours: number | null
  purpose: string | null
  status: 'healthy' | 'degraded'
  consecutive_failures: number
  last_error: string | null
  last_success_at: Date | string | null
  last_failure_at: Date | string | null
  created_at: Date | string
  updated_at: Date | string
}

const iso = (v: Date | string | null): string | null =>
  v === null ? null : v instanceof Date ? v.toISOString() : new Date(v).toISOString()

function fromRow(r: RawRow): DestinationRow {
  return {
    workspaceId: r.workspace_id,
    id: r.id,
    type: r.type,
    name: r.name,
    settings: r.settings,
    actions: actionsSchema.parse(r.actions),
    enabled: r.enabled,
    rateLimit: r.rate_limit === null ? null : Number(r.rate_limit),
    retryHours:
      r.retry_hours === null || r.retry_hours === undefined ? null : Number(r.retry_hours),
    purpose: r.purpose ?? null,
    status: r.status,
    consecutiveFailures: r.consecutive_failures,
    lastError: r.last_error,
    lastSuccessAt: iso(r.last_success_at),
    lastFailureAt: iso(r.last_failure_at),
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
  }
}

export const destinationsRepository = {
  async list(db: Queryable, workspaceId: string): Promise<DestinationRow[]> {
    const r = await db.query<RawRow>(
      'SELECT * FROM destinations WHERE workspace_id = $1 ORDER BY created_at, id',
      [workspaceId],
    )
    return r.rows.map(fromRow)
  },

  async listEnabled(db: Queryable, workspaceId: string): Promise<DestinationRow[]> {
    const r = await db.query<RawRow>(
      'SELECT * FROM destinations WHERE workspace_id = $1 AND enabled ORDER BY id',
      [workspaceId],
    )
    return r.rows.map(fromRow)
  },

  async get(db: Queryable, workspaceId: string, id: string): Promise<DestinationRow | undefined> {
    const r = await db.query<RawRow>(
      'SELECT * FROM destinations WHERE workspace_id = $1 AND id = $2',
      [workspaceId, id],
    )
    return r.rows[0] ? fromRow(r.rows[0]) : undefined
  },

  async getById(db: Queryable, id: string): Promise<DestinationRow | undefined> {
    const r = await db.query<RawRow>('SELECT * FROM destinations WHERE id = $1', [id])
    return r.rows[0] ? fromRow(r.rows[0]) : undefined
  },

  async insert(
    db: Queryable,
    d: Pick<
      DestinationRow,
      | 'workspaceId'
      | 'id'
      | 'type'
      | 'name'
      | 'settings'
      | 'actions'
      | 'enabled'
      | 'rateLimit'
      | 'retryHours'
      | 'purpose'
    >,
    now: Date,
  ): Promise<DestinationRow> {
    const r = await db.query<RawRow>(
      `INSERT INTO destinations (workspace_id, id, type, name, settings, actions, enabled, rate_limit,
         retry_hours, purpose, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $11, $9, $9) RETURNING *`,
      [
        d.workspaceId,
        d.id,
        d.type,
        d.name,
        JSON.stringify(d.settings),
        JSON.stringify(d.actions),
        d.enabled,
        d.rateLimit,
        now.toISOString(),
        d.retryHours,
        d.purpose,
      ],
    )
    return fromRow(r.rows[0] as RawRow)
  },

  async update(
    db: Queryable,
    d: Pick<
      DestinationRow,
      | 'workspaceId'
      | 'id'
      | 'name'
      | 'settings'
      | 'actions'
      | 'enabled'
      | 'rateLimit'
      | 'retryHours'
      | 'purpose'
    >,
    now: Date,
  ): Promise<DestinationRow | undefined> {
    const r = await db.query<RawRow>(
      `UPDATE destinations SET name = $3, settings = $4, actions = $5, enabled = $6,
         rate_limit = $7, updated_at = $8, retry_hours = $9, purpose = $10
       WHERE workspace_id = $1 AND id = $2 RETURNING *`,
      [
        d.workspaceId,
        d.id,
        d.name,
        JSON.stringify(d.settings),
        JSON.stringify(d.actions),
        d.enabled,
        d.rateLimit,
        now.toISOString(),
        d.retryHours,
        d.purpose,
      ],
    )
    return r.rows[0] ? fromRow(r.rows[0]) : undefined
  },

  /** Deletes the instance and its pending work; the delivery log stays for inspection. */
  async delete(db: Queryable, workspaceId: string, id: string): Promise<boolean> {
    const r = await db.query('DELETE FROM destinations WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ])
    if (r.rowCount === 0) return false
    await db.query(
      `DELETE FROM delivery_jobs WHERE workspace_id = $1 AND destination_id = $2
         AND state IN ('pending', 'in_flight', 'dead')`,
      [workspaceId, id],
    )
    return true
  },
}

/** Enqueue the current members of segments as audience adds (initial full sync). */
export async function enqueueInitialAudienceSync(
  db: Queryable,
  d: { workspaceId: string; id: string },
  segmentIds: string[],
  now: Date,
): Promise<number> {
  if (segmentIds.length === 0) return 0
  const at = now.toISOString()
  const r = await db.query(
    `INSERT INTO delivery_jobs (workspace_id, destination_id, kind, profile_id, input,
       idempotency_key, next_attempt_at, created_at, updated_at)
     SELECT m.workspace_id, $2, 'audience', m.profile_id,
       jsonb_build_object('kind', 'audience', 'action', 'add', 'audience',
         jsonb_build_object('id', m.segment_id, 'name', coalesce(s.name, m.segment_id), 'key', m.segment_id)),
       'initial:' || m.segment_id || ':' || m.profile_id || ':' || $4, $4::timestamptz, $4::timestamptz,
       $4::timestamptz
     FROM segment_members m
     LEFT JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
     WHERE m.workspace_id = $1 AND m.segment_id = ANY($3::text[])
     ON CONFLICT (destination_id, idempotency_key) DO NOTHING`,
    [d.workspaceId, d.id, segmentIds, at],
  )
  return r.rowCount
}
