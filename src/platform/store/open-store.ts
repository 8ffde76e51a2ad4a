import path from 'node:path'
import type { Db } from './db.js'
import { lockDataDir, type DataDirLock } from './data-dir-lock.js'
import { migrate } from './migrate.js'
import { openPgliteDb } from './pglite-adapter.js'
import { openPostgresDb } from './postgres-adapter.js'

export interface StoreOptions {
  /** Postgres server URL; when absent the embedded PGlite store in `dataDir` is used. */
  databaseUrl?: string | undefined
  /** Data dir for PGlite (and other local state). `undefined` with no URL: in-memory PGlite. */
  dataDir?: string | undefined
  migrate?: boolean
  /** PGlite only: prepared statements kept (see pglite-adapter.ts; 0 for none). */
  preparedStatements?: number
}

export interface Store {
  db: Db
  close(): Promise<void>
}

const pgliteOptions = (o: StoreOptions) =>
  o.preparedStatements === undefined ? {} : { preparedStatements: o.preparedStatements }

export async function openStore(options: StoreOptions): Promise<Store> {
  let lock: DataDirLock | undefined
  let db: Db
  if (options.databaseUrl) {
    db = await openPostgresDb(options.databaseUrl)
  } else if (options.dataDir !== undefined) {
    const pgliteDir = path.join(options.dataDir, 'pglite')
    lock = lockDataDir(options.dataDir, pgliteDir)
    try {
      db = await openPgliteDb(pgliteDir, pgliteOptions(options))
    } catch (err) {
      lock.release()
      throw err
    }
  } else {
    db = await openPgliteDb(undefined, pgliteOptions(options))
  }
  if (options.migrate !== false) await migrate(db)
  return {
    db,
    async close() {
      try {
        await db.close()
      } finally {
        lock?.release()
      }
    },
  }
}
