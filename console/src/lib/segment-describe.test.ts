import { describe, expect, it } from 'vitest'
import { describeCondition, describeSegment } from './segment-describe.js'
import type { SegmentNode, ValueCondition } from './segment-tree.js'

describe('segment definitions in words', () => {
  it('reads the example from the definition docs', () => {
    const def: SegmentNode = {
      kind: 'and',
      children: [
        { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } },
        {
          kind: 'event',
          event: 'Order Completed',
          count: { op: 'gte', value: 2 },
          window: { kind: 'last', amount: 30, unit: 'days' },
        },
      ],
    }
    expect(describeSegment(def)).toBe(
      'trait plan equals "pro" AND performed Order Completed at least 2 times in the last 30 days',
    )
  })

  it('parenthesises nested groups and negations', () => {
    const def: SegmentNode = {
      kind: 'or',
      children: [
        {
          kind: 'and',
          children: [
            { kind: 'trait', trait: ['address', 'country'], condition: { op: 'eq', value: 'FR' } },
            { kind: 'consent', purpose: 'marketing', status: 'granted' },
          ],
        },
        { kind: 'not', child: { kind: 'segment', id: 'seg_1' } },
      ],
    }
    expect(describeSegment(def, { segments: { seg_1: 'Churned' } })).toBe(
      '(trait address.country equals "FR" AND consent for marketing is granted) OR NOT in segment Churned',
    )
    expect(
      describeSegment({ kind: 'and', children: [{ kind: 'segment', id: 'x', member: false }] }),
    ).toBe('not in segment x')
  })

  it('reads events: counts, types, filters, windows, not performed', () => {
    expect(
      describeSegment({
        kind: 'event',
        event: 'Viewed',
        type: 'page',
        performed: false,
        count: { op: 'eq', value: 1 },
        where: [{ property: 'path', condition: { op: 'starts_with', value: '/pricing' } }],
        window: { kind: 'between', from: '2025-01-01', to: '2025-02-01' },
      }),
    ).toBe(
      'did not perform page Viewed where path starts with "/pricing" exactly 1 time between 2025-01-01 and 2025-02-01',
    )
    expect(
      describeSegment({ kind: 'event', type: 'identify', count: { op: 'lte', value: 3 } }),
    ).toBe('performed any identify event at most 3 times')
    expect(describeSegment({ kind: 'event' })).toBe('performed any event')
  })

  it('reads computed traits and funnels', () => {
    expect(
      describeSegment(
        { kind: 'computed_trait', id: 'ct_ltv', condition: { op: 'gte', value: 100 } },
        { computedTraits: { ct_ltv: 'Lifetime value' } },
      ),
    ).toBe('computed trait Lifetime value is at least 100')
    expect(
      describeSegment({
        kind: 'funnel',
        steps: [{ event: 'Cart Viewed' }, { event: 'Order Completed' }],
        within: { amount: 1, unit: 'hours' },
        window: { kind: 'last', amount: 7, unit: 'days' },
      }),
    ).toBe('did Cart Viewed, then Order Completed within 1 hour in the last 7 days')
  })

  it('words every value operator', () => {
    const cases: Array<[ValueCondition, string]> = [
      [{ op: 'eq', value: 'Pro', ignoreCase: true }, 'equals "Pro" (ignoring case)'],
      [{ op: 'neq', value: 3 }, 'does not equal 3'],
      [{ op: 'in', values: ['a', 'b'] }, 'is one of "a", "b"'],
      [{ op: 'not_in', values: [true] }, 'is none of true'],
      [{ op: 'contains', value: 'x' }, 'contains "x"'],
      [{ op: 'not_contains', value: 'x' }, 'does not contain "x"'],
      [{ op: 'starts_with', value: 'x' }, 'starts with "x"'],
      [{ op: 'gt', value: 1 }, 'is greater than 1'],
      [{ op: 'gte', value: 1 }, 'is at least 1'],
      [{ op: 'lt', value: 1 }, 'is less than 1'],
      [{ op: 'lte', value: 1 }, 'is at most 1'],
      [{ op: 'between', min: 1, max: 5 }, 'is between 1 and 5'],
      [{ op: 'exists' }, 'is set'],
      [{ op: 'not_exists' }, 'is not set'],
      [{ op: 'is_true' }, 'is true'],
      [{ op: 'is_false' }, 'is false'],
      [{ op: 'date_within_last', amount: 2, unit: 'weeks' }, 'is a date within the last 2 weeks'],
      [
        { op: 'date_before', date: { kind: 'absolute', at: '2025-01-31' } },
        'is a date before 2025-01-31',
      ],
      [
        { op: 'date_after', date: { kind: 'relative', amount: 1, unit: 'days', direction: 'ago' } },
        'is a date after 1 day ago',
      ],
      [
        {
          op: 'date_before',
          date: { kind: 'relative', amount: 3, unit: 'hours', direction: 'from_now' },
        },
        'is a date before 3 hours from now',
      ],
    ]
    for (const [c, words] of cases) expect(describeCondition(c)).toBe(words)
  })
})
