import type { Queryable } from '../db.js'

export interface Workspace {
  id: string
  name: string
  settings: Record<string, unknown>
  createdAt: string
}

interface Row {
  id: string
  name: string
  settings: Record<string, unknown>
  created_at: Date | string
}

const toWorkspace = (r: Row): Workspace => ({
  id: r.id,
  name: r.name,
  settings: r.settings,
  createdAt: new Date(r.created_at).toISOString(),
})

export const DEFAULT_WORKSPACE_ID = 'default'

export const workspacesRepository = {
  async ensureDefault(db: Queryable): Promise<Workspace> {
    await db.query(
      `INSERT INTO workspaces (id, name) VALUES ($1, 'Default workspace') ON CONFLICT (id) DO NOTHING`,
      [DEFAULT_WORKSPACE_ID],
    )
    const ws = await this.get(db, DEFAULT_WORKSPACE_ID)
    if (!ws) throw new Error('default workspace vanished')
    return ws
  },
  async create(db: Queryable, id: string, name: string): Promise<Workspace> {
    const res = await db.query<Row>(
      'INSERT INTO workspaces (id, name) VALUES ($1, $2) RETURNING *',
      [id, name],
    )
    return toWorkspace(res.rows[0] as Row)
  },
  async get(db: Queryable, id: string): Promise<Workspace | undefined> {
    const res = await db.query<Row>('SELECT * FROM workspaces WHERE id = $1', [id])
    const row = res.rows[0]
    return row ? toWorkspace(row) : undefined
  },
  async list(db: Queryable, ids?: string[]): Promise<Workspace[]> {
    const res =
      ids === undefined
        ? await db.query<Row>('SELECT * FROM workspaces ORDER BY created_at, id')
        : await db.query<Row>(
            'SELECT * FROM workspaces WHERE id = ANY($1) ORDER BY created_at, id',
            [ids],
          )
    return res.rows.map(toWorkspace)
  },
}
