import type { Queryable } from '../db.js'

/** One audit row as written. The table is append-only (a trigger rejects UPDATE and DELETE). */
export interface AuditRecord {
  workspaceId: string | null
  at: Date
  actorKind: 'user' | 'key' | 'anonymous' | 'system'
  actorId: string | null
  actorLabel: string | null
  action: string
  targetType: string | null
  targetId: string | null
  outcome: 'success' | 'failure' | 'denied'
  status: number | null
  before: unknown
  after: unknown
  requestId: string | null
  ip: string | null
  method: string | null
  path: string | null
}

export interface AuditEntry extends Omit<AuditRecord, 'at'> {
  id: string
  at: string
}

interface Row {
  id: string | number
  workspace_id: string | null
  at: Date | string
  actor_kind: AuditRecord['actorKind']
  actor_id: string | null
  actor_label: string | null
  action: string
  target_type: string | null
  target_id: string | null
  outcome: AuditRecord['outcome']
  status: number | null
  before: unknown
  after: unknown
  request_id: string | null
  ip: string | null
  method: string | null
  path: string | null
}

const toEntry = (r: Row): AuditEntry => ({
  id: String(r.id),
  workspaceId: r.workspace_id,
  at: new Date(r.at).toISOString(),
  actorKind: r.actor_kind,
  actorId: r.actor_id,
  actorLabel: r.actor_label,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  outcome: r.outcome,
  status: r.status,
  before: r.before,
  after: r.after,
  requestId: r.request_id,
  ip: r.ip,
  method: r.method,
  path: r.path,
})

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v))

export const auditRepository = {
  /** The only write path: INSERT. */
  async append(db: Queryable, e: AuditRecord): Promise<void> {
    await db.query(
      `INSERT INTO audit_log (workspace_id, at, actor_kind, actor_id, actor_label, action,
         target_type, target_id, outcome, status, before, after, request_id, ip, method, path)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13, $14, $15, $16)`,
      [
        e.workspaceId,
        e.at,
        e.actorKind,
        e.actorId,
        e.actorLabel,
        e.action,
        e.targetType,
        e.targetId,
        e.outcome,
        e.status,
        json(e.before),
        json(e.after),
        e.requestId,
        e.ip,
        e.method,
        e.path,
      ],
    )
  },
  /** Newest first, keyset-paged by id (`before` = the last id of the previous page). */
  async list(
    db: Queryable,
    q: {
      workspaceId: string
      includeGlobal: boolean
      beforeId?: string | undefined
      actorId?: string | undefined
      action?: string | undefined
      since?: Date | undefined
      until?: Date | undefined
      limit: number
    },
  ): Promise<AuditEntry[]> {
    const where: string[] = [
      q.includeGlobal ? '(workspace_id = $1 OR workspace_id IS NULL)' : 'workspace_id = $1',
    ]
    const params: unknown[] = [q.workspaceId]
    const add = (sql: string, v: unknown) => {
      params.push(v)
      where.push(sql.replace('?', `$${params.length}`))
    }
    if (q.beforeId !== undefined) add('id < ?::bigint', q.beforeId)
    if (q.actorId !== undefined) add('actor_id = ?', q.actorId)
    // `source.` matches every source action; `source.create` exactly that one.
    if (q.action !== undefined) {
      if (q.action.endsWith('.')) add("action LIKE ? || '%'", q.action)
      else add('action = ?', q.action)
    }
    if (q.since !== undefined) add('at >= ?', q.since)
    if (q.until !== undefined) add('at < ?', q.until)
    params.push(q.limit)
    const res = await db.query<Row>(
      `SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    )
    return res.rows.map(toEntry)
  },
}
