/**
 * Test support for database syncs: a fresh source database on the machine's real PostgreSQL and
 * MariaDB servers, dropped after. The servers are found at their default addresses (or
 * KINDRED_TEST_SOURCE_POSTGRES_URL / KINDRED_TEST_MARIADB_URL, which `scripts/test.mjs` sets after
 * starting a server that was down); a missing server fails the test with what to start, never a
 * silent skip.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import mysql from 'mysql2/promise'

export type SourceDialect = 'postgres' | 'mysql'

export interface SourceDatabase {
  dialect: SourceDialect
  host: string
  port: number
  database: string
  user: string
  /** Runs statements in the source database (a setup connection, not Kindred's). */
  exec(sql: string, params?: unknown[]): Promise<void>
  drop(): Promise<void>
}

const postgresBase = () =>
  process.env.KINDRED_TEST_SOURCE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const mariadbBase = () => process.env.KINDRED_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306'

export async function createSourceDatabase(dialect: SourceDialect): Promise<SourceDatabase> {
  const name = `kt_src_${randomBytes(5).toString('hex')}`
  if (dialect === 'postgres') {
    const base = new URL(postgresBase())
    const admin = new pg.Client({
      connectionString: base.toString(),
      connectionTimeoutMillis: 5000,
    })
    try {
      await admin.connect()
    } catch (err) {
      throw new Error(
        `the sync tests need PostgreSQL at ${base.host} (${(err as Error).message}): start it (scripts/test.mjs does) or set KINDRED_TEST_SOURCE_POSTGRES_URL`,
      )
    }
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    const url = new URL(base.toString())
    url.pathname = `/${name}`
    const client = new pg.Client({ connectionString: url.toString() })
    await client.connect()
    return {
      dialect,
      host: base.hostname,
      port: Number(base.port || 5432),
      database: name,
      user: decodeURIComponent(base.username || 'postgres'),
      async exec(sql, params = []) {
        await client.query(sql, params)
      },
      async drop() {
        await client.end().catch(() => undefined)
        const c = new pg.Client({ connectionString: base.toString() })
        await c.connect()
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        await c.end()
      },
    }
  }
  const base = new URL(mariadbBase())
  const options = {
    host: base.hostname,
    port: Number(base.port || 3306),
    user: decodeURIComponent(base.username || 'root'),
    password: decodeURIComponent(base.password),
    connectTimeout: 5000,
  }
  let admin: mysql.Connection
  try {
    admin = await mysql.createConnection(options)
  } catch (err) {
    throw new Error(
      `the sync tests need MariaDB at ${base.host} (${(err as Error).message}): start it (scripts/test.mjs does) or set KINDRED_TEST_MARIADB_URL`,
    )
  }
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.changeUser({ database: name })
  return {
    dialect,
    host: options.host,
    port: options.port,
    database: name,
    user: options.user,
    async exec(sql, params = []) {
      await admin.query(sql, params)
    },
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined)
      await admin.end().catch(() => undefined)
    },
  }
}
