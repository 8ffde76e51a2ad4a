import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import {
  assertNoSegmentCycle,
  dependencies,
  evaluationOrder,
  isAffected,
  parseSegmentDefinition,
  SegmentDefinitionError,
  segmentDefinitionJsonSchema,
  type SegmentNode,
} from './definition.js'

const example = {
  kind: 'and',
  children: [
    { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } },
    {
      kind: 'event',
      event: 'Order Completed',
      where: [{ property: 'total', condition: { op: 'gt', value: 50 } }],
      count: { op: 'gte', value: 2 },
      window: { kind: 'last', amount: 30, unit: 'days' },
    },
    { kind: 'not', child: { kind: 'segment', id: 'churned' } },
    { kind: 'computed_trait', id: 'ltv', condition: { op: 'between', min: 10, max: 99 } },
    { kind: 'consent', purpose: 'email', status: 'granted' },
    {
      kind: 'funnel',
      steps: [{ type: 'page' }, { event: 'Signed Up' }],
      within: { amount: 1, unit: 'hours' },
    },
  ],
}

const nest = (depth: number): unknown =>
  depth === 1 ? { kind: 'segment', id: 's' } : { kind: 'not', child: nest(depth - 1) }

describe('parseSegmentDefinition', () => {
  it('accepts a definition using every node kind', () => {
    expect(parseSegmentDefinition(example)).toEqual(example)
  })

  it.each([
    ['unknown kind', { kind: 'xor', children: [] }],
    ['empty and', { kind: 'and', children: [] }],
    ['unknown operator', { kind: 'trait', trait: 'a', condition: { op: 'like', value: 'x' } }],
    ['empty contains', { kind: 'trait', trait: 'a', condition: { op: 'contains', value: '' } }],
    [
      'bad date',
      {
        kind: 'trait',
        trait: 'a',
        condition: { op: 'date_before', date: { kind: 'absolute', at: 'yesterday' } },
      },
    ],
    [
      'one-step funnel',
      { kind: 'funnel', steps: [{ event: 'a' }], within: { amount: 1, unit: 'days' } },
    ],
    ['negative count', { kind: 'event', event: 'a', count: { op: 'gte', value: -1 } }],
    [
      'window from after to',
      {
        kind: 'event',
        event: 'a',
        window: { kind: 'between', from: '2025-02-01', to: '2025-01-01' },
      },
    ],
    ['too deep', nest(11)],
    [
      'too many nodes',
      {
        kind: 'or',
        children: Array.from({ length: 50 }, () => ({
          kind: 'and',
          children: [nest(1), nest(1), nest(1), nest(1)],
        })),
      },
    ],
    [
      'list too long',
      {
        kind: 'trait',
        trait: 'a',
        condition: { op: 'in', values: Array.from({ length: 1001 }, (_, i) => i) },
      },
    ],
  ])('rejects %s with a stable code', (_name, input) => {
    try {
      parseSegmentDefinition(input)
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(SegmentDefinitionError)
      expect((e as SegmentDefinitionError).code).toBe('SEGMENT_DEFINITION_INVALID')
    }
  })

  it('accepts the maximum depth', () => {
    expect(() => parseSegmentDefinition(nest(10))).not.toThrow()
  })
})

describe('segmentDefinitionJsonSchema', () => {
  const ajv = new Ajv2020({ strict: false })
  const validate = ajv.compile(segmentDefinitionJsonSchema)
  it('accepts what zod accepts', () => {
    expect(validate(example)).toBe(true)
  })
  it('rejects what zod rejects structurally', () => {
    expect(validate({ kind: 'trait', trait: 'a', condition: { op: 'like' } })).toBe(false)
    expect(validate({ kind: 'and', children: [] })).toBe(false)
  })
})

describe('dependencies', () => {
  it('lists what a definition reads', () => {
    expect(dependencies(parseSegmentDefinition(example))).toEqual({
      traits: ['plan'],
      events: ['Order Completed', 'Signed Up'],
      eventTypes: ['page'],
      anyEvent: false,
      computedTraits: ['ltv'],
      segments: ['churned'],
      consentPurposes: ['email'],
      timeDependent: true,
    })
  })

  it('time dependence comes from relative windows and dates only', () => {
    const absolute: SegmentNode = {
      kind: 'event',
      event: 'a',
      window: { kind: 'between', from: '2025-01-01', to: '2025-02-01' },
    }
    expect(dependencies(absolute).timeDependent).toBe(false)
    const relative: SegmentNode = {
      kind: 'trait',
      trait: ['profile', 'signup'],
      condition: { op: 'date_within_last', amount: 3, unit: 'days' },
    }
    expect(dependencies(relative)).toMatchObject({ traits: ['profile'], timeDependent: true })
  })

  it('isAffected matches changes to dependencies', () => {
    const deps = dependencies(parseSegmentDefinition(example))
    expect(isAffected(deps, { traits: ['plan'] })).toBe(true)
    expect(isAffected(deps, { traits: ['name'] })).toBe(false)
    expect(isAffected(deps, { events: [{ name: 'Order Completed', type: 'track' }] })).toBe(true)
    expect(isAffected(deps, { events: [{ name: null, type: 'page' }] })).toBe(true)
    expect(isAffected(deps, { events: [{ name: 'Other', type: 'track' }] })).toBe(false)
    expect(isAffected(deps, { computedTraits: ['ltv'] })).toBe(true)
    expect(isAffected(deps, { segments: ['churned'] })).toBe(true)
    expect(isAffected(deps, { consentPurposes: ['ads'] })).toBe(false)
    const any = dependencies({ kind: 'event', performed: false })
    expect(isAffected(any, { events: [{ name: 'Whatever', type: 'track' }] })).toBe(true)
  })
})

describe('segment references', () => {
  const defs = new Map<string, SegmentNode>([
    ['a', { kind: 'segment', id: 'b' }],
    [
      'b',
      {
        kind: 'and',
        children: [
          { kind: 'segment', id: 'c' },
          { kind: 'segment', id: 'd' },
        ],
      },
    ],
    ['c', { kind: 'consent', purpose: 'x', status: 'granted' }],
    ['d', { kind: 'segment', id: 'c' }],
  ])
  const lookup = (id: string): SegmentNode | undefined => defs.get(id)

  it('accepts acyclic references', () => {
    expect(() => assertNoSegmentCycle('a', defs.get('a') as SegmentNode, lookup)).not.toThrow()
  })

  it('detects a cycle through the segment being saved', () => {
    const next: SegmentNode = { kind: 'segment', id: 'a' }
    expect(() => assertNoSegmentCycle('c', next, lookup)).toThrow(
      expect.objectContaining({ code: 'SEGMENT_CYCLE', details: ['c', 'a', 'b', 'c'] }),
    )
  })

  it('detects self reference and unknown references', () => {
    expect(() => assertNoSegmentCycle('x', { kind: 'segment', id: 'x' }, lookup)).toThrow(
      expect.objectContaining({ code: 'SEGMENT_CYCLE' }),
    )
    expect(() => assertNoSegmentCycle('x', { kind: 'segment', id: 'zz' }, lookup)).toThrow(
      expect.objectContaining({ code: 'SEGMENT_REFERENCE_UNKNOWN' }),
    )
  })

  it('evaluationOrder puts referenced segments first', () => {
    const order = evaluationOrder(defs)
    expect(order).toHaveLength(4)
    for (const [id, def] of defs)
      for (const ref of dependencies(def).segments)
        expect(order.indexOf(ref)).toBeLessThan(order.indexOf(id))
  })
})
