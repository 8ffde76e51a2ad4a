import type { UserRole } from '../../../protocol/scopes.js'
import type { Queryable } from '../db.js'

export interface User {
  id: string
  email: string
  name: string | null
  createdAt: string
}

export interface Member extends User {
  role: UserRole
}

/** A workspace a user belongs to, and their role in it. */
export interface Membership {
  workspaceId: string
  workspaceName: string
  role: UserRole
}

interface Row {
  id: string
  email: string
  name: string | null
  password_hash: string
  created_at: Date | string
  role?: UserRole
}

const toUser = (r: Row): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  createdAt: new Date(r.created_at).toISOString(),
})

export const usersRepository = {
  async insert(
    db: Queryable,
    user: { id: string; email: string; name: string | null; passwordHash: string },
  ): Promise<User> {
    const res = await db.query<Row>(
      `INSERT INTO users (id, email, name, password_hash) VALUES ($1, lower($2), $3, $4)
       RETURNING *`,
      [user.id, user.email, user.name, user.passwordHash],
    )
    return toUser(res.rows[0] as Row)
  },
  /** The user and the stored password hash (login only). */
  async findByEmail(
    db: Queryable,
    email: string,
  ): Promise<{ user: User; passwordHash: string } | undefined> {
    const res = await db.query<Row>('SELECT * FROM users WHERE email = lower($1)', [email])
    const row = res.rows[0]
    return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined
  },
  async get(db: Queryable, id: string): Promise<User | undefined> {
    const res = await db.query<Row>('SELECT * FROM users WHERE id = $1', [id])
    const row = res.rows[0]
    return row ? toUser(row) : undefined
  },
  /** The stored password hash of a user (password changes check the current one). */
  async passwordHashOf(db: Queryable, id: string): Promise<string | undefined> {
    const res = await db.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [id],
    )
    return res.rows[0]?.password_hash
  },
  /**
   * Sets the password hash. With `expectedHash`, only if the stored hash is still that one (a
   * change checked against the current password must not overwrite a concurrent change).
   * Returns whether the row changed.
   */
  async setPassword(
    db: Queryable,
    id: string,
    passwordHash: string,
    expectedHash?: string,
  ): Promise<boolean> {
    const res = await db.query(
      `UPDATE users SET password_hash = $2, updated_at = now()
       WHERE id = $1 AND ($3::text IS NULL OR password_hash = $3)`,
      [id, passwordHash, expectedHash ?? null],
    )
    return res.rowCount > 0
  },
  async memberships(db: Queryable, userId: string): Promise<Membership[]> {
    const res = await db.query<{ workspace_id: string; name: string; role: UserRole }>(
      `SELECT m.workspace_id, w.name, m.role FROM workspace_members m
       JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1
       ORDER BY w.created_at, w.id`,
      [userId],
    )
    return res.rows.map((r) => ({
      workspaceId: r.workspace_id,
      workspaceName: r.name,
      role: r.role,
    }))
  },
  async role(db: Queryable, workspaceId: string, userId: string): Promise<UserRole | undefined> {
    const res = await db.query<{ role: UserRole }>(
      'SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2',
      [workspaceId, userId],
    )
    return res.rows[0]?.role
  },
  async listMembers(db: Queryable, workspaceId: string): Promise<Member[]> {
    const res = await db.query<Row>(
      `SELECT u.*, m.role FROM workspace_members m JOIN users u ON u.id = m.user_id
       WHERE m.workspace_id = $1 ORDER BY u.email`,
      [workspaceId],
    )
    return res.rows.map((r) => ({ ...toUser(r), role: r.role as UserRole }))
  },
  async getMember(db: Queryable, workspaceId: string, userId: string): Promise<Member | undefined> {
    const res = await db.query<Row>(
      `SELECT u.*, m.role FROM workspace_members m JOIN users u ON u.id = m.user_id
       WHERE m.workspace_id = $1 AND m.user_id = $2`,
      [workspaceId, userId],
    )
    const row = res.rows[0]
    return row ? { ...toUser(row), role: row.role as UserRole } : undefined
  },
  async setRole(db: Queryable, workspaceId: string, userId: string, role: UserRole): Promise<void> {
    await db.query(
      `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
      [workspaceId, userId, role],
    )
  },
  async removeMember(db: Queryable, workspaceId: string, userId: string): Promise<boolean> {
    const res = await db.query(
      'DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2',
      [workspaceId, userId],
    )
    return res.rowCount > 0
  },
  /** Owners of the workspace, locked: the last-owner check and the change share a transaction. */
  async lockOwners(db: Queryable, workspaceId: string): Promise<string[]> {
    const res = await db.query<{ user_id: string }>(
      `SELECT user_id FROM workspace_members WHERE workspace_id = $1 AND role = 'owner'
       FOR UPDATE`,
      [workspaceId],
    )
    return res.rows.map((r) => r.user_id)
  },
}
