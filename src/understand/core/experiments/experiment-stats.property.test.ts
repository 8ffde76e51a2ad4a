/**
 * Invariants on simulated experiments from a seeded generator: intervals shrink with n, an A/A
 * test rejects at about α, the always-valid test keeps its level under daily peeking where the
 * fixed-horizon test does not, and CUPED never widens the interval when the covariate correlates.
 */
import { describe, expect, it } from 'vitest'
import { welchTest } from './frequentist-test.js'
import { sequentialLift } from './sequential-test.js'
import { normalDraw, seededRandom, type Random } from './seeded-random.js'
import type { ArmStatistic } from './sufficient-statistics.js'

interface Acc {
  n: number
  sum: number
  sumSquares: number
  pre: number
  preSquares: number
  products: number
}
const empty = (): Acc => ({ n: 0, sum: 0, sumSquares: 0, pre: 0, preSquares: 0, products: 0 })
function add(acc: Acc, y: number, x = 0): void {
  acc.n++
  acc.sum += y
  acc.sumSquares += y * y
  acc.pre += x
  acc.preSquares += x * x
  acc.products += x * y
}
const plain = (a: Acc): ArmStatistic => ({
  kind: 'mean',
  n: a.n,
  sum: a.sum,
  sumSquares: a.sumSquares,
})
const withPre = (a: Acc): ArmStatistic => ({
  kind: 'mean',
  n: a.n,
  sum: a.sum,
  sumSquares: a.sumSquares,
  covariate: { sum: a.pre, sumSquares: a.preSquares, sumProducts: a.products },
})

function arm(random: Random, n: number, mean: number): Acc {
  const acc = empty()
  for (let i = 0; i < n; i++) add(acc, mean + normalDraw(random))
  return acc
}

describe('stats engine properties', () => {
  it('the interval shrinks as n grows (about as 1/√n)', () => {
    const random = seededRandom(11)
    let last = Infinity
    for (const n of [100, 400, 1600, 6400]) {
      const r = welchTest(plain(arm(random, n, 10)), plain(arm(random, n, 10.2)))
      if (!r.ok) throw new Error(r.message)
      const width = r.absolute.ci[1] - r.absolute.ci[0]
      expect(width).toBeLessThan(last)
      if (last !== Infinity) expect(width / last).toBeGreaterThan(0.4)
      last = width
    }
  })

  it('A/A tests reject at about α = 0.05 (2,000 seeded experiments)', () => {
    const random = seededRandom(2024)
    let rejected = 0
    const runs = 2000
    for (let i = 0; i < runs; i++) {
      const r = welchTest(plain(arm(random, 200, 5)), plain(arm(random, 200, 5)))
      if (r.ok && r.absolute.pValue < 0.05) rejected++
    }
    // Binomial(2000, 0.05) has sd ≈ 0.0049: ±3 sd.
    expect(rejected / runs).toBeGreaterThan(0.035)
    expect(rejected / runs).toBeLessThan(0.065)
  })

  it('peeking 20 times: the always-valid test stays under α, the fixed-horizon one does not', () => {
    const random = seededRandom(99)
    const runs = 400
    let sequentialFalse = 0
    let naiveFalse = 0
    for (let i = 0; i < runs; i++) {
      const a = empty()
      const b = empty()
      let seqHit = false
      let naiveHit = false
      for (let day = 0; day < 20; day++) {
        for (let k = 0; k < 50; k++) {
          add(a, normalDraw(random))
          add(b, normalDraw(random))
        }
        const r = welchTest(plain(a), plain(b))
        if (!r.ok) continue
        if (r.absolute.pValue < 0.05) naiveHit = true
        if (sequentialLift(r.absolute.estimate, r.absolute.standardError, a.n + b.n).pValue < 0.05)
          seqHit = true
      }
      if (seqHit) sequentialFalse++
      if (naiveHit) naiveFalse++
    }
    expect(sequentialFalse / runs).toBeLessThanOrEqual(0.05)
    expect(naiveFalse / runs).toBeGreaterThan(0.1)
  })

  it('CUPED never widens the interval when the pre-period covariate correlates, and keeps the estimate unbiased', () => {
    const random = seededRandom(5)
    let estimates = 0
    const runs = 200
    for (let i = 0; i < runs; i++) {
      const rho = 0.2 + 0.7 * random()
      const a = empty()
      const b = empty()
      for (let k = 0; k < 300; k++) {
        const xa = normalDraw(random)
        add(a, 10 + rho * xa + Math.sqrt(1 - rho * rho) * normalDraw(random), xa)
        const xb = normalDraw(random)
        add(b, 10.1 + rho * xb + Math.sqrt(1 - rho * rho) * normalDraw(random), xb)
      }
      const raw = welchTest(plain(a), plain(b))
      const adj = welchTest(withPre(a), withPre(b))
      if (!raw.ok || !adj.ok) throw new Error('degenerate')
      expect(adj.cupedTheta).not.toBeNull()
      expect(adj.absolute.standardError).toBeLessThanOrEqual(raw.absolute.standardError)
      estimates += adj.absolute.estimate
    }
    expect(estimates / runs).toBeCloseTo(0.1, 1)
  })

  it('a ratio metric whose denominator is always 1 is the plain mean', () => {
    const random = seededRandom(3)
    const a = arm(random, 500, 2)
    const b = arm(random, 500, 2.1)
    const ratio = (x: Acc): ArmStatistic => ({
      kind: 'ratio',
      n: x.n,
      numerator: { sum: x.sum, sumSquares: x.sumSquares },
      denominator: { sum: x.n, sumSquares: x.n },
      sumProducts: x.sum,
    })
    const r1 = welchTest(plain(a), plain(b))
    const r2 = welchTest(ratio(a), ratio(b))
    if (!r1.ok || !r2.ok) throw new Error('degenerate')
    expect(r2.absolute.estimate).toBeCloseTo(r1.absolute.estimate, 12)
    expect(r2.absolute.standardError).toBeCloseTo(r1.absolute.standardError, 12)
  })
})
