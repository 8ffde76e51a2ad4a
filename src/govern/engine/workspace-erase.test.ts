import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../../platform/store/open-store.js'
import { workspacesRepository } from '../../platform/store/repositories/workspaces-repository.js'
import { eraseWorkspace, workspaceTablesInDeleteOrder } from './workspace-erase.js'

let store: Store
beforeAll(async () => {
  store = await openStore({})
})
afterAll(() => store.close())

describe('workspace erase', () => {
  it('orders every workspace table before the tables its foreign keys point at', async () => {
    const order = await workspaceTablesInDeleteOrder(store.db)
    expect(order).toContain('profiles')
    expect(order).toContain('identities')
    expect(order).not.toContain('audit_log')
    const fks = await store.db.query<{ child: string; parent: string }>(
      `SELECT cl.relname AS child, pa.relname AS parent FROM pg_constraint co
       JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_class pa ON pa.oid = co.confrelid
       WHERE co.contype = 'f' AND cl.relname <> pa.relname`,
    )
    for (const { child, parent } of fks.rows) {
      if (order.includes(child) && order.includes(parent)) {
        expect(order.indexOf(child), `${child} before ${parent}`).toBeLessThan(
          order.indexOf(parent),
        )
      }
    }
  })

  it('deletes every row of the workspace and nothing of another', async () => {
    const db = store.db
    await workspacesRepository.create(db, 'doomed', 'Doomed')
    await workspacesRepository.create(db, 'kept', 'Kept')
    for (const ws of ['doomed', 'kept']) {
      await db.query(
        `INSERT INTO profiles (workspace_id, id, created_at, updated_at) VALUES ($1, 'prf_1', now(), now())`,
        [ws],
      )
      await db.query(
        `INSERT INTO identities (workspace_id, type, value, profile_id, first_seen_at) VALUES ($1, 'user_id', 'u1', 'prf_1', now())`,
        [ws],
      )
    }
    const before = await db.transaction((tx) => eraseWorkspace(tx, 'doomed'))
    expect(before).toMatchObject({ id: 'doomed', name: 'Doomed' })
    expect(await workspacesRepository.get(db, 'doomed')).toBeUndefined()
    for (const table of await workspaceTablesInDeleteOrder(db)) {
      const left = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${table}" WHERE workspace_id = 'doomed'`,
      )
      expect(left.rows[0]?.n, table).toBe(0)
    }
    const kept = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM identities WHERE workspace_id = 'kept'",
    )
    expect(kept.rows[0]?.n).toBe(1)
  })

  it.each([
    ['default', 'CONFLICT'],
    ['never-was', 'NOT_FOUND'],
  ])('refuses %s (%s)', async (id, code) => {
    await expect(store.db.transaction((tx) => eraseWorkspace(tx, id))).rejects.toMatchObject({
      code,
    })
  })
})
