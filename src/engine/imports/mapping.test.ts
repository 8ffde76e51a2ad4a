import { describe, expect, it } from 'vitest'
import {
  coerceValue,
  createRowMapper,
  parseImportMapping,
  parseMapFlags,
  type ImportMapping,
} from './mapping.js'

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
        context: { library: { name: 'kindred-import' } },
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
