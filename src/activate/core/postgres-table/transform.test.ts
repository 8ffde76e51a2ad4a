import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DestinationInput, SqlEffect } from '../contract.js'
import {
  SAMPLE_NOW,
  ada,
  grace,
  sampleInputs,
  vips,
} from '../../../testing/destinations/samples.js'
import { postgresTableSettings } from './manifest.js'
import { transform } from './transform.js'
import { quoteIdent } from '../shared/sql.js'

const settings = postgresTableSettings.parse({
  connectionString: 'postgres://u:p@localhost/db',
  schema: 'crm',
  columns: { email: 'email', first_name: 'first_name', plan: 'plan', address: 'address' },
})
const run = (inputs: DestinationInput[], now = SAMPLE_NOW) =>
  transform(inputs, { settings, destinationId: 'd', now }).effects as SqlEffect[]

describe('identifiers', () => {
  it('accepts only strict lower-case identifiers, in settings and when quoting', () => {
    for (const bad of ['Users', 'a-b', 'x"; DROP TABLE t; --', '1abc', '', 'a'.repeat(64)]) {
      expect(() => quoteIdent(bad)).toThrow(/not an allowed SQL identifier/)
      expect(
        postgresTableSettings.safeParse({ connectionString: 'postgres://x', profilesTable: bad })
          .success,
      ).toBe(false)
    }
    expect(quoteIdent('kindred_profiles_2')).toBe('"kindred_profiles_2"')
  })

  it('never puts values in the statement text', () => {
    const evil = {
      ...ada,
      id: "p'); DROP TABLE x; --",
      traits: { email: "e'@x.com", first_name: '$1' },
    }
    const [e] = run([{ kind: 'profile', id: 'j', profile: evil, changedTraits: [] }])
    expect(e?.statement).not.toContain('DROP')
    expect(e?.statement).not.toContain("e'@x.com")
    expect(e?.params).toContain("p'); DROP TABLE x; --")
  })
})

describe('generated SQL runs in Postgres (PGlite)', () => {
  let db: PGlite
  // PGlite boots a WASM Postgres: slow on a loaded 2-core machine, so a generous timeout.
  beforeAll(async () => {
    db = new PGlite()
    await db.exec(`
      CREATE SCHEMA crm;
      CREATE TABLE crm.kindred_profiles (profile_id text PRIMARY KEY, email text, first_name text, plan text, address jsonb, updated_at timestamptz);
      CREATE TABLE crm.kindred_audience_members (audience_key text, profile_id text, updated_at timestamptz, PRIMARY KEY (audience_key, profile_id));
    `)
  }, 180_000)
  afterAll(async () => {
    await db.close()
  })
  const exec = async (effects: SqlEffect[]) => {
    for (const e of effects) await db.query(e.statement, e.params)
  }

  it('upserts profiles (last snapshot in a batch wins), JSON-encodes objects', async () => {
    const adaV2 = {
      ...ada,
      traits: { ...ada.traits, plan: 'enterprise', address: { city: 'London' } },
    }
    await exec(
      run([
        sampleInputs.profile,
        { kind: 'profile', id: 'j2', profile: adaV2, changedTraits: ['plan'] },
        { kind: 'profile', id: 'j3', profile: grace, changedTraits: [] },
      ]),
    )
    await exec(
      run(
        [
          {
            kind: 'profile',
            id: 'j4',
            profile: { ...grace, traits: { ...grace.traits, plan: 'free' } },
            changedTraits: ['plan'],
          },
        ],
        SAMPLE_NOW + 1000,
      ),
    )
    const { rows } = await db.query<{
      profile_id: string
      plan: string | null
      address: unknown
      updated_at: Date
    }>('SELECT profile_id, plan, address, updated_at FROM crm.kindred_profiles ORDER BY profile_id')
    expect(rows.map((r) => [r.profile_id, r.plan, r.address])).toEqual([
      ['prof_ada', 'enterprise', { city: 'London' }],
      ['prof_grace', 'free', null],
    ])
    expect(rows[1]?.updated_at.getTime()).toBe(SAMPLE_NOW + 1000)
  })

  it('mirrors audience membership: add is idempotent, remove deletes', async () => {
    const add = run([
      sampleInputs.audienceAdd,
      { ...sampleInputs.audienceAdd, id: 'j9', profile: grace },
    ])
    await exec(add)
    await exec(add) // a retry changes nothing
    await exec(run([{ ...sampleInputs.audienceRemove, profile: grace }]))
    const { rows } = await db.query<{ audience_key: string; profile_id: string }>(
      'SELECT audience_key, profile_id FROM crm.kindred_audience_members',
    )
    expect(rows).toEqual([{ audience_key: vips.key, profile_id: 'prof_ada' }])
  })

  it('deletes a profile from both tables in one statement', async () => {
    await exec(run([{ kind: 'delete', id: 'jd', profile: ada }]))
    const p = await db.query('SELECT 1 FROM crm.kindred_profiles WHERE profile_id = $1', [
      'prof_ada',
    ])
    const m = await db.query('SELECT 1 FROM crm.kindred_audience_members WHERE profile_id = $1', [
      'prof_ada',
    ])
    expect([p.rows.length, m.rows.length]).toEqual([0, 0])
  })
})
