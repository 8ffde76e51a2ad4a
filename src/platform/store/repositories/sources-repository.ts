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
  /** The current write key's first characters (the key itself: `GET …/write-keys`). */
  writeKeyPrefix: string
  /** When the current write key was issued (created with the source, or by a rotation). */
  writeKeyIssuedAt: string
  settings: SourceSettings
  createdAt: string
  updatedAt: string
}

/**
 * One write key of a source as stored: the current one (`id` null: it is replaced by rotating,
 * never removed alone) or one a rotation retired, which works until `expiresAt`.
 */
export interface WriteKeyRecord {
  id: string | null
  prefix: string
  /** The key sealed under the secret key; null for keys made when only a hash was kept. */
  sealed: string | null
  issuedAt: string
  retiredAt: string | null
  expiresAt: string | null
}

/** A new write key as the store keeps it (the plain key never reaches the store). */
export interface StoredWriteKey {
  hash: string
  prefix: string
  sealed: string | null
}

interface Row {
  id: string
  workspace_id: string
  name: string
  write_key_prefix: string
  write_key_issued_at: Date | string
  settings: SourceSettings
  created_at: Date | string
  updated_at: Date | string
}

const iso = (v: Date | string): string => new Date(v).toISOString()

const toSource = (r: Row): Source => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  writeKeyPrefix: r.write_key_prefix,
  writeKeyIssuedAt: iso(r.write_key_issued_at),
  settings: r.settings,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
})

const columns =
  'id, workspace_id, name, write_key_prefix, write_key_issued_at, settings, created_at, updated_at'
const qualified = columns
  .split(', ')
  .map((c) => `s.${c}`)
  .join(', ')

export const sourcesRepository = {
  async insert(
    db: Queryable,
    s: {
      id: string
      workspaceId: string
      name: string
      writeKeyHash: string
      writeKeyPrefix: string
      /** The key sealed under the secret key, so it can be shown again (omitted: hash only). */
      writeKeySealed?: string | null
      settings: SourceSettings
    },
  ): Promise<Source> {
    const res = await db.query<Row>(
      `INSERT INTO sources
         (id, workspace_id, name, write_key_hash, write_key_prefix, write_key_sealed, settings)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${columns}`,
      [
        s.id,
        s.workspaceId,
        s.name,
        s.writeKeyHash,
        s.writeKeyPrefix,
        s.writeKeySealed ?? null,
        JSON.stringify(s.settings),
      ],
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
  /**
   * The source a write key opens at `at`: its current key (never expires) or a retired one still
   * in its overlap, with that key's expiry so a cache can stop honouring it on time.
   */
  async findByWriteKeyHash(
    db: Queryable,
    hash: string,
    at: Date,
  ): Promise<{ source: Source; expiresAt: Date | null } | undefined> {
    const res = await db.query<Row & { expires_at: Date | string | null }>(
      `SELECT ${columns}, NULL::timestamptz AS expires_at FROM sources WHERE write_key_hash = $1
       UNION ALL
       SELECT ${qualified}, k.expires_at FROM source_retired_write_keys k
       JOIN sources s ON s.workspace_id = k.workspace_id AND s.id = k.source_id
       WHERE k.key_hash = $1 AND k.expires_at > $2
       LIMIT 1`,
      [hash, at],
    )
    const row = res.rows[0]
    return row
      ? {
          source: toSource(row),
          expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
        }
      : undefined
  },
  /** Every key of a source that still opens it at `at`: the current one first. */
  async listWriteKeys(
    db: Queryable,
    workspaceId: string,
    sourceId: string,
    at: Date,
  ): Promise<WriteKeyRecord[] | undefined> {
    const current = await db.query<{
      write_key_prefix: string
      write_key_sealed: string | null
      write_key_issued_at: Date | string
    }>(
      `SELECT write_key_prefix, write_key_sealed, write_key_issued_at FROM sources
       WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, sourceId],
    )
    const row = current.rows[0]
    if (!row) return undefined
    const retired = await db.query<{
      id: string
      key_prefix: string
      key_sealed: string | null
      issued_at: Date | string
      retired_at: Date | string
      expires_at: Date | string
    }>(
      `SELECT id, key_prefix, key_sealed, issued_at, retired_at, expires_at
       FROM source_retired_write_keys
       WHERE workspace_id = $1 AND source_id = $2 AND expires_at > $3
       ORDER BY retired_at DESC, id`,
      [workspaceId, sourceId, at],
    )
    return [
      {
        id: null,
        prefix: row.write_key_prefix,
        sealed: row.write_key_sealed,
        issuedAt: iso(row.write_key_issued_at),
        retiredAt: null,
        expiresAt: null,
      },
      ...retired.rows.map((r) => ({
        id: r.id,
        prefix: r.key_prefix,
        sealed: r.key_sealed,
        issuedAt: iso(r.issued_at),
        retiredAt: iso(r.retired_at),
        expiresAt: iso(r.expires_at),
      })),
    ]
  },
  /**
   * Replaces the current write key with `next`, inside the caller's transaction. The old key is
   * kept as a retired key until `retire.expiresAt` when that is later than `at` (an overlap of
   * zero stops it at once); retired keys already past their expiry are deleted here.
   */
  async replaceWriteKey(
    tx: Queryable,
    workspaceId: string,
    sourceId: string,
    next: StoredWriteKey,
    retire: { id: string; at: Date; expiresAt: Date },
  ): Promise<{ source: Source; retired: WriteKeyRecord | null } | undefined> {
    // The row lock makes concurrent rotations of one source take turns, so each retires the key
    // the other issued instead of both retiring the same one.
    const old = await tx.query<{
      write_key_hash: string
      write_key_prefix: string
      write_key_sealed: string | null
      write_key_issued_at: Date | string
    }>(
      `SELECT write_key_hash, write_key_prefix, write_key_sealed, write_key_issued_at FROM sources
       WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
      [workspaceId, sourceId],
    )
    const was = old.rows[0]
    if (!was) return undefined
    await tx.query(
      `DELETE FROM source_retired_write_keys
       WHERE workspace_id = $1 AND source_id = $2 AND expires_at <= $3`,
      [workspaceId, sourceId, retire.at],
    )
    let retired: WriteKeyRecord | null = null
    if (retire.expiresAt.getTime() > retire.at.getTime()) {
      await tx.query(
        `INSERT INTO source_retired_write_keys (workspace_id, id, source_id, key_hash, key_prefix,
           key_sealed, issued_at, retired_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          workspaceId,
          retire.id,
          sourceId,
          was.write_key_hash,
          was.write_key_prefix,
          was.write_key_sealed,
          was.write_key_issued_at,
          retire.at,
          retire.expiresAt,
        ],
      )
      retired = {
        id: retire.id,
        prefix: was.write_key_prefix,
        sealed: was.write_key_sealed,
        issuedAt: iso(was.write_key_issued_at),
        retiredAt: retire.at.toISOString(),
        expiresAt: retire.expiresAt.toISOString(),
      }
    }
    const res = await tx.query<Row>(
      `UPDATE sources SET write_key_hash = $3, write_key_prefix = $4, write_key_sealed = $5,
         write_key_issued_at = $6, updated_at = now()
       WHERE workspace_id = $1 AND id = $2 RETURNING ${columns}`,
      [workspaceId, sourceId, next.hash, next.prefix, next.sealed, retire.at],
    )
    return { source: toSource(res.rows[0] as Row), retired }
  },
  /** Ends a retired key's overlap now; false when no such key still works. */
  async expireRetiredWriteKey(
    db: Queryable,
    workspaceId: string,
    sourceId: string,
    keyId: string,
    at: Date,
  ): Promise<boolean> {
    const res = await db.query(
      `UPDATE source_retired_write_keys SET expires_at = $4
       WHERE workspace_id = $1 AND source_id = $2 AND id = $3 AND expires_at > $4`,
      [workspaceId, sourceId, keyId, at],
    )
    return res.rowCount > 0
  },
  async update(
    db: Queryable,
    workspaceId: string,
    id: string,
    // Write keys change only through replaceWriteKey, which keeps the old one for its overlap.
    patch: { name?: string; settings?: SourceSettings },
  ): Promise<Source | undefined> {
    const res = await db.query<Row>(
      `UPDATE sources SET
         name = COALESCE($3, name),
         settings = COALESCE($4::jsonb, settings),
         updated_at = now()
       WHERE workspace_id = $1 AND id = $2 RETURNING ${columns}`,
      [
        workspaceId,
        id,
        patch.name ?? null,
        patch.settings === undefined ? null : JSON.stringify(patch.settings),
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
