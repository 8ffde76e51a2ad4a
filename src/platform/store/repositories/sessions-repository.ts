import type { Queryable } from '../db.js'

export interface Session {
  id: string
  userId: string
  createdAt: string
  expiresAt: string
}

interface Row {
  id: string
  user_id: string
  created_at: Date | string
  expires_at: Date | string
}

const toSession = (r: Row): Session => ({
  id: r.id,
  userId: r.user_id,
  createdAt: new Date(r.created_at).toISOString(),
  expiresAt: new Date(r.expires_at).toISOString(),
})

export const sessionsRepository = {
  async insert(
    db: Queryable,
    s: {
      id: string
      userId: string
      tokenHash: string
      createdAt: Date
      expiresAt: Date
      ip: string | null
      userAgent: string | null
    },
  ): Promise<Session> {
    const res = await db.query<Row>(
      `INSERT INTO user_sessions (id, user_id, token_hash, created_at, expires_at, ip, user_agent)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [s.id, s.userId, s.tokenHash, s.createdAt, s.expiresAt, s.ip, s.userAgent],
    )
    return toSession(res.rows[0] as Row)
  },
  /** A live session: not revoked and not expired at `now`. */
  async findLive(db: Queryable, tokenHash: string, now: Date): Promise<Session | undefined> {
    const res = await db.query<Row>(
      `SELECT * FROM user_sessions
       WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2`,
      [tokenHash, now],
    )
    const row = res.rows[0]
    return row ? toSession(row) : undefined
  },
  async revoke(db: Queryable, id: string, now: Date): Promise<void> {
    await db.query(
      'UPDATE user_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL',
      [id, now],
    )
  },
  /**
   * Ends every live session of a user (a password set by someone else), or every one but
   * `keepSessionId` (the user changed it in this session). Returns how many ended.
   */
  async revokeAllOfUser(
    db: Queryable,
    userId: string,
    now: Date,
    keepSessionId?: string,
  ): Promise<number> {
    const res = await db.query(
      `UPDATE user_sessions SET revoked_at = $2
       WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
         AND ($3::text IS NULL OR id <> $3)`,
      [userId, now, keepSessionId ?? null],
    )
    return res.rowCount
  },
}
