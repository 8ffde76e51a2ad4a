import { describe, expect, it } from 'vitest'
import type { SegmentNode } from './definition.js'
import {
  evaluateSegment,
  evaluateSegments,
  membershipChanges,
  type ProfileFacts,
} from './evaluate.js'
import { matchValue, parseIsoMs, type ValueCondition } from './value-condition.js'

const NOW = new Date('2025-01-15T12:00:00.000Z')
const nowMs = NOW.getTime()

describe('value operators', () => {
  const cases: Array<[string, ValueCondition, unknown, boolean]> = [
    ['eq string', { op: 'eq', value: 'pro' }, 'pro', true],
    ['eq is case-sensitive', { op: 'eq', value: 'pro' }, 'Pro', false],
    ['eq ignoreCase folds ASCII', { op: 'eq', value: 'pro', ignoreCase: true }, 'PRO', true],
    ['eq ignoreCase leaves non-ASCII', { op: 'eq', value: 'ä', ignoreCase: true }, 'Ä', false],
    ['eq number vs numeric string', { op: 'eq', value: 12 }, '12.0', true],
    ['eq number vs number', { op: 'eq', value: 12.5 }, 12.5, true],
    ['eq number vs junk string', { op: 'eq', value: 12 }, '12abc', false],
    ['eq number vs exponent string', { op: 'eq', value: 100 }, '1e2', false],
    ['eq string vs number', { op: 'eq', value: '12' }, 12, false],
    ['eq boolean vs "true"', { op: 'eq', value: true }, 'true', true],
    ['eq boolean vs 1', { op: 'eq', value: true }, 1, false],
    ['eq missing', { op: 'eq', value: 'pro' }, undefined, false],
    ['neq missing', { op: 'neq', value: 'pro' }, undefined, true],
    ['neq null', { op: 'neq', value: 'pro' }, null, true],
    ['neq equal', { op: 'neq', value: 'pro' }, 'pro', false],
    ['in mixed', { op: 'in', values: ['a', 3, false] }, '3', true],
    ['in miss', { op: 'in', values: ['a', 3] }, 'b', false],
    ['not_in missing', { op: 'not_in', values: ['a'] }, undefined, true],
    ['contains substring', { op: 'contains', value: 'ell' }, 'hello', true],
    ['contains ignoreCase', { op: 'contains', value: 'ELL', ignoreCase: true }, 'hello', true],
    ['contains array element', { op: 'contains', value: 'vip' }, ['a', 'vip'], true],
    ['contains array needs whole element', { op: 'contains', value: 'vi' }, ['vip'], false],
    ['contains number', { op: 'contains', value: '1' }, 123, false],
    ['not_contains missing', { op: 'not_contains', value: 'x' }, undefined, true],
    ['starts_with', { op: 'starts_with', value: 'he' }, 'hello', true],
    ['starts_with no', { op: 'starts_with', value: 'lo' }, 'hello', false],
    ['gt', { op: 'gt', value: 10 }, 11, true],
    ['gt equal', { op: 'gt', value: 10 }, 10, false],
    ['gte equal', { op: 'gte', value: 10 }, '10', true],
    ['lt', { op: 'lt', value: 0 }, '-0.5', true],
    ['lte', { op: 'lte', value: 1 }, 2, false],
    ['gt boolean', { op: 'gt', value: 0 }, true, false],
    ['between inclusive low', { op: 'between', min: 1, max: 2 }, 1, true],
    ['between inclusive high', { op: 'between', min: 1, max: 2 }, '2', true],
    ['between outside', { op: 'between', min: 1, max: 2 }, 2.01, false],
    ['exists', { op: 'exists' }, '', true],
    ['exists false', { op: 'exists' }, false, true],
    ['exists null', { op: 'exists' }, null, false],
    ['not_exists', { op: 'not_exists' }, undefined, true],
    ['is_true', { op: 'is_true' }, true, true],
    ['is_true string', { op: 'is_true' }, 'true', true],
    ['is_true TRUE', { op: 'is_true' }, 'TRUE', false],
    ['is_false', { op: 'is_false' }, 'false', true],
    ['is_false missing', { op: 'is_false' }, undefined, false],
    [
      'within_last inside',
      { op: 'date_within_last', amount: 1, unit: 'days' },
      '2025-01-15T00:00:00Z',
      true,
    ],
    [
      'within_last boundary inclusive',
      { op: 'date_within_last', amount: 1, unit: 'days' },
      '2025-01-14T12:00:00Z',
      true,
    ],
    [
      'within_last future',
      { op: 'date_within_last', amount: 1, unit: 'days' },
      '2025-01-15T12:00:00.001Z',
      false,
    ],
    [
      'within_last offset',
      { op: 'date_within_last', amount: 2, unit: 'hours' },
      '2025-01-15T11:00:00+01:00',
      true,
    ],
    [
      'within_last no zone = UTC',
      { op: 'date_within_last', amount: 1, unit: 'hours' },
      '2025-01-15T11:00',
      true,
    ],
    [
      'within_last not a date',
      { op: 'date_within_last', amount: 1, unit: 'days' },
      'yesterday',
      false,
    ],
    [
      'before absolute',
      { op: 'date_before', date: { kind: 'absolute', at: '2025-01-01' } },
      '2024-12-31',
      true,
    ],
    [
      'before exclusive',
      { op: 'date_before', date: { kind: 'absolute', at: '2025-01-01' } },
      '2025-01-01T00:00:00Z',
      false,
    ],
    [
      'after relative',
      { op: 'date_after', date: { kind: 'relative', amount: 7, unit: 'days', direction: 'ago' } },
      '2025-01-10',
      true,
    ],
    [
      'after from_now',
      {
        op: 'date_after',
        date: { kind: 'relative', amount: 1, unit: 'days', direction: 'from_now' },
      },
      '2025-01-16',
      false,
    ],
  ]
  it.each(cases)('%s', (_name, cond, value, expected) => {
    expect(matchValue(cond, value, nowMs)).toBe(expected)
  })

  it('parses ISO dates strictly and without the local time zone', () => {
    expect(parseIsoMs('2025-01-15')).toBe(Date.UTC(2025, 0, 15))
    expect(parseIsoMs('2025-01-15T10:20:30.1234567-02:30')).toBe(
      Date.UTC(2025, 0, 15, 12, 50, 30, 123),
    )
    expect(parseIsoMs('2025-13-01')).toBeUndefined()
    expect(parseIsoMs('2025-1-1')).toBeUndefined()
    expect(parseIsoMs('0999-01-01')).toBeUndefined()
    // Day overflow rolls over, exactly as kindred_ts_ms does in SQL.
    expect(parseIsoMs('2025-02-30')).toBe(Date.UTC(2025, 2, 2))
  })
})

const base: ProfileFacts = {
  profile: { id: 'p1', traits: { plan: 'pro', address: { city: 'Paris' }, tags: ['a', 'b'] } },
  events: [
    { name: 'Viewed', type: 'track', properties: { sku: 'x' }, timestamp: '2025-01-15T10:00:00Z' },
    { name: 'Added', type: 'track', properties: { sku: 'x' }, timestamp: '2025-01-15T10:30:00Z' },
    {
      name: 'Bought',
      type: 'track',
      properties: { total: '30' },
      timestamp: '2025-01-15T11:30:00Z',
    },
    { name: 'Bought', type: 'track', properties: { total: 5 }, timestamp: '2025-01-01T00:00:00Z' },
    {
      name: null,
      type: 'page',
      properties: { path: '/pricing' },
      timestamp: '2025-01-14T00:00:00Z',
    },
  ],
  computedTraits: { ltv: 120, last_seen: '2025-01-14T00:00:00Z' },
  segments: new Set(['vip']),
  consent: { email: 'granted', ads: 'denied' },
}

describe('evaluateSegment', () => {
  const cases: Array<[string, SegmentNode, boolean]> = [
    ['trait', { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } }, true],
    [
      'nested trait path',
      { kind: 'trait', trait: ['address', 'city'], condition: { op: 'eq', value: 'Paris' } },
      true,
    ],
    [
      'array index path',
      { kind: 'trait', trait: ['tags', '-1'], condition: { op: 'eq', value: 'b' } },
      true,
    ],
    ['event performed', { kind: 'event', event: 'Bought' }, true],
    ['event count', { kind: 'event', event: 'Bought', count: { op: 'eq', value: 2 } }, true],
    ['event at most', { kind: 'event', event: 'Bought', count: { op: 'lte', value: 1 } }, false],
    ['event not performed', { kind: 'event', event: 'Refunded', performed: false }, true],
    [
      'event window',
      {
        kind: 'event',
        event: 'Bought',
        window: { kind: 'last', amount: 1, unit: 'days' },
        count: { op: 'eq', value: 1 },
      },
      true,
    ],
    [
      'event between',
      {
        kind: 'event',
        event: 'Bought',
        window: { kind: 'between', from: '2025-01-01', to: '2025-01-02' },
      },
      true,
    ],
    [
      'event between end exclusive',
      {
        kind: 'event',
        event: 'Bought',
        window: { kind: 'between', from: '2024-12-01', to: '2025-01-01' },
      },
      false,
    ],
    [
      'event property filter',
      {
        kind: 'event',
        event: 'Bought',
        where: [{ property: 'total', condition: { op: 'gt', value: 10 } }],
      },
      true,
    ],
    [
      'event by type',
      {
        kind: 'event',
        type: 'page',
        where: [{ property: 'path', condition: { op: 'starts_with', value: '/pri' } }],
      },
      true,
    ],
    [
      'computed trait',
      { kind: 'computed_trait', id: 'ltv', condition: { op: 'gte', value: 100 } },
      true,
    ],
    [
      'computed trait missing neq',
      { kind: 'computed_trait', id: 'nope', condition: { op: 'neq', value: 1 } },
      true,
    ],
    ['segment member', { kind: 'segment', id: 'vip' }, true],
    ['segment non-member', { kind: 'segment', id: 'vip', member: false }, false],
    ['consent granted', { kind: 'consent', purpose: 'email', status: 'granted' }, true],
    ['consent missing is neither', { kind: 'consent', purpose: 'sms', status: 'denied' }, false],
    [
      'funnel in order within T',
      {
        kind: 'funnel',
        steps: [{ event: 'Viewed' }, { event: 'Added' }, { event: 'Bought' }],
        within: { amount: 2, unit: 'hours' },
      },
      true,
    ],
    [
      'funnel within is inclusive (last step exactly T after the first)',
      {
        kind: 'funnel',
        steps: [{ event: 'Viewed' }, { event: 'Added' }, { event: 'Bought' }],
        within: { amount: 90, unit: 'minutes' },
      },
      true,
    ],
    [
      'funnel too slow',
      {
        kind: 'funnel',
        steps: [{ event: 'Viewed' }, { event: 'Bought' }],
        within: { amount: 89, unit: 'minutes' },
      },
      false,
    ],
    [
      'funnel wrong order',
      {
        kind: 'funnel',
        steps: [{ event: 'Added' }, { event: 'Viewed' }],
        within: { amount: 1, unit: 'days' },
      },
      false,
    ],
    [
      'funnel with window',
      {
        kind: 'funnel',
        steps: [{ event: 'Viewed' }, { event: 'Added' }],
        within: { amount: 1, unit: 'days' },
        window: { kind: 'last', amount: 1, unit: 'hours' },
      },
      false,
    ],
    [
      'and/or/not',
      {
        kind: 'and',
        children: [
          {
            kind: 'or',
            children: [
              { kind: 'segment', id: 'x' },
              { kind: 'consent', purpose: 'ads', status: 'denied' },
            ],
          },
          { kind: 'not', child: { kind: 'trait', trait: 'plan', condition: { op: 'exists' } } },
        ],
      },
      false,
    ],
  ]
  it.each(cases)('%s', (_name, def, expected) => {
    expect(evaluateSegment(def, base, NOW)).toBe(expected)
  })

  it('funnel steps are strictly ordered: equal timestamps do not chain', () => {
    const facts: ProfileFacts = {
      ...base,
      events: [
        { name: 'A', type: 'track', properties: {}, timestamp: 1000 },
        { name: 'B', type: 'track', properties: {}, timestamp: 1000 },
      ],
    }
    const def: SegmentNode = {
      kind: 'funnel',
      steps: [{ event: 'A' }, { event: 'B' }],
      within: { amount: 1, unit: 'hours' },
    }
    expect(evaluateSegment(def, facts, NOW)).toBe(false)
  })

  it('evaluateSegments feeds each result to the segments that reference it', () => {
    const defs: Array<[string, SegmentNode]> = [
      ['pro', { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } }],
      [
        'pro-emailable',
        {
          kind: 'and',
          children: [
            { kind: 'segment', id: 'pro' },
            { kind: 'consent', purpose: 'email', status: 'granted' },
          ],
        },
      ],
      ['vip', { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'enterprise' } }],
    ]
    const out = evaluateSegments(defs, { ...base, segments: new Set(['vip']) }, NOW)
    expect(Object.fromEntries(out)).toEqual({ pro: true, 'pro-emailable': true, vip: false })
  })
})

describe('membershipChanges', () => {
  it('lists entered and exited ids only', () => {
    const results = new Map([
      ['a', true],
      ['b', false],
      ['c', true],
      ['d', false],
    ])
    expect(membershipChanges(new Set(['b', 'c']), results)).toEqual({
      entered: ['a'],
      exited: ['b'],
    })
  })
})
