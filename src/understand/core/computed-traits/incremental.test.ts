import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { compileComputedTraitBackfill } from './compile-sql.js'
import {
  computedTraitDefinitionJsonSchema,
  parseComputedTraitDefinition,
  computedTraitDependencies,
  type ComputedTraitDefinition,
} from './definition.js'
import {
  applyEvents,
  compareScalars,
  emptyState,
  expire,
  nextExpiry,
  readState,
  recompute,
  timeSinceMs,
  type TraitEvent,
} from './incremental.js'

const NOW = new Date('2025-01-15T12:00:00.000Z')
let n = 0
const ev = (
  name: string,
  properties: Record<string, unknown>,
  timestamp: string,
  messageId = `m${n++}`,
): TraitEvent => ({ name, type: 'track', properties, timestamp, messageId })

const orders = [
  ev('Order', { total: 10, cat: 'shoes' }, '2025-01-15T10:00:00Z'),
  ev('Order', { total: '5.5', cat: 'hats' }, '2025-01-14T10:00:00Z'),
  ev('Order', { total: 'n/a', cat: 'shoes' }, '2025-01-10T10:00:00Z'),
  ev('Order', { total: 100, cat: 'bags' }, '2024-12-01T10:00:00Z'),
  ev('Refund', { total: 7, cat: 'hats' }, '2025-01-15T11:00:00Z'),
]

const def = (d: Partial<ComputedTraitDefinition>): ComputedTraitDefinition =>
  parseComputedTraitDefinition({ event: { event: 'Order' }, ...d })

describe('aggregates', () => {
  it.each<[string, Partial<ComputedTraitDefinition>, unknown]>([
    ['count', { aggregate: 'count' }, 4],
    ['count in window', { aggregate: 'count', window: { amount: 7, unit: 'days' } }, 3],
    ['sum (numbers and numeric strings)', { aggregate: 'sum', property: 'total' }, 115.5],
    [
      'sum in window',
      { aggregate: 'sum', property: 'total', window: { amount: 2, unit: 'days' } },
      15.5,
    ],
    ['avg', { aggregate: 'avg', property: 'total' }, 115.5 / 3],
    ['min', { aggregate: 'min', property: 'total' }, 5.5],
    ['max', { aggregate: 'max', property: 'total' }, 100],
    ['first', { aggregate: 'first', property: 'cat' }, 'bags'],
    ['last', { aggregate: 'last', property: 'cat' }, 'shoes'],
    ['most_frequent', { aggregate: 'most_frequent', property: 'cat' }, 'shoes'],
    [
      'unique_list (sorted)',
      { aggregate: 'unique_list', property: 'cat' },
      ['bags', 'hats', 'shoes'],
    ],
    [
      'unique_list limit',
      { aggregate: 'unique_list', property: 'cat', limit: 2 },
      ['bags', 'hats'],
    ],
    ['unique_count', { aggregate: 'unique_count', property: 'cat' }, 3],
    ['time_since_first', { aggregate: 'time_since_first' }, '2024-12-01T10:00:00.000Z'],
    ['time_since_last', { aggregate: 'time_since_last' }, '2025-01-15T10:00:00.000Z'],
    [
      'empty window',
      { aggregate: 'max', property: 'total', window: { amount: 1, unit: 'minutes' } },
      null,
    ],
  ])('%s', (_name, d, expected) => {
    expect(recompute(def(d), orders, NOW).value).toEqual(expected)
  })

  it('filters events by property conditions', () => {
    const d = def({
      aggregate: 'count',
      event: {
        event: 'Order',
        where: [{ property: 'cat', condition: { op: 'eq', value: 'shoes' } }],
      },
    })
    expect(recompute(d, orders, NOW).value).toBe(2)
  })

  it('most_frequent breaks ties by the smallest value (booleans < numbers < strings)', () => {
    const d = def({ aggregate: 'most_frequent', property: 'v' })
    const es = [
      ev('Order', { v: 'b' }, '2025-01-01'),
      ev('Order', { v: 'a' }, '2025-01-02'),
      ev('Order', { v: 2 }, '2025-01-03'),
    ]
    expect(recompute(d, es, NOW).value).toBe(2)
    expect(compareScalars(true, 0)).toBeLessThan(0)
    expect(compareScalars('Z', 'a')).toBeLessThan(0)
    expect(compareScalars('\uffff', '😀')).toBeLessThan(0)
  })

  it('first and last break timestamp ties by messageId', () => {
    const d = def({ aggregate: 'last', property: 'v' })
    const es = [
      ev('Order', { v: 'x' }, '2025-01-01', 'b'),
      ev('Order', { v: 'y' }, '2025-01-01', 'a'),
    ]
    expect(recompute(d, es, NOW).value).toBe('x')
    expect(recompute(d, [...es].reverse(), NOW).value).toBe('x')
  })

  it('timeSinceMs turns a time_since value into a duration', () => {
    const r = recompute(def({ aggregate: 'time_since_last' }), orders, NOW)
    expect(timeSinceMs(r.value, NOW)).toBe(2 * 3_600_000)
    expect(timeSinceMs(null, NOW)).toBeUndefined()
  })
})

describe('windows', () => {
  const d = def({ aggregate: 'count', window: { amount: 2, unit: 'days' } })

  it('ignores events already outside the window and keeps future ones for later', () => {
    const future = ev('Order', {}, '2025-01-17T00:00:00Z')
    const r = applyEvents(d, emptyState(), [...orders, future], NOW)
    expect(r.value).toBe(2)
    expect(Object.keys(r.state.b)).toHaveLength(3)
    expect(expire(d, r.state, new Date('2025-01-17T01:00:00Z')).value).toBe(1)
  })

  it('nextExpiry is the next bucket boundary where the value changes', () => {
    const r = applyEvents(d, emptyState(), orders, NOW)
    expect(nextExpiry(d, r.state, NOW)?.toISOString()).toBe('2025-01-16T00:00:00.000Z')
    expect(nextExpiry(def({ aggregate: 'count' }), r.state, NOW)).toBeUndefined()
  })

  it('readState treats unknown shapes as empty', () => {
    expect(readState({ v: 2 })).toEqual(emptyState())
    expect(readState(null)).toEqual(emptyState())
    const s = applyEvents(d, emptyState(), orders, NOW).state
    expect(readState(JSON.parse(JSON.stringify(s)))).toEqual(s)
  })
})

describe('definitions', () => {
  it.each([
    ['property missing', { aggregate: 'sum', event: {} }],
    ['property on count', { aggregate: 'count', event: {}, property: 'x' }],
    ['window too long', { aggregate: 'count', event: {}, window: { amount: 2000, unit: 'days' } }],
    [
      'time-dependent filter',
      {
        aggregate: 'count',
        event: {
          where: [
            { property: 'd', condition: { op: 'date_within_last', amount: 1, unit: 'days' } },
          ],
        },
      },
    ],
  ])('rejects %s', (_name, input) => {
    expect(() => parseComputedTraitDefinition(input)).toThrow(
      expect.objectContaining({ code: 'COMPUTED_TRAIT_DEFINITION_INVALID' }),
    )
  })

  it('reports what it listens to', () => {
    expect(
      computedTraitDependencies(def({ aggregate: 'count', window: { amount: 1, unit: 'days' } })),
    ).toEqual({
      event: 'Order',
      anyEvent: false,
      timeDependent: true,
    })
  })
})

describe('computedTraitDefinitionJsonSchema', () => {
  const validate = new Ajv2020({ strict: false }).compile(computedTraitDefinitionJsonSchema)
  it('accepts a valid definition and rejects an unknown aggregate', () => {
    expect(validate({ aggregate: 'sum', property: 'total', event: { event: 'Order' } })).toBe(true)
    expect(validate({ aggregate: 'median', event: {} })).toBe(false)
  })
})

describe('golden backfill SQL', () => {
  it('windowed sum', () => {
    const d = def({ aggregate: 'sum', property: 'total', window: { amount: 30, unit: 'days' } })
    expect(compileComputedTraitBackfill(d, { workspaceId: 'ws_1', now: NOW }))
      .toMatchInlineSnapshot(`
      {
        "text": "WITH ev AS (SELECT e.profile_id AS pid, floor(extract(epoch FROM e."timestamp") * 1000 / $4::bigint)::bigint::text AS bk, e."timestamp" AS ts, e.message_id AS mid, (extract(epoch FROM e."timestamp") * 1000)::float8 AS tms, kindred_num((e.properties -> $5::text)) AS x FROM events e WHERE e.workspace_id = $1::text AND e.profile_id IS NOT NULL AND e.event = $2::text AND e."timestamp" >= $3::timestamptz AND kindred_num((e.properties -> $5::text)) IS NOT NULL), b AS (SELECT pid, bk, jsonb_build_object('n', count(*), 's', sum(x)) AS part FROM ev GROUP BY pid, bk) SELECT pid AS profile_id, jsonb_build_object('v', 1, 'b', jsonb_object_agg(bk, part)) AS state FROM b GROUP BY pid",
        "values": [
          "ws_1",
          "Order",
          "2024-12-17T00:00:00.000Z",
          86400000,
          "total",
        ],
      }
    `)
  })
  it('most frequent value over all time', () => {
    const d = def({ aggregate: 'most_frequent', property: ['product', 'category'] })
    expect(compileComputedTraitBackfill(d, { workspaceId: 'ws_1', now: NOW }))
      .toMatchInlineSnapshot(`
      {
        "text": "WITH ev AS (SELECT e.profile_id AS pid, 'all' AS bk, e."timestamp" AS ts, e.message_id AS mid, (extract(epoch FROM e."timestamp") * 1000)::float8 AS tms, CASE jsonb_typeof((e.properties #> $3::text[])) WHEN 'number' THEN to_jsonb(kindred_num((e.properties #> $3::text[]))) WHEN 'string' THEN (e.properties #> $3::text[]) WHEN 'boolean' THEN (e.properties #> $3::text[]) END AS x FROM events e WHERE e.workspace_id = $1::text AND e.profile_id IS NOT NULL AND e.event = $2::text AND (CASE jsonb_typeof((e.properties #> $3::text[])) WHEN 'number' THEN to_jsonb(kindred_num((e.properties #> $3::text[]))) WHEN 'string' THEN (e.properties #> $3::text[]) WHEN 'boolean' THEN (e.properties #> $3::text[]) END) IS NOT NULL), g AS (SELECT pid, bk, x, count(*) AS c FROM ev GROUP BY pid, bk, x), b AS (SELECT pid, bk, jsonb_build_object('vc', jsonb_agg(jsonb_build_array(x, c) ORDER BY jsonb_typeof(x), CASE WHEN jsonb_typeof(x) = 'number' THEN x::float8 END, (x #>> '{}') COLLATE "C")) AS part FROM g GROUP BY pid, bk) SELECT pid AS profile_id, jsonb_build_object('v', 1, 'b', jsonb_object_agg(bk, part)) AS state FROM b GROUP BY pid",
        "values": [
          "ws_1",
          "Order",
          [
            "product",
            "category",
          ],
        ],
      }
    `)
  })
})
