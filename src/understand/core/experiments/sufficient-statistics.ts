/**
 * @module experiments/sufficient-statistics
 * What one SQL aggregate per arm returns, and the means and variances read from it. A metric is
 * a proportion (conversions: n, Σx), a mean (n, Σx, Σx²), or a ratio of two per-unit sums
 * (revenue per order: Σm, Σm², Σd, Σd², Σmd). A covariate (the same metric over the
 * pre-exposure window, for CUPED) adds Σx_pre, Σx_pre², Σx·x_pre.
 */

export interface Covariate {
  readonly sum: number
  readonly sumSquares: number
  /** Σ x·x_pre over the arm's units. */
  readonly sumProducts: number
}

export type ArmStatistic =
  | {
      readonly kind: 'proportion'
      readonly n: number
      readonly sum: number
      readonly covariate?: Covariate
    }
  | {
      readonly kind: 'mean'
      readonly n: number
      readonly sum: number
      readonly sumSquares: number
      readonly covariate?: Covariate
    }
  | {
      readonly kind: 'ratio'
      readonly n: number
      readonly numerator: { readonly sum: number; readonly sumSquares: number }
      readonly denominator: { readonly sum: number; readonly sumSquares: number }
      /** Σ m·d over the arm's units. */
      readonly sumProducts: number
    }

/** The point estimate of the arm's metric: a rate, a mean, or Σm / Σd. */
export function armMean(s: ArmStatistic): number {
  if (s.kind === 'ratio') return s.denominator.sum === 0 ? 0 : s.numerator.sum / s.denominator.sum
  return s.n === 0 ? 0 : s.sum / s.n
}

/**
 * The per-unit variance, so that the variance of the arm's estimate is `armVariance(s) / n`.
 * Proportions use p(1 − p), as gbstats does; means the unbiased sample variance; ratios the
 * delta method, Var(M̄/D̄) ≈ (σ²_m − 2R·σ_md + R²·σ²_d) / D̄² (Deng, Knoblich and Lu 2018,
 * "Applying the Delta Method in Metric Analytics", eq. 4).
 */
export function armVariance(s: ArmStatistic): number {
  if (s.n <= 1) return 0
  if (s.kind === 'proportion') {
    const p = s.sum / s.n
    return p * (1 - p)
  }
  if (s.kind === 'mean') return sampleVariance(s.n, s.sum, s.sumSquares)
  const dBar = s.denominator.sum / s.n
  if (dBar === 0) return 0
  const r = s.numerator.sum / s.denominator.sum
  const vm = sampleVariance(s.n, s.numerator.sum, s.numerator.sumSquares)
  const vd = sampleVariance(s.n, s.denominator.sum, s.denominator.sumSquares)
  const cov = (s.sumProducts - (s.numerator.sum * s.denominator.sum) / s.n) / (s.n - 1)
  return Math.max(0, (vm - 2 * r * cov + r * r * vd) / (dBar * dBar))
}

export function sampleVariance(n: number, sum: number, sumSquares: number): number {
  if (n <= 1) return 0
  return Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1))
}

/** The sufficient statistics of a list of values (tests and the reference evaluator use it). */
export function meanStatisticOf(
  values: readonly number[],
): Extract<ArmStatistic, { kind: 'mean' }> {
  let sum = 0
  let sumSquares = 0
  for (const v of values) {
    sum += v
    sumSquares += v * v
  }
  return { kind: 'mean', n: values.length, sum, sumSquares }
}
