import { describe, expect, it } from 'vitest'
import { pairKey, planMatches, type MatchProfile } from './match-planner.js'
import { DEFAULT_IDENTITY_RULES } from './index.js'

const profile = (
  id: string,
  createdAt: number,
  counts: Record<string, number> = {},
): MatchProfile => ({
  id,
  createdAt,
  mergeCount: 0,
  counts,
})
const pair = (a: string, b: string, probability: number) => ({
  a,
  b,
  probability,
  explanation: { a, b },
})
const base = {
  rules: DEFAULT_IDENTITY_RULES,
  rejected: new Set<string>(),
  autoMergeThreshold: 0.99,
  reviewThreshold: 0.8,
}

describe('planMatches', () => {
  it('merges a group into its oldest member, queues the review band, ignores the rest', () => {
    const profiles = new Map(
      [profile('a', 3), profile('b', 1), profile('c', 2), profile('d', 4), profile('e', 5)].map(
        (p) => [p.id, p],
      ),
    )
    const plan = planMatches({
      ...base,
      profiles,
      pairs: [
        pair('a', 'b', 0.999),
        pair('a', 'c', 0.995),
        pair('d', 'e', 0.85),
        pair('c', 'd', 0.3),
      ],
    })
    expect(plan.merges.map((m) => [m.from, m.into]).sort()).toEqual([
      ['a', 'b'],
      ['c', 'b'],
    ])
    // c joined through a: its record carries the a–c pair.
    expect(plan.merges.find((m) => m.from === 'c')?.pair.probability).toBe(0.995)
    expect(plan.review.map((p) => [p.a, p.b, p.reason])).toEqual([['d', 'e', null]])
  })

  it('never joins two user ids; the pair goes to review with the reason', () => {
    const profiles = new Map(
      [profile('a', 1, { user_id: 1 }), profile('b', 2, { user_id: 1 })].map((p) => [p.id, p]),
    )
    const plan = planMatches({ ...base, profiles, pairs: [pair('a', 'b', 0.9999)] })
    expect(plan.merges).toEqual([])
    expect(plan.blocked).toBe(1)
    expect(plan.review[0]?.reason).toMatch(/user_id.*limit 1/)
  })

  it('checks limits against the whole group, most probable pair first', () => {
    const profiles = new Map(
      [profile('a', 1, { user_id: 1 }), profile('b', 2), profile('c', 3, { user_id: 1 })].map(
        (p) => [p.id, p],
      ),
    )
    const plan = planMatches({
      ...base,
      profiles,
      pairs: [pair('b', 'c', 0.9999), pair('a', 'b', 0.995)],
    })
    expect(plan.merges.map((m) => [m.from, m.into])).toEqual([['c', 'b']])
    expect(plan.review.map((p) => [p.a, p.b])).toEqual([['a', 'b']])
  })

  it('skips rejected pairs and refuses to join groups across a rejection', () => {
    const profiles = new Map(
      [profile('a', 1), profile('b', 2), profile('c', 3)].map((p) => [p.id, p]),
    )
    const plan = planMatches({
      ...base,
      profiles,
      rejected: new Set([pairKey('a', 'c')]),
      pairs: [pair('a', 'c', 0.9999), pair('a', 'b', 0.999), pair('b', 'c', 0.995)],
    })
    expect(plan.skippedRejected).toBe(1)
    expect(plan.merges.map((m) => [m.from, m.into])).toEqual([['b', 'a']])
    expect(plan.review[0]).toMatchObject({ a: 'b', b: 'c' })
    expect(plan.review[0]?.reason).toMatch(/rejected a and c/)
  })
})
