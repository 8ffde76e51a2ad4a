import { describe, expect, it } from 'vitest'
import {
  coerceValue,
  createRowMapper,
  parseImportMapping,
  parseMapFlags,
  type ImportMapping,
} from './import-mapping.js'
import { readRows } from '../engine/imports/row-reader.js'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const T0 = '2026-01-01T00:00:00.000Z'

function mapping(input: unknown): ImportMapping {
  const r = parseImportMapping(input)
  if (!r.ok) throw new Error(r.message)
  return r.value
}

describe('coerceValue', () => {
  it.each([
    ['number', ' 12.5 ', 12.5],
    ['number', 3, 3],
    ['integer', '42', 42],
    ['boolean', 'Yes', true],
    ['boolean', 'f', false],
    ['boolean', 0, false],
    ['date', '2024-03-01', '2024-03-01T00:00:00.000Z'],
    ['date', '2024-03-01T10:00:00+02:00', '2024-03-01T08:00:00.000Z'],
    ['date', '1700000000', '2023-11-14T22:13:20.000Z'],
    ['date', 1700000000000, '2023-11-14T22:13:20.000Z'],
    ['json', '{"a":[1,2]}', { a: [1, 2] }],
    ['string', 7, '7'],
    ['string', ' keep spaces ', ' keep spaces '],
  ] as const)('%s: %j → %j', (type, input, expected) => {
    expect(coerceValue(input, type)).toEqual({ ok: true, value: expected })
  })

  it.each([
    ['number', 'abc'],
    ['number', '12,5'],
    ['integer', '1.5'],
    ['boolean', 'maybe'],
    ['date', 'not a date'],
    ['json', '{nope'],
    ['string', { a: 1 }],
  ] as const)('%s rejects %j with a message', (type, input) => {
    const r = coerceValue(input, type)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.message.length).toBeGreaterThan(5)
  })
})

describe('parseImportMapping / parseMapFlags', () => {
  it('accepts string and object column specs and defaults unmapped to auto', () => {
    const m = mapping({
      columns: { id: 'userId', amt: { to: 'properties.amount', type: 'number' } },
    })
    expect(m.unmapped).toBe('auto')
    expect(m.columns.amt).toEqual({ to: 'properties.amount', type: 'number' })
  })

  it('rejects unknown targets, types and keys with a message naming the field', () => {
    const bad = parseImportMapping({ columns: { id: 'user' } })
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.message).toContain('columns.id')
    expect(parseImportMapping({ columns: { a: { to: 'traits.a', type: 'float' } } }).ok).toBe(false)
    expect(parseImportMapping({ colums: {} }).ok).toBe(false)
  })

  it('parses --map flags with an optional type after the last colon', () => {
    const r = parseMapFlags(['id=userId', 'amt=properties.amount:number', 'ts=timestamp:date'])
    expect(r).toEqual({
      ok: true,
      value: {
        id: 'userId',
        amt: { to: 'properties.amount', type: 'number' },
        ts: { to: 'timestamp', type: 'date' },
      },
    })
    expect(parseMapFlags(['noequals']).ok).toBe(false)
    expect(parseMapFlags(['a=traits.a:bogus']).ok).toBe(false)
  })
})

describe('createRowMapper', () => {
  it('maps a profile row to an identify event with traits, externalIds and nesting', () => {
    const map = createRowMapper(
      mapping({
        columns: {
          id: 'userId',
          mail: 'traits.email',
          city: 'traits.address.city',
          crm: 'externalIds.crm_id',
          age: { to: 'traits.age', type: 'integer' },
          vip: { to: 'traits.vip', type: 'boolean' },
          junk: 'ignore',
        },
      }),
      { kind: 'profiles', defaultTimestamp: T0 },
    )
    const r = map({
      id: 'u1',
      mail: 'a@example.com',
      city: 'Paris',
      crm: 'C-9',
      age: '41',
      vip: 'yes',
      junk: 'x',
      plan: 'pro',
      empty: '',
    })
    expect(r).toEqual({
      ok: true,
      event: {
        type: 'identify',
        userId: 'u1',
        traits: {
          email: 'a@example.com',
          address: { city: 'Paris' },
          age: 41,
          vip: true,
          plan: 'pro',
        },
        context: {
          library: { name: 'kindred-import' },
          import: { time: 'import' },
          externalIds: [{ id: 'C-9', type: 'crm_id', collection: 'users', encoding: 'none' }],
        },
        timestamp: T0,
      },
    })
  })

  it('maps an event row to track with a constant name and a row timestamp', () => {
    const map = createRowMapper(
      mapping({
        columns: { amount: { to: 'properties.amount', type: 'number' } },
        event: 'Order Completed',
      }),
      { kind: 'events', defaultTimestamp: T0 },
    )
    const r = map({ user_id: 'u2', timestamp: '2025-05-05', amount: '9.5', sku: 'A1' })
    expect(r).toEqual({
      ok: true,
      event: {
        type: 'track',
        event: 'Order Completed',
        userId: 'u2',
        properties: { amount: 9.5, sku: 'A1' },
        context: { library: { name: 'kindred-import' }, import: { time: 'row' } },
        timestamp: '2025-05-05T00:00:00.000Z',
      },
    })
  })

  it('an event column wins over the constant; unmapped: ignore drops other columns', () => {
    const map = createRowMapper(
      mapping({ columns: { name: 'event', uid: 'userId' }, event: 'Fallback', unmapped: 'ignore' }),
      { kind: 'events', defaultTimestamp: T0 },
    )
    const r = map({ name: 'Signed Up', uid: 'u3', extra: 'dropped' })
    expect(r.ok && r.event).toMatchObject({ event: 'Signed Up', properties: {} })
  })

  it('reports every coercion error and missing required column of a row', () => {
    const map = createRowMapper(
      mapping({
        columns: {
          id: { to: 'userId', required: true },
          n: { to: 'properties.n', type: 'number' },
          when: 'timestamp',
        },
      }),
      { kind: 'events', defaultTimestamp: T0 },
    )
    const r = map({ id: '', n: 'x', when: 'yesterday-ish' })
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.issues.map((i) => `${i.path}:${i.code}`).sort()).toEqual([
        'event:required',
        'id:required',
        'n:coercion_failed',
        'when:coercion_failed',
      ])
    }
  })
})

describe('mapping and the object machinery', () => {
  const polluted = () => ({}) as Record<string, unknown>

  it('refuses __proto__, constructor and prototype segments in explicit targets', () => {
    for (const to of [
      'traits.__proto__.x',
      'traits.__proto__',
      'properties.a.constructor.prototype.x',
      'context.constructor',
      'traits.prototype',
    ]) {
      const r = parseImportMapping({ columns: { c: to } })
      expect(r.ok, to).toBe(false)
      if (!r.ok) expect(r.message).toContain('"__proto__", "constructor" or "prototype"')
      expect(parseImportMapping({ columns: { c: { to, type: 'string' } } }).ok).toBe(false)
      expect(parseMapFlags([`c=${to}`]).ok).toBe(false)
    }
    // Only whole segments: names that merely contain the words are fine.
    expect(parseImportMapping({ columns: { c: 'traits.my_prototype.constructors' } }).ok).toBe(true)
  })

  it('rejects rows with a value in an auto-mapped __proto__ column and never touches Object.prototype', () => {
    const map = createRowMapper(mapping({ columns: { id: 'userId' } }), {
      kind: 'profiles',
      defaultTimestamp: T0,
    })
    try {
      for (const column of [
        '__proto__.polluted',
        '__proto__',
        'a.constructor.prototype.polluted',
      ]) {
        const row = Object.create(null) as Record<string, unknown>
        row.id = 'u1'
        row[column] = 'pwned'
        const r = map(row)
        expect(r.ok, column).toBe(false)
        if (!r.ok) {
          expect(r.issues).toEqual([
            expect.objectContaining({ path: column, code: 'unsafe_column' }),
          ])
          expect(r.issues[0]?.message).toContain(`column "${column}"`)
        }
        expect(polluted().polluted).toBeUndefined()
      }
      // An empty cell is no value: the row imports without the column.
      expect(map({ id: 'u2', '__proto__.polluted': '' }).ok).toBe(true)
      // An explicitly ignored unsafe column is simply ignored.
      const ignoring = createRowMapper(
        mapping({ columns: { id: 'userId', '__proto__.polluted': 'ignore' } }),
        { kind: 'profiles', defaultTimestamp: T0 },
      )
      expect(ignoring({ id: 'u3', '__proto__.polluted': 'pwned' }).ok).toBe(true)
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted
    }
  })

  it('never writes through an unsafe target of a mapping stored before such targets were refused', () => {
    const stored = {
      columns: { id: 'userId', x: 'traits.__proto__.polluted' },
      unmapped: 'auto',
    } as ImportMapping
    const map = createRowMapper(stored, { kind: 'profiles', defaultTimestamp: T0 })
    try {
      const r = map({ id: 'u1', x: 'pwned' })
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.issues[0]?.code).toBe('unsafe_column')
      expect(polluted().polluted).toBeUndefined()
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted
    }
  })

  it('imports a column named constructor (or prototype) as an ordinary trait', () => {
    const map = createRowMapper(mapping({}), { kind: 'profiles', defaultTimestamp: T0 })
    const r = map({ user_id: 'u1', constructor: 'Ferrari', prototype: 'P1', toString: 'x' })
    expect(r.ok).toBe(true)
    if (r.ok) {
      expect(r.event.userId).toBe('u1')
      expect(r.event.traits).toEqual({ constructor: 'Ferrari', prototype: 'P1', toString: 'x' })
    }
  })

  it('reads only own columns of a row, not inherited ones', () => {
    const map = createRowMapper(mapping({}), { kind: 'profiles', defaultTimestamp: T0 })
    const proto = { inherited: 'nope' }
    const row = Object.create(proto) as Record<string, unknown>
    row.user_id = 'u1'
    const r = map(row)
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.event.traits).toEqual({})
  })

  it('keeps a CSV header named __proto__ as a column of the row', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kindred-rows-'))
    try {
      const file = path.join(dir, 'p.csv')
      writeFileSync(file, 'user_id,__proto__,constructor\nu1,pwned,Ferrari\n')
      const rows = []
      for await (const r of readRows(file, { format: 'csv' })) rows.push(r)
      expect(rows).toHaveLength(1)
      const first = rows[0]
      if (!first || !('values' in first)) throw new Error('no row')
      expect(Object.keys(first.values)).toEqual(['user_id', '__proto__', 'constructor'])
      const map = createRowMapper(mapping({}), { kind: 'profiles', defaultTimestamp: T0 })
      const r = map(first.values)
      expect(r.ok).toBe(false)
      if (!r.ok)
        expect(r.issues.map((i) => `${i.path}:${i.code}`)).toEqual(['__proto__:unsafe_column'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
