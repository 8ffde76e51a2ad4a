import type { Queryable } from '../db.js'

export interface ApiKey {
  id: string
  workspaceId: string | null
  name: string
  keyPrefix: string
  scopes: string[]
  createdAt: string
  /** `user:<id>` or `key:<id>`; null for keys made at bootstrap. */
  createdBy: string | null
  revokedAt: string | null
}

interface Row {
  id: string
  workspace_id: string | null
  name: string
  key_prefix: string
  scopes: string[]
  created_at: Date | string
  created_by: string | null
  revoked_at: Date | string | null
}

const toKey = (r: Row): ApiKey => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  keyPrefix: r.key_prefix,
  scopes: r.scopes,
  createdAt: new Date(r.created_at).toISOString(),
  createdBy: r.created_by,
  revokedAt: r.revoked_at === null ? null : new Date(r.revoked_at).toISOString(),
})

export const apiKeysRepository = {
  async insert(
    db: Queryable,
    key: {
      id: string
      workspaceId: string | null
      name: string
      keyHash: string
      keyPrefix: string
      scopes: string[]
      createdBy?: string | null
    },
  ): Promise<ApiKey> {
    const res = await db.query<Row>(
      `INSERT INTO api_keys (id, workspace_id, name, key_hash, key_prefix, scopes, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL
       RETURNING *`,
      [
        key.id,
        key.workspaceId,
        key.name,
        key.keyHash,
        key.keyPrefix,
        key.scopes,
        key.createdBy ?? null,
      ],
    )
    return toKey(res.rows[0] as Row)
  },
  async findByHash(db: Queryable, keyHash: string): Promise<ApiKey | undefined> {
    const res = await db.query<Row>(
      'SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [keyHash],
    )
    const row = res.rows[0]
    return row ? toKey(row) : undefined
  },
  /** Keys bound to this workspace (global bootstrap keys are not listed per workspace). */
  async list(db: Queryable, workspaceId: string): Promise<ApiKey[]> {
    const res = await db.query<Row>(
      `SELECT * FROM api_keys WHERE workspace_id = $1 AND revoked_at IS NULL
       ORDER BY created_at DESC, id`,
      [workspaceId],
    )
    return res.rows.map(toKey)
  },
  async get(db: Queryable, workspaceId: string, id: string): Promise<ApiKey | undefined> {
    const res = await db.query<Row>(
      'SELECT * FROM api_keys WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL',
      [workspaceId, id],
    )
    const row = res.rows[0]
    return row ? toKey(row) : undefined
  },
  async revoke(db: Queryable, workspaceId: string, id: string, at: Date): Promise<boolean> {
    const res = await db.query(
      `UPDATE api_keys SET revoked_at = $3
       WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL`,
      [workspaceId, id, at],
    )
    return res.rowCount > 0
  },
  async countAdmin(db: Queryable): Promise<number> {
    const res = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM api_keys WHERE 'admin' = ANY(scopes) AND revoked_at IS NULL`,
    )
    return res.rows[0]?.n ?? 0
  },
}
