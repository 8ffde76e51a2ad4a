import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from './db.js'
import { openPgliteDb } from './pglite-adapter.js'

/** Runs `text` often enough to go through the prepared path (second sighting on). */
async function thrice<R>(db: Db, text: string, params: unknown[] = []) {
  const results = []
  for (let i = 0; i < 3; i++) results.push(await db.query<R>(text, params))
  return results
}

describe('PGlite adapter: prepared statements', () => {
  let db: Db
  let small: Db
  beforeAll(async () => {
    db = await openPgliteDb(undefined)
    small = await openPgliteDb(undefined, { preparedStatements: 2 })
    for (const d of [db, small]) {
      await d.exec(`CREATE TABLE t (id int PRIMARY KEY, name text, tags text[], doc jsonb, at timestamptz);
        INSERT INTO t VALUES (1, 'a', '{x,y}', '{"k": 1}', '2026-01-01T00:00:00Z'),
                             (2, 'b', '{}', '{"k": 2}', '2026-02-01T00:00:00Z');`)
    }
  })
  afterAll(async () => {
    await db.close()
    await small.close()
  })

  it('gives the same rows, types and counts as an unprepared statement', async () => {
    const text = 'SELECT id, name, tags, doc, at FROM t WHERE id = ANY($1::int[]) ORDER BY id'
    const [first, second, third] = await thrice<Record<string, unknown>>(db, text, [[1, 2]])
    expect(second).toEqual(first)
    expect(third).toEqual(first)
    expect(first?.rows[0]).toEqual({
      id: 1,
      name: 'a',
      tags: ['x', 'y'],
      doc: { k: 1 },
      at: new Date('2026-01-01T00:00:00Z'),
    })
    const updates = await thrice(db, 'UPDATE t SET name = name WHERE id = $1', [2])
    expect(updates.map((u) => u.rowCount)).toEqual([1, 1, 1])
  })

  it('serialises parameters by their declared types (json, arrays, dates, null)', async () => {
    const text = `SELECT $1::jsonb AS doc, $2::text[] AS list, $3::timestamptz AS at, $4::text AS nothing`
    const at = new Date('2026-03-04T05:06:07.089Z')
    const results = await thrice<Record<string, unknown>>(db, text, [
      JSON.stringify({ a: [1, 'two'] }),
      ['p', 'q,r', 's"t'],
      at,
      null,
    ])
    for (const r of results) {
      expect(r.rows[0]).toEqual({
        doc: { a: [1, 'two'] },
        list: ['p', 'q,r', 's"t'],
        at,
        nothing: null,
      })
    }
  })

  it('keeps working after a failing execution, inside and outside transactions', async () => {
    const insert = 'INSERT INTO t (id, name) VALUES ($1, $2)'
    await thrice(db, 'SELECT 1 FROM t WHERE id = $1', [1])
    await db.query(insert, [10, 'ten'])
    await db.query(insert, [11, 'eleven'])
    await expect(db.query(insert, [10, 'again'])).rejects.toMatchObject({ code: '23505' })
    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, [12, 'twelve'])
        await tx.query(insert, [10, 'again'])
      }),
    ).rejects.toMatchObject({ code: '23505' })
    const rows = await db.query<{ id: number }>('SELECT id FROM t WHERE id >= $1 ORDER BY id', [10])
    expect(rows.rows.map((r) => r.id)).toEqual([10, 11])
    await db.transaction((tx) => tx.query(insert, [12, 'twelve']))
    expect((await db.query('SELECT 1 FROM t WHERE id = $1', [12])).rows).toHaveLength(1)
  })

  it('returns large results and takes large parameters whole', async () => {
    // Results and parameters of several MB cross PGlite's protocol buffers in pieces.
    const ids = Array.from({ length: 50_000 }, (_, i) => `id-${i}`)
    const text = `SELECT x AS id, repeat('v', 100) AS pad FROM unnest($1::text[]) AS x`
    const results = await thrice<{ id: string; pad: string }>(db, text, [ids])
    for (const r of results) {
      expect(r.rows).toHaveLength(50_000)
      expect(r.rows[49_999]?.id).toBe('id-49999')
    }
  })

  it('evicts the least recently used statement when full, and still answers each one', async () => {
    const texts = [1, 2, 3, 4].map((n) => `SELECT id, ${n} AS n FROM t WHERE id = $1`)
    for (let round = 0; round < 3; round++) {
      for (const [i, text] of texts.entries()) {
        const res = await small.query<{ id: number; n: number }>(text, [1])
        expect(res.rows).toEqual([{ id: 1, n: i + 1 }])
      }
    }
    const open = await small.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_prepared_statements',
    )
    expect(open.rows[0]?.n).toBeLessThanOrEqual(2)
  })

  it('runs a statement again unprepared when its table changed shape', async () => {
    await db.exec('CREATE TABLE shape (a int); INSERT INTO shape VALUES (1);')
    await thrice(db, 'SELECT * FROM shape')
    await db.exec('ALTER TABLE shape ADD COLUMN b int DEFAULT 2')
    const res = await db.query('SELECT * FROM shape')
    expect(res.rows).toEqual([{ a: 1, b: 2 }])
    expect((await db.query('SELECT * FROM shape')).rows).toEqual([{ a: 1, b: 2 }])
  })
})
