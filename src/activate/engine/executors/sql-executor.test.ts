import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PGlite } from '@electric-sql/pglite'
import { describe, expect, it } from 'vitest'
import type { SqlEffect } from '../../core/contract.js'
import { getDestination, runTransform } from '../../core/registry.js'
import { SAMPLE_NOW, sampleInputs } from '../../../testing/destinations/samples.js'
import { createPgPool, executeSql, isRetryableSqlError, type SqlPoolLike } from './sql-executor.js'
import { parseOutboundAllow } from '../../../protocol/outbound-policy.js'
import { createOutboundGuard } from './outbound-guard.js'
import { loopbackGuard } from '../../../testing/mock-vendor.js'

async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

const ddl = (schema: string) => `
  CREATE TABLE IF NOT EXISTS ${schema}.kindred_profiles (profile_id text PRIMARY KEY, email text, first_name text, last_name text, updated_at timestamptz);
  CREATE TABLE IF NOT EXISTS ${schema}.kindred_audience_members (audience_key text, profile_id text, updated_at timestamptz, PRIMARY KEY (audience_key, profile_id));
`

function effects(schema = 'public'): SqlEffect[] {
  const d = getDestination('builtin.postgres-table')
  return runTransform(d, [sampleInputs.profile, sampleInputs.audienceAdd], {
    settings: { connectionString: 'postgres://unused', schema },
    destinationId: 'dest_sql',
    now: SAMPLE_NOW,
  }).effects as SqlEffect[]
}

async function suite(schema: string, pool: SqlPoolLike, count: (sql: string) => Promise<number>) {
  for (const e of effects(schema)) {
    const r = await executeSql(e, pool)
    expect(r).toMatchObject({ ok: true, rowCount: 1 })
  }
  expect(await count(`SELECT count(*)::int AS n FROM ${schema}.kindred_profiles`)).toBe(1)
  expect(await count(`SELECT count(*)::int AS n FROM ${schema}.kindred_audience_members`)).toBe(1)
  const bad = await executeSql(
    { ...effects(schema)[0]!, statement: `INSERT INTO ${schema}.nope VALUES ($1)`, params: [1] },
    pool,
  )
  expect(bad).toMatchObject({ ok: false, error: { code: '42P01', retryable: false } })
}

describe('executeSql', () => {
  it('classifies SQLSTATEs: connection, deadlock and resource errors retry; the rest fail', () => {
    expect(
      ['08006', '40P01', '40001', '53300', '57P01', 'ECONNREFUSED'].map(isRetryableSqlError),
    ).toEqual([true, true, true, true, true, true])
    expect(['42P01', '23505', '22P02', 'UNKNOWN'].map(isRetryableSqlError)).toEqual([
      false,
      false,
      false,
      false,
    ])
  })

  it('runs postgres-table effects through the minimal pool interface (PGlite)', async () => {
    const db = new PGlite()
    await db.exec(ddl('public'))
    const pool: SqlPoolLike = { query: (text, params) => db.query(text, params as unknown[]) }
    await suite('public', pool, async (sql) => (await db.query<{ n: number }>(sql)).rows[0]!.n)
    await db.close()
    // PGlite boots a WASM Postgres: slow on a loaded 2-core machine, so a generous timeout.
  }, 180_000)

  // The server run exists only where a server is configured (CI sets it), like the store suite.
  const url = process.env.KINDRED_TEST_DATABASE_URL
  if (url)
    it('runs them on a real Postgres through pg (KINDRED_TEST_DATABASE_URL)', async () => {
      // The test server may be on a private network (a CI service container): allow its host.
      const guard = createOutboundGuard(parseOutboundAllow(new URL(url!).hostname))
      const pool = createPgPool(url!, { guard })
      try {
        const schema = `kindred_dest_test_${process.pid}`
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
        await pool.query(`CREATE SCHEMA ${schema}`)
        await pool.query(ddl(schema))
        await suite(schema, pool, async (sql) => (await pool.query<{ n: number }>(sql)).rows[0]!.n)
        await pool.query(`DROP SCHEMA ${schema} CASCADE`)
      } finally {
        await pool.end()
      }
    })

  it('reports an unreachable database as a retryable error', async () => {
    const pool = createPgPool(`postgres://u:p@127.0.0.1:${await closedPort()}/db`, {
      guard: loopbackGuard,
    })
    const r = await executeSql(effects()[0]!, pool)
    await pool.end()
    expect(r).toMatchObject({ ok: false, error: { code: 'ECONNREFUSED', retryable: true } })
  })
})
