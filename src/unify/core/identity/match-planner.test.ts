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

  describe('evidence against', () => {
    const withValues = (
      id: string,
      createdAt: number,
      exclusive: Record<string, string[]>,
    ): MatchProfile => ({ ...profile(id, createdAt), exclusive })

    it('never auto-merges two different emails, however probable: review, with the reason', () => {
      // One landline, two emails: a household, or one person with a second address.
      const profiles = new Map(
        [
          withValues('a', 1, { email: ['chloe.kowalski.crm39@example.org'], phone: ['1632'] }),
          withValues('b', 2, { email: ['chloe.kowalski.crm148@example.org'], phone: ['1632'] }),
        ].map((p) => [p.id, p]),
      )
      const plan = planMatches({ ...base, profiles, pairs: [pair('a', 'b', 0.99999999)] })
      expect(plan.merges).toEqual([])
      expect(plan.blocked).toBe(1)
      expect(plan.blockedBy).toMatchObject({ different_identifiers: 1, identity_rules: 0 })
      expect(plan.review[0]).toMatchObject({
        reasonCode: 'different_identifiers',
        conflicts: [
          {
            type: 'email',
            a: ['chloe.kowalski.crm39@example.org'],
            b: ['chloe.kowalski.crm148@example.org'],
          },
        ],
      })
      expect(plan.review[0]?.reason).toContain(
        'chloe.kowalski.crm39@example.org ≠ chloe.kowalski.crm148@example.org',
      )
    })

    it('holds for the group: a profile without an email cannot bridge two', () => {
      const profiles = new Map(
        [
          withValues('a', 1, { email: ['a@x.org'] }),
          withValues('b', 2, {}),
          withValues('c', 3, { email: ['c@x.org'] }),
          withValues('d', 4, { email: ['a@x.org'], phone: ['1'] }),
        ].map((p) => [p.id, p]),
      )
      const plan = planMatches({
        ...base,
        profiles,
        pairs: [pair('a', 'b', 0.9999), pair('b', 'c', 0.999), pair('b', 'd', 0.995)],
      })
      // d shares a's email: agreement, so it joins; c holds another one and waits.
      expect(plan.merges.map((m) => [m.from, m.into]).sort()).toEqual([
        ['b', 'a'],
        ['d', 'a'],
      ])
      expect(plan.review.map((p) => [p.a, p.b, p.reasonCode])).toEqual([
        ['b', 'c', 'different_identifiers'],
      ])
    })

    it('queues a review-band pair with different identifiers with the reason too', () => {
      const profiles = new Map(
        [
          withValues('a', 1, { phone: ['1'], email: ['x@a.org'] }),
          withValues('b', 2, { phone: ['2'], email: ['x@a.org'] }),
        ].map((p) => [p.id, p]),
      )
      const plan = planMatches({ ...base, profiles, pairs: [pair('a', 'b', 0.9)] })
      expect(plan.blocked).toBe(0)
      expect(plan.review[0]).toMatchObject({ reasonCode: 'different_identifiers' })
      expect(plan.review[0]?.reason).toContain('phone 1 ≠ 2')
      // Identity rules first: a pair accept would refuse says so, whatever the band.
      const twoIds = new Map(
        [
          {
            ...withValues('a', 1, { user_id: ['crm-22'], email: ['amelia@x.org'] }),
            counts: { user_id: 1, email: 1 },
          },
          {
            ...withValues('b', 2, { user_id: ['shop-21'], email: ['amelia@x.org'] }),
            counts: { user_id: 1, email: 1 },
          },
        ].map((p) => [p.id, p]),
      )
      const off = planMatches({
        ...base,
        autoMergeThreshold: Infinity,
        profiles: twoIds,
        pairs: [pair('a', 'b', 0.99999)],
      })
      expect(off.review[0]?.reasonCode).toBe('identity_rules')
      expect(off.review[0]?.reason).toMatch(/2 user_id identifiers \(limit 1\)/)
    })

    it('neither merges nor queues a pair its identifiers tell apart, and counts it', () => {
      // The trial's pair: same name, near-identical emails, two phones.
      const profiles = new Map(
        [
          withValues('a', 1, { email: ['chloe.kowalski.crm39@example.org'], phone: ['1'] }),
          withValues('b', 2, { email: ['chloe.kowalski.crm148@example.org'], phone: ['2'] }),
          withValues('c', 3, { email: ['c@x.org'] }),
        ].map((p) => [p.id, p]),
      )
      const plan = planMatches({
        ...base,
        profiles,
        pairs: [pair('a', 'b', 0.99999999), pair('a', 'c', 0.9)],
      })
      expect(plan.merges).toEqual([])
      expect(plan.review).toEqual([])
      expect(plan.toldApart).toBe(2)
      expect(plan.blocked).toBe(0)
    })

    it('holds back a pair whose own comparison says two people (ScoredPair.against)', () => {
      const profiles = new Map([profile('a', 1), profile('b', 2)].map((p) => [p.id, p]))
      const against = { code: 'different_names' as const, reason: 'first names differ (x ≠ y)' }
      const plan = planMatches({
        ...base,
        profiles,
        pairs: [{ ...pair('a', 'b', 0.99999), against }],
      })
      expect(plan.merges).toEqual([])
      expect(plan.blockedBy.different_names).toBe(1)
      expect(plan.review[0]).toMatchObject({
        reason: against.reason,
        reasonCode: 'different_names',
      })
      // With auto-merge off the pair is an ordinary review pair, and still says why.
      const off = planMatches({
        ...base,
        autoMergeThreshold: Infinity,
        profiles,
        pairs: [{ ...pair('a', 'b', 0.99999), against }],
      })
      expect(off.blocked).toBe(0)
      expect(off.review[0]?.reasonCode).toBe('different_names')
    })
  })
})
