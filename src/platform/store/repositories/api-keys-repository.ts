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
  /** Global keys made at start: `env` from KINDRED_ADMIN_TOKEN, `generated` on first start. */
  origin: KeyOrigin | null
}

export type KeyOrigin = 'env' | 'generated'

interface Row {
  id: string
  workspace_id: string | null
  name: string
  key_prefix: string
  scopes: string[]
  created_at: Date | string
  created_by: string | null
  revoked_at: Date | string | null
  origin: KeyOrigin | null
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
  origin: r.origin ?? null,
})

export const apiKeysRepository = {
  /**
   * Inserts a key. A key whose hash is already stored is returned as stored, revoked or not:
   * registering a secret again (the same KINDRED_ADMIN_TOKEN on every start) must never bring a
   * revoked key back.
   */
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
      origin?: KeyOrigin | null
    },
  ): Promise<ApiKey> {
    const res = await db.query<Row>(
      `INSERT INTO api_keys (id, workspace_id, name, key_hash, key_prefix, scopes, created_by, origin)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key_hash) DO NOTHING
       RETURNING *`,
      [
        key.id,
        key.workspaceId,
        key.name,
        key.keyHash,
        key.keyPrefix,
        key.scopes,
        key.createdBy ?? null,
        key.origin ?? null,
      ],
    )
    const inserted = res.rows[0]
    if (inserted) return toKey(inserted)
    const existing = await db.query<Row>('SELECT * FROM api_keys WHERE key_hash = $1', [
      key.keyHash,
    ])
    return toKey(existing.rows[0] as Row)
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
  /** Live keys for every workspace (workspace_id NULL): the admin token and its predecessors. */
  async listGlobal(db: Queryable): Promise<ApiKey[]> {
    const res = await db.query<Row>(
      `SELECT * FROM api_keys WHERE workspace_id IS NULL AND revoked_at IS NULL
       ORDER BY created_at DESC, id`,
    )
    return res.rows.map(toKey)
  },
  async getGlobal(db: Queryable, id: string): Promise<ApiKey | undefined> {
    const res = await db.query<Row>(
      'SELECT * FROM api_keys WHERE workspace_id IS NULL AND id = $1 AND revoked_at IS NULL',
      [id],
    )
    const row = res.rows[0]
    return row ? toKey(row) : undefined
  },
  async revokeGlobal(db: Queryable, id: string, at: Date): Promise<boolean> {
    const res = await db.query(
      `UPDATE api_keys SET revoked_at = $2
       WHERE workspace_id IS NULL AND id = $1 AND revoked_at IS NULL`,
      [id, at],
    )
    return res.rowCount > 0
  },
  /** Revokes the keys of earlier KINDRED_ADMIN_TOKEN values (all but `keepHash`); their ids. */
  async revokeEnvKeysExcept(db: Queryable, keepHash: string, at: Date): Promise<string[]> {
    const res = await db.query<{ id: string }>(
      `UPDATE api_keys SET revoked_at = $2
       WHERE origin = 'env' AND key_hash <> $1 AND revoked_at IS NULL RETURNING id`,
      [keepHash, at],
    )
    return res.rows.map((r) => r.id)
  },
}
