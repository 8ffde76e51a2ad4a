/**
 * Attribution invariants: every model hands out exactly the conversions and revenue it is given;
 * the heuristics match paths credited by hand; Markov order 1 equals an absorbing chain solved by
 * hand; Shapley is efficient, symmetric, and (for this worth function) the even split per path.
 */
import { describe, expect, it } from 'vitest'
import {
  pathsOfProfile,
  type ConversionPath,
  type Credits,
  type Touchpoint,
} from './attribution-paths.js'
import { attributionReport, ALL_MODELS } from './attribution-report.js'
import { heuristicCredits, NO_TOUCH } from './heuristic-models.js'
import { absorptionProbabilities, buildChain, markovCredits } from './markov-model.js'
import { shapleyCredits } from './shapley-model.js'
import { classifyTouch } from './touchpoint-channel.js'
import { seededRandom } from '../experiments/seeded-random.js'

const DAY = 24 * 3600 * 1000
const touch = (channel: string, day: number, campaign: string | null = null): Touchpoint => ({
  channel,
  campaign,
  timestampMs: day * DAY,
})
const converted = (touches: Touchpoint[], endDay: number, revenue = 0): ConversionPath => ({
  touchpoints: touches,
  converted: true,
  endMs: endDay * DAY,
  revenue,
})
const lost = (touches: Touchpoint[]): ConversionPath => ({
  touchpoints: touches,
  converted: false,
  endMs: touches[touches.length - 1]!.timestampMs,
  revenue: 0,
})
const plain = (c: Credits): Record<string, [number, number]> =>
  Object.fromEntries(
    [...c].map(([k, v]) => [k, [+v.conversions.toFixed(10), +v.revenue.toFixed(8)]]),
  )
const sum = (c: Credits): [number, number] => {
  let a = 0
  let b = 0
  for (const v of c.values()) {
    a += v.conversions
    b += v.revenue
  }
  return [a, b]
}

const handPaths = [
  converted([touch('email', 0), touch('social', 7), touch('search', 14)], 14, 100),
  converted([touch('direct', 3)], 3, 50),
  converted([], 5, 10),
  lost([touch('social', 1)]),
]

describe('heuristic models by hand', () => {
  it('first, last, linear, time decay (7-day half-life: weights ¼, ½, 1) and position-based', () => {
    expect(plain(heuristicCredits('first-touch', handPaths))).toEqual({
      email: [1, 100],
      direct: [1, 50],
      [NO_TOUCH]: [1, 10],
    })
    expect(plain(heuristicCredits('last-touch', handPaths))).toEqual({
      search: [1, 100],
      direct: [1, 50],
      [NO_TOUCH]: [1, 10],
    })
    const third = +(1 / 3).toFixed(10)
    const third100 = +(100 / 3).toFixed(8)
    expect(plain(heuristicCredits('linear', handPaths))).toEqual({
      email: [third, third100],
      social: [third, third100],
      search: [third, third100],
      direct: [1, 50],
      [NO_TOUCH]: [1, 10],
    })
    const decay = plain(heuristicCredits('time-decay', handPaths))
    expect(decay.email).toEqual([+(1 / 7).toFixed(10), +(100 / 7).toFixed(8)])
    expect(decay.social).toEqual([+(2 / 7).toFixed(10), +(200 / 7).toFixed(8)])
    expect(decay.search).toEqual([+(4 / 7).toFixed(10), +(400 / 7).toFixed(8)])
    expect(plain(heuristicCredits('position-based', handPaths))).toEqual({
      email: [0.4, 40],
      social: [0.2, 20],
      search: [0.4, 40],
      direct: [1, 50],
      [NO_TOUCH]: [1, 10],
    })
    // A one-day half-life: weights 2^-14, 2^-7, 1.
    const fast = heuristicCredits('time-decay', handPaths.slice(0, 1), { halfLifeMs: DAY })
    const w = [2 ** -14, 2 ** -7, 1]
    const total = w[0]! + w[1]! + w[2]!
    expect(fast.get('email')!.conversions).toBeCloseTo(w[0]! / total, 14)
    // Two touches split 50/50 under position-based.
    expect(
      plain(heuristicCredits('position-based', [converted([touch('a', 0), touch('b', 1)], 1)])),
    ).toEqual({
      a: [0.5, 0],
      b: [0.5, 0],
    })
  })
})

describe('Markov chain', () => {
  // C1→C2→C3→conv, C1→null, C2→C3→null. By hand: P(start→C1) = 2/3, P(start→C2) = 1/3,
  // P(C1→C2) = ½, P(C2→C3) = 1, P(C3→conv) = ½; so p(C3) = ½, p(C2) = ½, p(C1) = ¼ and
  // P(conv) = 2/3·¼ + 1/3·½ = 1/3. Without C1: 1/3·½ = 1/6 (effect ½); without C2 or C3: 0
  // (effect 1). Shares ½ : 1 : 1 of 2.5 → 0.2, 0.4, 0.4.
  const paths = [
    converted([touch('C1', 0), touch('C2', 1), touch('C3', 2)], 2, 30),
    lost([touch('C1', 0)]),
    lost([touch('C2', 0), touch('C3', 1)]),
  ]
  it('order 1 equals the absorbing chain solved by hand', () => {
    const r = markovCredits(paths)
    expect(r.conversionProbability).toBeCloseTo(1 / 3, 14)
    expect(r.removalEffects.get('C1')).toBeCloseTo(0.5, 14)
    expect(r.removalEffects.get('C2')).toBeCloseTo(1, 14)
    expect(r.removalEffects.get('C3')).toBeCloseTo(1, 14)
    expect(r.credits.get('C1')!.conversions).toBeCloseTo(0.2, 14)
    expect(r.credits.get('C2')!.conversions).toBeCloseTo(0.4, 14)
    expect(r.credits.get('C3')!.revenue).toBeCloseTo(12, 12)
  })
  it('the dense and the iterative solvers agree, with cycles', () => {
    const random = seededRandom(8)
    const channels = ['a', 'b', 'c', 'd', 'e']
    const ps: ConversionPath[] = []
    for (let i = 0; i < 3000; i++) {
      const len = 1 + Math.floor(random() * 6)
      const t = Array.from({ length: len }, (_, j) => touch(channels[Math.floor(random() * 5)]!, j))
      ps.push(random() < 0.3 ? converted(t, len) : lost(t))
    }
    for (const order of [1, 2, 3]) {
      const chain = buildChain(ps, order, 'channel')
      const dense = absorptionProbabilities(chain, (s) => chain.lastKey[s] === 'b', 'dense')
      const iter = absorptionProbabilities(chain, (s) => chain.lastKey[s] === 'b', 'iterative')
      dense.forEach((x, i) => expect(Math.abs(x - iter[i]!)).toBeLessThan(1e-11))
    }
  })
  it('is deterministic and rejects orders outside 1–4', () => {
    expect(plain(markovCredits(paths, { order: 2 }).credits)).toEqual(
      plain(markovCredits(paths, { order: 2 }).credits),
    )
    expect(() => markovCredits(paths, { order: 5 })).toThrow(RangeError)
  })
})

describe('Shapley', () => {
  it('exact: efficient, symmetric, and the even split of each path over its distinct channels', () => {
    const paths = [
      converted([touch('a', 0), touch('b', 1)], 1, 10),
      converted([touch('b', 0), touch('a', 1), touch('a', 2)], 2, 20),
      converted([touch('c', 0)], 0, 5),
      converted([touch('a', 0), touch('b', 1), touch('c', 2)], 2, 30),
    ]
    const r = shapleyCredits(paths)
    expect(r.method).toBe('exact')
    // a and b always appear together: symmetric.
    expect(r.credits.get('a')!.conversions).toBeCloseTo(r.credits.get('b')!.conversions, 14)
    // Even split: a = ½ + ½ + ⅓ = 4/3; c = 1 + ⅓.
    expect(r.credits.get('a')!.conversions).toBeCloseTo(4 / 3, 14)
    expect(r.credits.get('c')!.conversions).toBeCloseTo(4 / 3, 14)
    expect(r.credits.get('c')!.revenue).toBeCloseTo(5 + 10, 12)
    expect(sum(r.credits)[0]).toBeCloseTo(4, 12)
    expect(sum(r.credits)[1]).toBeCloseTo(65, 10)
  })
  it('sampled above 12 channels, within its stated error of the exact value, and seeded', () => {
    const random = seededRandom(21)
    const channels = Array.from({ length: 15 }, (_, i) => `ch${i}`)
    const paths: ConversionPath[] = []
    const even = new Map<string, number>()
    for (let i = 0; i < 400; i++) {
      const t = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, j) =>
        touch(channels[Math.floor(random() * channels.length)]!, j),
      )
      paths.push(converted(t, 5, 1))
      const distinct = [...new Set(t.map((x) => x.channel))]
      for (const c of distinct) even.set(c, (even.get(c) ?? 0) + 1 / distinct.length)
    }
    const r = shapleyCredits(paths, { random: seededRandom(4), permutations: 3000 })
    expect(r.method).toBe('sampled')
    expect(sum(r.credits)[0]).toBeCloseTo(400, 8)
    for (const [c, exact] of even) {
      const se = r.standardErrors.get(c)!
      expect(se).toBeGreaterThan(0)
      expect(Math.abs(r.credits.get(c)!.conversions - exact)).toBeLessThan(5 * se)
    }
    expect(
      plain(shapleyCredits(paths, { random: seededRandom(4), permutations: 300 }).credits),
    ).toEqual(plain(shapleyCredits(paths, { random: seededRandom(4), permutations: 300 }).credits))
    expect(() => shapleyCredits(paths)).toThrow(RangeError)
  })
})

describe('every model sums to conversions and revenue', () => {
  it('on random paths, Markov orders 1–4 included', () => {
    const random = seededRandom(77)
    const channels = ['email', 'search', 'social', 'direct', 'display', 'affiliate']
    const paths: ConversionPath[] = []
    let conversions = 0
    let revenue = 0
    for (let i = 0; i < 600; i++) {
      const t = Array.from({ length: Math.floor(random() * 5) }, (_, j) =>
        touch(
          channels[Math.floor(random() * channels.length)]!,
          j,
          random() < 0.5 ? 'spring' : null,
        ),
      )
      if (t.length > 0 && random() < 0.5) paths.push(lost(t))
      else {
        const rev = Math.round(random() * 10000) / 100
        paths.push(converted(t, 6, rev))
        conversions++
        revenue += rev
      }
    }
    for (const key of ['channel', 'campaign'] as const) {
      for (const order of [1, 2, 3, 4]) {
        const report = attributionReport(paths, {
          key,
          markovOrder: order,
          random: seededRandom(1),
        })
        for (const m of ALL_MODELS) {
          const rows = report.models[m]!
          expect(rows.reduce((s, r) => s + r.conversions, 0)).toBeCloseTo(conversions, 8)
          expect(rows.reduce((s, r) => s + r.revenue, 0)).toBeCloseTo(revenue, 6)
        }
      }
    }
  })
})

describe('bootstrap intervals', () => {
  it('are seeded, bracket the point estimate, and stop when told to', () => {
    const paths = [
      ...Array.from({ length: 60 }, (_, i) =>
        converted([touch('email', 0), touch('search', 1)], 1, i),
      ),
      ...Array.from({ length: 40 }, () => converted([touch('social', 0)], 0, 5)),
      ...Array.from({ length: 50 }, () => lost([touch('social', 0)])),
    ]
    const a = attributionReport(paths, { key: 'channel', bootstrap: 100, random: seededRandom(3) })
    const b = attributionReport(paths, { key: 'channel', bootstrap: 100, random: seededRandom(3) })
    expect(a).toEqual(b)
    expect(a.bootstrap.completed).toBe(100)
    for (const rows of Object.values(a.models)) {
      for (const row of rows) {
        expect(row.conversionsInterval![0]).toBeLessThanOrEqual(row.conversions + 1e-9)
        expect(row.conversionsInterval![1]).toBeGreaterThanOrEqual(row.conversions - 1e-9)
      }
    }
    let calls = 0
    const bounded = attributionReport(paths, {
      key: 'channel',
      bootstrap: 100,
      random: seededRandom(3),
      shouldStop: () => ++calls > 10,
    })
    expect(bounded.bootstrap.completed).toBe(10)
  })
})

describe('paths and channels', () => {
  it('splits a profile at each conversion and keeps only touches inside the lookback', () => {
    const paths = pathsOfProfile(
      [
        { kind: 'touch', channel: 'email', campaign: null, timestampMs: 0 },
        { kind: 'touch', channel: 'search', campaign: null, timestampMs: 20 * DAY },
        { kind: 'conversion', timestampMs: 25 * DAY, revenue: 9 },
        { kind: 'touch', channel: 'social', campaign: null, timestampMs: 26 * DAY },
      ],
      { lookbackMs: 10 * DAY },
    )
    expect(paths).toHaveLength(2)
    expect(paths[0]!.touchpoints.map((t) => t.channel)).toEqual(['search'])
    expect(paths[0]!.revenue).toBe(9)
    expect(paths[1]!.converted).toBe(false)
  })
  it('classifies campaign context, UTM parameters and referrers', () => {
    expect(
      classifyTouch({ campaign: { source: 'google', medium: 'cpc', name: 'spring' } }),
    ).toEqual({
      channel: 'paid-search',
      campaign: 'spring',
      source: 'google',
    })
    expect(
      classifyTouch({
        pageUrl: 'https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=may',
      }).channel,
    ).toBe('email')
    expect(
      classifyTouch({ pageUrl: 'https://shop.example/?utm_source=facebook&utm_medium=paid' })
        .channel,
    ).toBe('paid-social')
    expect(classifyTouch({ pageUrl: 'https://shop.example/?gclid=abc' }).channel).toBe(
      'paid-search',
    )
    expect(
      classifyTouch({
        pageUrl: 'https://shop.example/',
        referrer: 'https://www.google.de/search?q=x',
      }).channel,
    ).toBe('organic-search')
    expect(
      classifyTouch({ pageUrl: 'https://shop.example/', referrer: 'https://t.co/abc' }).channel,
    ).toBe('organic-social')
    expect(
      classifyTouch({ pageUrl: 'https://shop.example/a', referrer: 'https://shop.example/b' })
        .channel,
    ).toBe('internal')
    expect(
      classifyTouch({ pageUrl: 'https://shop.example/', referrer: 'https://blog.other.org/post' })
        .channel,
    ).toBe('referral')
    expect(classifyTouch({ pageUrl: 'https://shop.example/' }).channel).toBe('direct')
    expect(classifyTouch({ pageUrl: 'not a url', referrer: 'also not' }).channel).toBe('direct')
  })
})
