/**
 * The stats engine against GrowthBook's gbstats fixtures (MIT; packages/stats/tests in
 * github.com/growthbook/growthbook: frequentist/test_tests.py and bayesian/test_tests.py), the
 * same inputs and the expected outputs to their five decimals, side by side; and against worked
 * examples from the literature (cited at each test).
 */
import { describe, expect, it } from 'vitest'
import {
  betaBinomialTest,
  gaussianEffectTest,
  probabilityGreater,
  probabilityGreaterByQuadrature,
} from './bayesian-test.js'
import { sampleRatioCheck, metricGuards } from './experiment-guards.js'
import { welchTest, type FrequentistResult } from './frequentist-test.js'
import { benjaminiHochbergAdjust, holmAdjust } from './multiple-comparisons.js'
import { minimumDetectableLift, powerAt, sampleSizePerArm } from './power-analysis.js'
import { sequentialLift } from './sequential-test.js'
import { seededRandom } from './seeded-random.js'
import { thompsonWeights } from './thompson-bandit.js'
import type { ArmStatistic } from './sufficient-statistics.js'

const D = 5 // gbstats' DECIMALS
const close = (actual: number, expected: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(0.5 * 10 ** -D + 1e-12)
}

function ok(r: FrequentistResult): Extract<FrequentistResult, { ok: true }> {
  if (!r.ok) throw new Error(r.message)
  return r
}

const gbA: ArmStatistic = { kind: 'mean', n: 3407, sum: 1396.87, sumSquares: 52377.9767 }
const gbB: ArmStatistic = { kind: 'mean', n: 3461, sum: 2422.7, sumSquares: 134698.29 }

describe('frequentist: gbstats TestTwoSidedTTest', () => {
  it('relative lift, Welch t (test_two_sided_ttest)', () => {
    const r = ok(welchTest(gbA, gbB)).relative!
    close(r.estimate, 0.70732)
    close(r.ci[0], -0.03526)
    close(r.ci[1], 1.44989)
    close(r.standardError, 0.37879)
    close(r.pValue, 0.06191)
  })
  it('absolute lift (test_two_sided_ttest_absolute)', () => {
    const r = ok(welchTest(gbA, gbB)).absolute
    close(r.estimate, 0.29)
    close(r.ci[0], 0.04538)
    close(r.ci[1], 0.53462)
    close(r.standardError, 0.12478)
    close(r.pValue, 0.02016)
  })
  it('proportions (test_two_sided_ttest_binom)', () => {
    const r = ok(
      welchTest({ kind: 'proportion', n: 28, sum: 14 }, { kind: 'proportion', n: 30, sum: 16 }),
    ).relative!
    close(r.estimate, 0.06667)
    close(r.ci[0], -0.47767)
    close(r.ci[1], 0.61101)
    close(r.standardError, 0.2717)
    close(r.pValue, 0.80707)
  })
  it('refuses an arm of too few units rather than inventing a variance (test_two_sided_ttest_missing_variance)', () => {
    const r = welchTest({ kind: 'mean', n: 1, sum: 1, sumSquares: 1 }, gbB)
    expect(r.ok).toBe(false)
    expect(
      welchTest({ kind: 'proportion', n: 50, sum: 0 }, { kind: 'proportion', n: 50, sum: 0 }).ok,
    ).toBe(false)
  })
})

describe('sequential: gbstats TestSequentialTTest', () => {
  it('means, tuning 1000 (test_sequential_test_runs)', () => {
    const a: ArmStatistic = { kind: 'mean', n: 3000, sum: 1396.87, sumSquares: 52377.9767 }
    const rel = ok(welchTest(a, gbB)).relative!
    const s = sequentialLift(rel.estimate, rel.standardError, 3000 + 3461, { tuning: 1000 })
    close(s.estimate, 0.50336)
    close(s.ci[0], -0.55844)
    close(s.ci[1], 1.56516)
    close(s.pValue, 1)
  })
  it('proportions, default tuning (test_sequential_test_runs_prop)', () => {
    const rel = ok(
      welchTest(
        { kind: 'proportion', n: 3000, sum: 1396 },
        { kind: 'proportion', n: 3461, sum: 2422 },
      ),
    ).relative!
    const s = sequentialLift(rel.estimate, rel.standardError, 6461)
    close(s.estimate, 0.50386)
    close(s.ci[0], 0.40098)
    close(s.ci[1], 0.60675)
    close(s.pValue, 0)
  })
  it('the always-valid interval is wider than the fixed-horizon one', () => {
    const rel = ok(welchTest(gbA, gbB)).relative!
    const s = sequentialLift(rel.estimate, rel.standardError, 6868)
    expect(s.ci[1] - s.ci[0]).toBeGreaterThan(rel.ci[1] - rel.ci[0])
  })
})

describe('bayesian: gbstats bayesian/test_tests.py', () => {
  it('binomial, flat prior (test_bayesian_binomial_ab_test)', () => {
    const rel = ok(
      welchTest({ kind: 'proportion', n: 100, sum: 49 }, { kind: 'proportion', n: 100, sum: 51 }),
    ).relative!
    const b = gaussianEffectTest(rel.estimate, rel.standardError)
    close(b.expected, 0.04082)
    close(b.credibleInterval[0], -0.24779)
    close(b.credibleInterval[1], 0.32943)
    close(b.standardDeviation, 0.14725)
    close(b.chanceToWin, 0.60918)
    close(b.risk.control, 0.0814)
    close(b.risk.treatment, 0.04058)
  })
  const na: ArmStatistic = { kind: 'mean', n: 10, sum: 100, sumSquares: 1002.25 }
  const nb: ArmStatistic = { kind: 'mean', n: 10, sum: 105, sumSquares: 1111.5 }
  it('gaussian, flat prior (test_bayesian_gaussian_ab_test)', () => {
    const rel = ok(welchTest(na, nb)).relative!
    const b = gaussianEffectTest(rel.estimate, rel.standardError)
    close(b.expected, 0.05)
    close(b.credibleInterval[0], -0.02)
    close(b.credibleInterval[1], 0.12)
    close(b.standardDeviation, 0.03572)
    close(b.chanceToWin, 0.91923)
    close(b.risk.control, 0.05131)
    close(b.risk.treatment, 0.00131)
  })
  it('gaussian, informative prior N(0.1, 0.1) (test_bayesian_gaussian_ab_test_informative)', () => {
    const rel = ok(welchTest(na, nb)).relative!
    const b = gaussianEffectTest(rel.estimate, rel.standardError, {
      prior: { mean: 0.1, variance: 0.1 },
    })
    close(b.expected, 0.05063)
    close(b.credibleInterval[0], -0.01893)
    close(b.credibleInterval[1], 0.12019)
    close(b.standardDeviation, 0.03549)
    close(b.chanceToWin, 0.92315)
    close(b.risk.control, 0.05186)
    close(b.risk.treatment, 0.00123)
  })
})

describe('beta-binomial', () => {
  it('P(X > Y) matches hand-integrated cases', () => {
    // X ~ Beta(2,1) has density 2x: ∫ 2x·x dx = 2/3 against a uniform; against Beta(1,2) (CDF 2y − y²), 5/6.
    expect(probabilityGreater({ alpha: 2, beta: 1 }, { alpha: 1, beta: 1 })).toBeCloseTo(2 / 3, 12)
    expect(probabilityGreater({ alpha: 2, beta: 1 }, { alpha: 1, beta: 2 })).toBeCloseTo(5 / 6, 12)
    expect(probabilityGreater({ alpha: 7, beta: 9 }, { alpha: 7, beta: 9 })).toBeCloseTo(0.5, 12)
  })
  it("Miller's sum agrees with quadrature, also for fractional priors", () => {
    const x = { alpha: 131, beta: 870 }
    const y = { alpha: 101, beta: 900 }
    expect(probabilityGreater(x, y)).toBeCloseTo(probabilityGreaterByQuadrature(x, y), 8)
    const fx = { alpha: 30.5, beta: 70.5 }
    const fy = { alpha: 25.5, beta: 75.5 }
    expect(probabilityGreater(fx, fy)).toBeCloseTo(probabilityGreaterByQuadrature(fx, fy, 8000), 8)
  })
  it('expected loss: keeping control loses what shipping wins, in expectation', () => {
    const r = betaBinomialTest({ n: 1000, conversions: 100 }, { n: 1000, conversions: 130 })
    expect(r.chanceToWin).toBeGreaterThan(0.98)
    // E[max(0, t − c)] − E[max(0, c − t)] = E[t − c].
    expect(r.risk.control - r.risk.treatment).toBeCloseTo(r.treatment.mean - r.control.mean, 10)
    expect(r.control.credibleInterval[0]).toBeLessThan(0.1)
    expect(r.control.credibleInterval[1]).toBeGreaterThan(0.1)
  })
})

describe('guards', () => {
  it('SRM: 50,000 against 49,000 on a 50/50 split is χ² = 10.10 (Fabijan et al. 2019 alert at p < 0.001)', () => {
    const r = sampleRatioCheck([50_000, 49_000], [1, 1])
    expect(r.chiSquare).toBeCloseTo(10.10101, 4)
    expect(r.pValue).toBeCloseTo(0.001482, 5)
    expect(r.mismatch).toBe(false)
    const bad = sampleRatioCheck([50_000, 48_500], [1, 1])
    expect(bad.mismatch).toBe(true)
    expect(sampleRatioCheck([2000, 1000, 1000], [2, 1, 1]).chiSquare).toBe(0)
  })
  it('minimum sample and suspicious uplift fire, and only then', () => {
    expect(metricGuards([{ n: 5000 }, { n: 5000 }], 0.04)).toEqual([])
    const g = metricGuards(
      [
        { n: 50, conversions: 3 },
        { n: 5000, conversions: 500 },
      ],
      0.9,
    )
    expect(g.map((x) => x.guard)).toEqual([
      'minimum-sample',
      'minimum-conversions',
      'suspicious-uplift',
    ])
  })
})

describe('multiple comparisons (values as R p.adjust gives them)', () => {
  it('Holm and BH on a small family', () => {
    const p = [0.01, 0.02, 0.03, 0.04, 0.05]
    expect(benjaminiHochbergAdjust(p).map((x) => +x.toFixed(10))).toEqual([
      0.05, 0.05, 0.05, 0.05, 0.05,
    ])
    expect(holmAdjust(p).map((x) => +x.toFixed(10))).toEqual([0.05, 0.08, 0.09, 0.09, 0.09])
  })
  it("Benjamini and Hochberg's (1995) worked example: 15 p-values, 4 discoveries at q = 0.05, Holm keeps 3", () => {
    const p = [
      0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719,
      0.6528, 0.759, 1,
    ]
    expect(benjaminiHochbergAdjust(p).filter((x) => x <= 0.05)).toHaveLength(4)
    expect(holmAdjust(p).filter((x) => x <= 0.05)).toHaveLength(3)
    // Order of input does not matter.
    const shuffled = [...p].reverse()
    expect(benjaminiHochbergAdjust(shuffled).reverse()).toEqual(benjaminiHochbergAdjust(p))
  })
})

describe('power and sample size', () => {
  it("Lehr's rule: a half-σ effect at α = 0.05 and 80% power needs 63 per arm by the normal approximation", () => {
    expect(sampleSizePerArm({ kind: 'mean', baseline: 1, standardDeviation: 1 }, 0.5)).toBe(63)
  })
  it('10% → 12% conversion needs 3,839 per arm (unpooled normal approximation)', () => {
    const n = sampleSizePerArm({ kind: 'proportion', baseline: 0.1 }, 0.2)
    expect(n).toBe(3839)
    expect(powerAt({ kind: 'proportion', baseline: 0.1 }, 0.2, n)).toBeGreaterThanOrEqual(0.8)
    expect(powerAt({ kind: 'proportion', baseline: 0.1 }, 0.2, n - 50)).toBeLessThan(0.8)
    expect(minimumDetectableLift({ kind: 'proportion', baseline: 0.1 }, n)).toBeCloseTo(0.2, 2)
  })
})

describe('Thompson sampling', () => {
  it('weights sum to 1, favour the better arm, keep a floor, and repeat from a seed', () => {
    const arms = [
      { n: 1000, conversions: 100 },
      { n: 1000, conversions: 150 },
      { n: 1000, conversions: 95 },
    ]
    const w = thompsonWeights(arms, seededRandom(7), { draws: 4000 })
    expect(w.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12)
    expect(w[1]).toBeGreaterThan(0.95)
    expect(Math.min(...w)).toBeGreaterThanOrEqual(0.01)
    expect(thompsonWeights(arms, seededRandom(7), { draws: 4000 })).toEqual(w)
    const even = thompsonWeights(
      [
        { n: 100, conversions: 10 },
        { n: 100, conversions: 10 },
      ],
      seededRandom(1),
      { draws: 4000 },
    )
    expect(Math.abs(even[0]! - 0.5)).toBeLessThan(0.05)
  })
})
