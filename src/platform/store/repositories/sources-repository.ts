import type { Queryable } from '../db.js'

export interface SourceSettings {
  /** Per-write-key ingest rate limit (token bucket). */
  rateLimit?: { eventsPerSecond: number; burst: number }
  [key: string]: unknown
}

export interface Source {
  id: string
  workspaceId: string
  name: string
  writeKeyPrefix: string
  settings: SourceSettings
  createdAt: string
  updatedAt: string
}

interface Row {
  id: string
  workspace_id: string
  name: string
  write_key_prefix: string
  settings: SourceSettings
  created_at: Date | string
  updated_at: Date | string
}

const toSource = (r: Row): Source => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  writeKeyPrefix: r.write_key_prefix,
  settings: r.settings,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
})

const columns = 'id, workspace_id, name, write_key_prefix, settings, created_at, updated_at'

export const sourcesRepository = {
  async insert(
    db: Queryable,
    s: {
      id: string
      workspaceId: string
      name: string
      writeKeyHash: string
      writeKeyPrefix: string
      settings: SourceSettings
    },
  ): Promise<Source> {
    const res = await db.query<Row>(
      `INSERT INTO sources (id, workspace_id, name, write_key_hash, write_key_prefix, settings)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${columns}`,
      [s.id, s.workspaceId, s.name, s.writeKeyHash, s.writeKeyPrefix, JSON.stringify(s.settings)],
    )
    return toSource(res.rows[0] as Row)
  },
  async list(db: Queryable, workspaceId: string): Promise<Source[]> {
    const res = await db.query<Row>(
      `SELECT ${columns} FROM sources WHERE workspace_id = $1 ORDER BY created_at, id`,
      [workspaceId],
    )
    return res.rows.map(toSource)
  },
  async get(db: Queryable, workspaceId: string, id: string): Promise<Source | undefined> {
    const res = await db.query<Row>(
      `SELECT ${columns} FROM sources WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id],
    )
    const row = res.rows[0]
    return row ? toSource(row) : undefined
  },
  async findByWriteKeyHash(db: Queryable, hash: string): Promise<Source | undefined> {
    const res = await db.query<Row>(`SELECT ${columns} FROM sources WHERE write_key_hash = $1`, [
      hash,
    ])
    const row = res.rows[0]
    return row ? toSource(row) : undefined
  },
  async update(
    db: Queryable,
    workspaceId: string,
    id: string,
    patch: {
      name?: string
      settings?: SourceSettings
      writeKeyHash?: string
      writeKeyPrefix?: string
    },
  ): Promise<Source | undefined> {
    const res = await db.query<Row>(
      `UPDATE sources SET
         name = COALESCE($3, name),
         settings = COALESCE($4::jsonb, settings),
         write_key_hash = COALESCE($5, write_key_hash),
         write_key_prefix = COALESCE($6, write_key_prefix),
         updated_at = now()
       WHERE workspace_id = $1 AND id = $2 RETURNING ${columns}`,
      [
        workspaceId,
        id,
        patch.name ?? null,
        patch.settings === undefined ? null : JSON.stringify(patch.settings),
        patch.writeKeyHash ?? null,
        patch.writeKeyPrefix ?? null,
      ],
    )
    const row = res.rows[0]
    return row ? toSource(row) : undefined
  },
  async delete(db: Queryable, workspaceId: string, id: string): Promise<boolean> {
    const res = await db.query('DELETE FROM sources WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ])
    return res.rowCount > 0
  },
}
