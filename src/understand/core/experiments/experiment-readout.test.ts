import { describe, expect, it } from 'vitest'
import { assignArm, bucketOf, hash32 } from './experiment-assignment.js'
import { experimentReadout, type ReadoutInput } from './experiment-readout.js'

describe('assignment', () => {
  const arms = [
    { key: 'control', weight: 50 },
    { key: 'b', weight: 30 },
    { key: 'c', weight: 20 },
  ]
  it('is deterministic, follows the weights, and changes with the salt', () => {
    expect(assignArm(arms, 's1', 'profile-1')).toEqual(assignArm(arms, 's1', 'profile-1'))
    const counts = new Map<string, number>()
    for (let i = 0; i < 100_000; i++) {
      const a = assignArm(arms, 'salt', `user-${i}`).key
      counts.set(a, (counts.get(a) ?? 0) + 1)
    }
    // Binomial sd at 100,000 is ≤ 158: 5 sd.
    expect(Math.abs(counts.get('control')! - 50_000)).toBeLessThan(800)
    expect(Math.abs(counts.get('b')! - 30_000)).toBeLessThan(800)
    expect(Math.abs(counts.get('c')! - 20_000)).toBeLessThan(800)
    let moved = 0
    for (let i = 0; i < 1000; i++)
      if (assignArm(arms, 'a', `u${i}`).key !== assignArm(arms, 'b', `u${i}`).key) moved++
    expect(moved).toBeGreaterThan(400)
  })
  it('hashes are stable across releases: pinned to an independent (Python) computation', () => {
    expect(hash32('')).toBe(2872998923)
    expect(hash32('kindred')).toBe(1313528092)
    expect(hash32('salt\u0000user-1')).toBe(3229356659)
    expect(bucketOf('salt', 'user-1')).toBe(3229356659 / 4294967296)
    expect(() => assignArm([{ key: 'a', weight: 0 }], 's', 'u')).toThrow(RangeError)
  })
})

const base = (over: Partial<ReadoutInput>): ReadoutInput => ({
  arms: [
    { key: 'control', name: 'Control', weight: 1 },
    { key: 'b', name: 'Variant B', weight: 1 },
  ],
  metrics: [
    {
      key: 'orders',
      name: 'orders per visitor',
      kind: 'conversion',
      event: 'Order Completed',
      role: 'goal',
    },
  ],
  exposed: [10_000, 10_000],
  statistics: new Map([
    [
      'orders',
      [
        { kind: 'proportion', n: 10_000, sum: 1000 },
        { kind: 'proportion', n: 10_000, sum: 1150 },
      ],
    ],
  ]),
  knownEvents: new Set(['Order Completed']),
  ...over,
})

describe('readout', () => {
  it('reports a planted lift in numbers and words', () => {
    const r = experimentReadout(base({}))
    const c = r.metrics[0]!.comparisons[0]!
    expect(c.relative!.estimate).toBeCloseTo(0.15, 10)
    expect(c.significant).toBe(true)
    expect(c.chanceToWin).toBeGreaterThan(0.99)
    expect(c.summary).toMatch(
      /^Variant B raised orders per visitor by 15\.0% \(95% CI \d+\.\d% to \d+\.\d%\)\. Sample ratio is fine\.$/,
    )
    expect(r.srm!.mismatch).toBe(false)
  })
  it('never calls a result significant on a sample-ratio mismatch', () => {
    const r = experimentReadout(base({ exposed: [10_000, 9_000] }))
    expect(r.srm!.mismatch).toBe(true)
    expect(r.metrics[0]!.comparisons[0]!.significant).toBe(false)
    expect(r.notes.join(' ')).toMatch(/Sample ratio mismatch/)
  })
  it('explains one arm, an unknown event and too small a sample', () => {
    const one = experimentReadout(
      base({ arms: [{ key: 'control', name: 'Control', weight: 1 }], exposed: [100] }),
    )
    expect(one.srm).toBeNull()
    expect(one.metrics[0]!.status).toBe('single-arm')
    expect(one.notes[0]).toMatch(/one arm/)
    const unknown = experimentReadout(base({ knownEvents: new Set() }))
    expect(unknown.metrics[0]!.status).toBe('unknown-event')
    expect(unknown.metrics[0]!.summary).toMatch(/No "Order Completed" event/)
    const small = experimentReadout(
      base({
        exposed: [30, 30],
        statistics: new Map([
          [
            'orders',
            [
              { kind: 'proportion', n: 30, sum: 2 },
              { kind: 'proportion', n: 30, sum: 20 },
            ],
          ],
        ]),
      }),
    )
    const c = small.metrics[0]!.comparisons[0]!
    expect(c.significant).toBe(false)
    expect(c.guards.map((g) => g.guard)).toContain('minimum-sample')
    expect(c.summary).toMatch(/^Not read: Control has 30 exposed units/)
  })
  it('adjusts goal p-values for many comparisons (BH), never below the raw one', () => {
    const r = experimentReadout(
      base({
        arms: [
          { key: 'control', name: 'Control', weight: 1 },
          { key: 'b', name: 'B', weight: 1 },
          { key: 'c', name: 'C', weight: 1 },
        ],
        exposed: [10_000, 10_000, 10_000],
        statistics: new Map([
          [
            'orders',
            [
              { kind: 'proportion', n: 10_000, sum: 1000 },
              { kind: 'proportion', n: 10_000, sum: 1080 },
              { kind: 'proportion', n: 10_000, sum: 1010 },
            ],
          ],
        ]),
      }),
    )
    for (const c of r.metrics[0]!.comparisons)
      expect(c.adjustedPValue!).toBeGreaterThanOrEqual(c.pValue!)
  })
})
