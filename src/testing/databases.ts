/**
 * Test support: the store targets every repository suite runs against. PGlite always; a Postgres
 * server too when KINDRED_TEST_DATABASE_URL is set (a fresh database per store, dropped after).
 */
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { openStore, type Store } from '../platform/store/open-store.js'

export interface StoreTarget {
  name: 'pglite' | 'postgres'
  open(): Promise<Store & { url?: string }>
}

export async function createTestDatabase(
  baseUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `kindred_t_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: baseUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}

export function storeTargets(): StoreTarget[] {
  const targets: StoreTarget[] = [{ name: 'pglite', open: () => openStore({}) }]
  const baseUrl = process.env.KINDRED_TEST_DATABASE_URL
  if (baseUrl) {
    targets.push({
      name: 'postgres',
      async open() {
        const db = await createTestDatabase(baseUrl)
        const store = await openStore({ databaseUrl: db.url })
        return {
          ...store,
          url: db.url,
          async close() {
            await store.close()
            await db.drop()
          },
        }
      },
    })
  }
  return targets
}
