import type { Queryable } from '../db.js'

export interface ApiKey {
  id: string
  workspaceId: string | null
  name: string
  keyPrefix: string
  scopes: string[]
  createdAt: string
}

interface Row {
  id: string
  workspace_id: string | null
  name: string
  key_prefix: string
  scopes: string[]
  created_at: Date | string
}

const toKey = (r: Row): ApiKey => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  keyPrefix: r.key_prefix,
  scopes: r.scopes,
  createdAt: new Date(r.created_at).toISOString(),
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
    },
  ): Promise<ApiKey> {
    const res = await db.query<Row>(
      `INSERT INTO api_keys (id, workspace_id, name, key_hash, key_prefix, scopes)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL
       RETURNING *`,
      [key.id, key.workspaceId, key.name, key.keyHash, key.keyPrefix, key.scopes],
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
  async countAdmin(db: Queryable): Promise<number> {
    const res = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM api_keys WHERE 'admin' = ANY(scopes) AND revoked_at IS NULL`,
    )
    return res.rows[0]?.n ?? 0
  },
}
