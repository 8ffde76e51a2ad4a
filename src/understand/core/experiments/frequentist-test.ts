/**
 * @module experiments/frequentist-test
 * Welch's unequal-variance t-test on two arms' sufficient statistics, with intervals for the
 * absolute lift (treatment − control) and the relative lift (treatment / control − 1, by the delta
 * method on the ratio of two independent means), and CUPED when both arms carry a pre-exposure
 * covariate (Deng, Xu, Kohavi and Walker 2013, "Improving the Sensitivity of Online Controlled
 * Experiments by Utilizing Pre-Experiment Data"): θ = Cov(y, x) / Var(x) on the pooled arms,
 * each arm's mean shifted by θ·(x̄_arm − x̄), its variance Var(y) + θ²Var(x) − 2θCov(y, x).
 * Degrees of freedom are Welch–Satterthwaite's, as in gbstats.
 */

import { studentTCdf, studentTQuantile } from './distribution-functions.js'
import { armMean, armVariance, sampleVariance, type ArmStatistic } from './sufficient-statistics.js'

export interface LiftEstimate {
  readonly estimate: number
  readonly standardError: number
  readonly ci: readonly [number, number]
  readonly pValue: number
}

export interface ArmMoments {
  readonly n: number
  /** The arm's mean after CUPED (the raw mean when there is no covariate). */
  readonly mean: number
  readonly rawMean: number
  /** Per-unit variance after CUPED. */
  readonly variance: number
}

export type FrequentistResult =
  | {
      readonly ok: true
      readonly control: ArmMoments
      readonly treatment: ArmMoments
      readonly absolute: LiftEstimate
      readonly relative: LiftEstimate | null
      readonly degreesOfFreedom: number
      /** θ when CUPED ran, else null. */
      readonly cupedTheta: number | null
    }
  | {
      readonly ok: false
      readonly reason: 'too-few-units' | 'zero-variance'
      readonly message: string
    }

export interface FrequentistOptions {
  /** Two-sided level: 0.05 gives 95% intervals. */
  readonly alpha?: number
  /** Use the covariates when both arms have one (default true). */
  readonly cuped?: boolean
}

/** Arm moments for both arms, CUPED-adjusted when both carry a covariate. */
export function armMoments(
  control: ArmStatistic,
  treatment: ArmStatistic,
  cuped = true,
): { control: ArmMoments; treatment: ArmMoments; theta: number | null } {
  const theta = cuped ? cupedTheta(control, treatment) : null
  const moments = (s: ArmStatistic, pooledPre: number): ArmMoments => {
    const rawMean = armMean(s)
    if (theta === null || s.kind === 'ratio' || !s.covariate) {
      return { n: s.n, mean: rawMean, rawMean, variance: armVariance(s) }
    }
    const c = s.covariate
    const preMean = c.sum / s.n
    const vy = armVariance(s)
    const vx = sampleVariance(s.n, c.sum, c.sumSquares)
    const cov = s.n > 1 ? (c.sumProducts - (s.sum * c.sum) / s.n) / (s.n - 1) : 0
    return {
      n: s.n,
      mean: rawMean - theta * (preMean - pooledPre),
      rawMean,
      variance: Math.max(0, vy + theta * theta * vx - 2 * theta * cov),
    }
  }
  const pooledPre = pooledCovariateMean(control, treatment)
  return { control: moments(control, pooledPre), treatment: moments(treatment, pooledPre), theta }
}

function pooledCovariateMean(a: ArmStatistic, b: ArmStatistic): number {
  if (a.kind === 'ratio' || b.kind === 'ratio' || !a.covariate || !b.covariate) return 0
  const n = a.n + b.n
  return n === 0 ? 0 : (a.covariate.sum + b.covariate.sum) / n
}

/** θ = Cov(y, x) / Var(x) over both arms pooled, or null when CUPED cannot run. */
export function cupedTheta(a: ArmStatistic, b: ArmStatistic): number | null {
  if (a.kind === 'ratio' || b.kind === 'ratio' || !a.covariate || !b.covariate) return null
  const n = a.n + b.n
  if (n <= 2) return null
  const sumY = a.sum + b.sum
  const sumYY =
    (a.kind === 'mean' ? a.sumSquares : a.sum) + (b.kind === 'mean' ? b.sumSquares : b.sum)
  const sumX = a.covariate.sum + b.covariate.sum
  const sumXX = a.covariate.sumSquares + b.covariate.sumSquares
  const sumXY = a.covariate.sumProducts + b.covariate.sumProducts
  const vx = sampleVariance(n, sumX, sumXX)
  const vy = sampleVariance(n, sumY, sumYY)
  if (vx === 0 || vy === 0) return 0
  return (sumXY - (sumX * sumY) / n) / (n - 1) / vx
}

/** Welch–Satterthwaite degrees of freedom for two per-unit variances. */
export function welchDegreesOfFreedom(v1: number, n1: number, v2: number, n2: number): number {
  const a = v1 / n1
  const b = v2 / n2
  return (a + b) ** 2 / ((a * a) / (n1 - 1) + (b * b) / (n2 - 1))
}

function lift(estimate: number, se: number, df: number, alpha: number): LiftEstimate {
  const q = studentTQuantile(1 - alpha / 2, df)
  const t = estimate / se
  return {
    estimate,
    standardError: se,
    ci: [estimate - q * se, estimate + q * se],
    pValue: Math.min(1, 2 * (1 - studentTCdf(Math.abs(t), df))),
  }
}

/**
 * Welch's t-test of treatment against control.
 *
 * @example
 * welchTest({ kind: 'proportion', n: 1000, sum: 100 }, { kind: 'proportion', n: 1000, sum: 130 })
 * // → absolute.estimate 0.03, relative.estimate 0.3, with 95% intervals and p-values
 */
export function welchTest(
  control: ArmStatistic,
  treatment: ArmStatistic,
  options: FrequentistOptions = {},
): FrequentistResult {
  const alpha = options.alpha ?? 0.05
  if (control.n < 2 || treatment.n < 2) {
    return { ok: false, reason: 'too-few-units', message: 'each arm needs at least two units' }
  }
  const m = armMoments(control, treatment, options.cuped ?? true)
  const a = m.control
  const b = m.treatment
  if (a.variance <= 0 && b.variance <= 0) {
    return { ok: false, reason: 'zero-variance', message: 'the metric does not vary in either arm' }
  }
  const df = welchDegreesOfFreedom(b.variance, b.n, a.variance, a.n)
  const absSe = Math.sqrt(b.variance / b.n + a.variance / a.n)
  const absolute = lift(b.mean - a.mean, absSe, df, alpha)
  let relative: LiftEstimate | null = null
  if (a.mean !== 0) {
    // Delta method for mean_b / mean_a with independent arms.
    const relVar =
      b.variance / (b.n * a.mean ** 2) + (b.mean ** 2 * a.variance) / (a.n * a.mean ** 4)
    relative = lift(b.mean / a.mean - 1, Math.sqrt(relVar), df, alpha)
  }
  return {
    ok: true,
    control: a,
    treatment: b,
    absolute,
    relative,
    degreesOfFreedom: df,
    cupedTheta: m.theta,
  }
}
