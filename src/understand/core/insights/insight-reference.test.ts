/**
 * The reference evaluator on small histories worked out by hand: the agreement suite shows the
 * SQL means what the reference means, these show the reference means what README.md says.
 */
import { describe, expect, it } from 'vitest'
import {
  evaluateInsight,
  parseInsightDefinition,
  referenceFunnelProfiles,
  type FunnelDefinition,
  type FunnelResult,
  type InsightEvent,
  type LifecycleResult,
  type StickinessResult,
  type RetentionResult,
  type RfmResult,
  type TrendsResult,
} from './index.js'

const H = 3_600_000
const D = 24 * H
const T = Date.UTC(2025, 2, 10, 12) // Monday 10 March 2025, noon UTC
const ctx = { nowMs: Date.UTC(2025, 5, 1), timeZone: 'UTC' }

const ev = (
  profileId: string | null,
  event: string,
  timestamp: number,
  properties: Record<string, unknown> = {},
): InsightEvent => ({ profileId, event, type: 'track', timestamp, properties })

function funnel(extra: Record<string, unknown>, events: InsightEvent[]): FunnelResult {
  const def = parseInsightDefinition({
    kind: 'funnel',
    steps: [{ event: 'A' }, { event: 'B' }],
    range: { kind: 'between', from: '2025-03-10', to: '2025-03-10' },
    ...extra,
  })
  return evaluateInsight(def, events, ctx) as FunnelResult
}
const counts = (r: FunnelResult) => r.steps.map((s) => s.count)

describe('funnels', () => {
  it('chain strictly later events, the window end included', () => {
    expect(counts(funnel({}, [ev('p', 'A', T), ev('p', 'B', T)]))).toEqual([1, 0])
    expect(counts(funnel({}, [ev('p', 'A', T), ev('p', 'B', T + 14 * D)]))).toEqual([1, 1])
    expect(counts(funnel({}, [ev('p', 'A', T), ev('p', 'B', T + 14 * D + 1)]))).toEqual([1, 0])
    const hour = funnel({ window: { amount: 1, unit: 'hours' } }, [
      ev('p', 'A', T),
      ev('p', 'B', T + H),
      ev('q', 'A', T),
      ev('q', 'B', T + H + 1),
    ])
    expect(counts(hour)).toEqual([2, 1])
    expect(hour.steps[1]?.conversionRate).toBe(0.5)
    expect(hour.steps[1]?.medianSecondsToConvert).toBe(3600)
  })

  it('a start outside the range does not count, its later steps may be outside', () => {
    const r = funnel({}, [
      ev('p', 'A', T - D),
      ev('p', 'B', T),
      ev('q', 'A', T),
      ev('q', 'B', T + 3 * D),
    ])
    expect(counts(r)).toEqual([1, 1])
  })

  it('strict order against any order', () => {
    const steps = [{ event: 'A' }, { event: 'B' }, { event: 'C' }]
    const events = [ev('p', 'A', T), ev('p', 'C', T + H), ev('p', 'B', T + 2 * H)]
    expect(counts(funnel({ steps }, events))).toEqual([1, 1, 0])
    const any = funnel({ steps, order: 'any' }, events)
    expect(counts(any)).toEqual([1, 1, 1])
    // Any order: step 2 is done at +2 h (B), step 3 too (C came before): 0 s after step 2.
    expect(any.steps.map((s) => s.medianSecondsToConvert)).toEqual([null, 7200, 0])
    expect(any.timeToConvert.find((b) => b.count > 0)?.upToSeconds).toBe(3 * 3600)
  })

  it('an exclusion between two steps disqualifies that path; a later start may still count', () => {
    const excl = { exclusions: [{ event: 'X' }] }
    expect(
      counts(funnel(excl, [ev('p', 'A', T), ev('p', 'X', T + H), ev('p', 'B', T + 2 * H)])),
    ).toEqual([0, 0])
    // The exclusion at the very instant of a step is not between the steps.
    expect(
      counts(funnel(excl, [ev('p', 'A', T), ev('p', 'X', T + H), ev('p', 'B', T + H)])),
    ).toEqual([1, 1])
    // Not converted: an exclusion after step 1 within the window disqualifies too.
    expect(counts(funnel(excl, [ev('p', 'A', T), ev('p', 'X', T + H)]))).toEqual([0, 0])
    const later = funnel(excl, [
      ev('p', 'A', T),
      ev('p', 'X', T + H),
      ev('p', 'A', T + 2 * H),
      ev('p', 'B', T + 3 * H),
    ])
    expect(counts(later)).toEqual([1, 1])
    expect(later.steps[1]?.medianSecondsToConvert).toBe(3600)
  })

  it('counts a profile once, with its deepest path and the earliest start among equals', () => {
    const r = funnel({ steps: [{ event: 'A' }, { event: 'B' }, { event: 'C' }] }, [
      ev('p', 'A', T),
      ev('p', 'B', T + H),
      ev('p', 'A', T + 2 * H),
      ev('p', 'B', T + 3 * H),
      ev('p', 'C', T + 5 * H),
    ])
    expect(counts(r)).toEqual([1, 1, 1])
    // From the first start: B after 1 h, C after 4 more hours.
    expect(r.steps.map((s) => s.medianSecondsToConvert)).toEqual([null, 3600, 4 * 3600])
  })

  it('breaks down by the start event, lists who dropped, ignores events of nobody', () => {
    const events = [
      ev('p1', 'A', T, { src: 'ads' }),
      ev('p1', 'B', T + H),
      ev('p2', 'A', T, { src: 'mail' }),
      ev('p3', 'A', T, { src: 'ads' }),
      ev(null, 'A', T, { src: 'ads' }),
    ]
    const r = funnel({ breakdown: { property: 'src' } }, events)
    expect(counts(r)).toEqual([3, 1])
    expect(r.breakdown?.map((g) => [g.value, g.steps.map((s) => s.count)])).toEqual([
      ['ads', [2, 1]],
      ['mail', [1, 0]],
    ])
    const def = parseInsightDefinition({
      kind: 'funnel',
      steps: [{ event: 'A' }, { event: 'B' }],
      range: { kind: 'between', from: '2025-03-10', to: '2025-03-10' },
    }) as FunnelDefinition
    expect(
      referenceFunnelProfiles(def, events, ctx, { step: 2, outcome: 'dropped', limit: 1 }),
    ).toEqual({
      step: 2,
      outcome: 'dropped',
      profileIds: ['p2'],
      nextCursor: 'p2',
    })
  })
})

describe('trends in a time zone', () => {
  // 23:30 UTC on 29 March is 00:30 on 30 March in Berlin (CET); 22:30 UTC on 30 March is 00:30
  // on 31 March (CEST, after the change at 01:00 UTC): one event on each local day.
  const events = [
    ev('p', 'A', Date.UTC(2025, 2, 29, 23, 30)),
    ev('q', 'A', Date.UTC(2025, 2, 30, 22, 30)),
  ]
  const trend = (timeZone: string, interval = 'day') =>
    evaluateInsight(
      parseInsightDefinition({
        kind: 'trends',
        series: [{ event: 'A' }, { event: 'A', measure: { kind: 'unique' } }],
        interval,
        range: { kind: 'between', from: '2025-03-29', to: '2025-03-31' },
        timeZone,
      }),
      events,
      ctx,
    ) as TrendsResult

  it('buckets by the local date, across the DST change', () => {
    expect(trend('Europe/Berlin').lines[0]?.buckets.map((b) => b.value)).toEqual([0, 1, 1])
    expect(trend('UTC').lines[0]?.buckets.map((b) => b.value)).toEqual([1, 1, 0])
    expect(trend('America/New_York').lines[0]?.buckets.map((b) => b.value)).toEqual([1, 1, 0])
  })

  it('labels weeks by their Monday and months by their first day', () => {
    expect(trend('Europe/Berlin', 'week').lines[0]?.buckets).toEqual([
      { start: '2025-03-24', value: 1 },
      { start: '2025-03-31', value: 1 },
    ])
    expect(trend('Europe/Berlin', 'month').lines[1]?.buckets).toEqual([
      { start: '2025-03-01', value: 2 },
    ])
  })

  it('sums and averages numbers and numeric strings, compares with the period before', () => {
    const r = evaluateInsight(
      parseInsightDefinition({
        kind: 'trends',
        series: [
          { event: 'O', measure: { kind: 'sum', property: 'v' } },
          { event: 'O', measure: { kind: 'avg', property: 'v' } },
        ],
        interval: 'month',
        compare: true,
        range: { kind: 'between', from: '2025-02-01', to: '2025-03-31' },
      }),
      [
        ev('p', 'O', Date.UTC(2025, 1, 3), { v: 10 }),
        ev('p', 'O', Date.UTC(2025, 1, 4), { v: '5.5' }),
        ev('p', 'O', Date.UTC(2025, 1, 5), { v: 'n/a' }),
        ev('p', 'O', Date.UTC(2024, 11, 5), { v: 1 }),
      ],
      ctx,
    ) as TrendsResult
    expect(r.lines.map((l) => l.buckets.map((b) => b.value))).toEqual([
      [15.5, 0],
      [7.75, null],
    ])
    expect(r.previous?.range).toEqual({ from: '2024-12-01', to: '2025-01-31' })
    expect(r.previous?.lines[0]?.total).toBe(1)
  })
})

describe('retention', () => {
  it('puts a profile in the month of its first start, counts calendar months after', () => {
    const r = evaluateInsight(
      parseInsightDefinition({
        kind: 'retention',
        startEvent: { event: 'O' },
        returnEvent: { event: 'O' },
        period: 'month',
        periods: 2,
        value: { property: 'v' },
        range: { kind: 'between', from: '2025-01-01', to: '2025-02-28' },
      }),
      [
        ev('p', 'O', Date.UTC(2025, 0, 31, 23), { v: 10 }),
        ev('p', 'O', Date.UTC(2025, 1, 1, 1), { v: 5 }),
        ev('p', 'O', Date.UTC(2025, 1, 20), { v: 5 }),
        ev('q', 'O', Date.UTC(2025, 1, 2), { v: 1 }),
        ev('q', 'O', Date.UTC(2025, 3, 2), { v: 1 }),
      ],
      ctx,
    ) as RetentionResult
    expect(r.cohorts).toEqual([
      { start: '2025-01-01', size: 1, values: [1, 1, 0], revenue: [10, 10, 0] },
      { start: '2025-02-01', size: 1, values: [1, 0, 1], revenue: [1, 0, 1] },
    ])
  })
})

describe('RFM', () => {
  it('scores against the cut points and names the groups', () => {
    const r = evaluateInsight(
      parseInsightDefinition({
        kind: 'rfm',
        purchase: { event: 'O' },
        value: { property: 'v' },
        asOf: '2025-03-31',
        cutPoints: {
          recency: [7, 30, 60, 90],
          frequency: [1, 2, 3, 5],
          monetary: [10, 50, 100, 500],
        },
      }),
      [
        // champion: 1 day ago, 6 purchases, 600
        ...Array.from({ length: 6 }, (_, i) => ev('c', 'O', Date.UTC(2025, 2, 30 - i), { v: 100 })),
        // new: yesterday, one purchase
        ev('n', 'O', Date.UTC(2025, 2, 30), { v: 20 }),
        // lost: 100 days ago, one small purchase
        ev('l', 'O', Date.UTC(2024, 11, 21), { v: 5 }),
        // at risk: 100 days ago, 4 big purchases
        ...Array.from({ length: 4 }, (_, i) =>
          ev('a', 'O', Date.UTC(2024, 11, 21 - i), { v: 200 }),
        ),
      ],
      ctx,
    ) as RfmResult
    expect(r.profiles).toBe(4)
    const of = (name: string) => r.groups.find((g) => g.name === name)?.profiles
    expect([of('champions'), of('new'), of('lost'), of('at_risk')]).toEqual([1, 1, 1, 1])
    expect(r.cells).toEqual([
      { r: 1, f: 1, m: 1, profiles: 1 },
      { r: 1, f: 4, m: 5, profiles: 1 },
      { r: 5, f: 1, m: 2, profiles: 1 },
      { r: 5, f: 5, m: 5, profiles: 1 },
    ])
    expect(r.groups.find((g) => g.name === 'champions')).toMatchObject({
      avgRecencyDays: 1,
      avgFrequency: 6,
      totalMonetary: 600,
    })
  })

  it('cuts at nearest-rank quintiles by default', () => {
    const events = Array.from({ length: 10 }, (_, i) =>
      Array.from({ length: i + 1 }, (_, j) => ev(`p${i}`, 'O', Date.UTC(2025, 2, 1 + j), { v: 1 })),
    ).flat()
    const r = evaluateInsight(
      parseInsightDefinition({
        kind: 'rfm',
        purchase: { event: 'O' },
        value: { property: 'v' },
        asOf: '2025-03-31',
      }),
      events,
      ctx,
    ) as RfmResult
    // Frequencies 1…10: ranks 2, 4, 6, 8.
    expect(r.cutPoints?.frequency).toEqual([2, 4, 6, 8])
  })
})

describe('definitions', () => {
  it('name the offending field', () => {
    const bad = () =>
      parseInsightDefinition({
        kind: 'funnel',
        steps: [
          { event: 'A', where: [{ property: 'p', condition: { op: 'gt', value: 'x' } }] },
          { event: 'B' },
        ],
        range: { kind: 'between', from: '2025-02-30', to: '2025-03-01' },
      })
    expect(bad).toThrow(/steps\.0\.where\.0\.condition\.value/)
    expect(bad).toThrow(/range\.from/)
    expect(() =>
      evaluateInsight(
        parseInsightDefinition({
          kind: 'trends',
          series: [{}],
          interval: 'day',
          range: { kind: 'between', from: '2020-01-01', to: '2025-01-01' },
        }),
        [],
        ctx,
      ),
    ).toThrow(/range: .*buckets by day; the limit is 1200/)
    expect(() =>
      parseInsightDefinition({
        kind: 'funnel',
        steps: [{ event: 'A' }, { event: 'B' }],
        exclusions: [{ event: 'X', from: 2, to: 2 }],
        range: { kind: 'last', amount: 7, unit: 'days' },
      }),
    ).toThrow(/exclusions\.0\.from/)
  })

  it('resolve `last` ranges from today in the zone', () => {
    const r = evaluateInsight(
      parseInsightDefinition({
        kind: 'trends',
        series: [{}],
        range: { kind: 'last', amount: 7, unit: 'days' },
        timeZone: 'Pacific/Auckland',
      }),
      [],
      { nowMs: Date.UTC(2025, 5, 1, 13), timeZone: 'UTC' },
    ) as TrendsResult
    // 13:00 UTC on 1 June is 01:00 on 2 June in Auckland.
    expect(r.range).toEqual({ from: '2025-05-27', to: '2025-06-02' })
  })
})

describe('lifecycle and stickiness (worked by hand)', () => {
  // Weeks from Monday: W0 = 3 March, W1 = 10 March (T), W2 = 17 March, W3 = 24 March.
  const W = 7 * D
  const events = [
    ev('old', 'A', T - 3 * W), // first seen weeks before the range
    ev('old', 'A', T + W), // back in W2 after a gap: resurrecting
    ev('p1', 'A', T), // new in W1
    ev('p1', 'A', T + D), // a second day of W1
    ev('p1', 'A', T + W), // returning in W2
    ev('p2', 'A', T - W), // W0, before the range: W1 dormant for p2
    ev('p3', 'B', T), // not the event
    ev(null, 'A', T), // no profile
  ]
  const range = { kind: 'between', from: '2025-03-10', to: '2025-03-30' }

  it('labels each active profile new, returning or resurrecting, and counts the dormant', () => {
    const r = evaluateInsight(
      parseInsightDefinition({ kind: 'lifecycle', event: { event: 'A' }, interval: 'week', range }),
      events,
      ctx,
    ) as LifecycleResult
    expect(r.periods).toEqual([
      { start: '2025-03-10', new: 1, returning: 0, resurrecting: 0, dormant: 1 },
      { start: '2025-03-17', new: 0, returning: 1, resurrecting: 1, dormant: 0 },
      { start: '2025-03-24', new: 0, returning: 0, resurrecting: 0, dormant: 2 },
    ])
  })

  it('counts profiles by the days they were active in each week', () => {
    const r = evaluateInsight(
      parseInsightDefinition({ kind: 'stickiness', event: { event: 'A' }, range }),
      events,
      ctx,
    ) as StickinessResult
    expect(r.periods.map((x) => [x.start, x.profiles, x.days.slice(0, 3)])).toEqual([
      ['2025-03-10', 1, [0, 1, 0]],
      ['2025-03-17', 2, [2, 0, 0]],
      ['2025-03-24', 0, [0, 0, 0]],
    ])
    expect(r.periods[0]?.days).toHaveLength(7)
  })
})
