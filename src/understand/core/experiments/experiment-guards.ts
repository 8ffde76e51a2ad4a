/**
 * @module experiments/experiment-guards
 * The checks that stop a readout from claiming what the data cannot support: sample-ratio
 * mismatch (Pearson's χ² of the arms' counts against their planned weights; alert at p < 0.001,
 * the threshold Fabijan et al. recommend in "Diagnosing Sample Ratio Mismatch in Online
 * Controlled Experiments", KDD 2019), a minimum sample per arm, and a suspicious-uplift guard
 * (a relative lift so large it is more often a bug than a win; Kohavi, Tang and Xu, "Trustworthy
 * Online Controlled Experiments", ch. 3, Twyman's law).
 */

import { chiSquareSurvival } from './distribution-functions.js'

export interface SrmResult {
  readonly chiSquare: number
  readonly degreesOfFreedom: number
  readonly pValue: number
  /** True when p < threshold: the split is not what was planned, and the readout is suspect. */
  readonly mismatch: boolean
  readonly expected: readonly number[]
}

/** Pearson's χ² goodness of fit of observed counts to planned weights (any positive scale). */
export function sampleRatioCheck(
  observed: readonly number[],
  weights: readonly number[],
  threshold = 0.001,
): SrmResult {
  if (observed.length !== weights.length || observed.length < 2) {
    throw new RangeError('sampleRatioCheck needs one weight per arm and at least two arms')
  }
  const total = observed.reduce((s, x) => s + x, 0)
  const weightSum = weights.reduce((s, x) => s + x, 0)
  const expected = weights.map((w) => (total * w) / weightSum)
  let chi = 0
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!
    if (e > 0) chi += (observed[i]! - e) ** 2 / e
  }
  const df = observed.length - 1
  const pValue = total === 0 ? 1 : chiSquareSurvival(chi, df)
  return { chiSquare: chi, degreesOfFreedom: df, pValue, mismatch: pValue < threshold, expected }
}

export interface GuardOptions {
  /** Fewest units an arm needs before its numbers are read (default 100). */
  readonly minimumSamplePerArm?: number
  /** Fewest conversions a proportion metric needs in each arm (default 10). */
  readonly minimumConversionsPerArm?: number
  /** A relative lift beyond this, in either direction, is flagged (default 0.5: ±50%). */
  readonly suspiciousRelativeLift?: number
}

export type GuardFinding =
  | {
      readonly guard: 'minimum-sample'
      readonly arm: number
      readonly n: number
      readonly minimum: number
    }
  | {
      readonly guard: 'minimum-conversions'
      readonly arm: number
      readonly conversions: number
      readonly minimum: number
    }
  | { readonly guard: 'suspicious-uplift'; readonly relativeLift: number; readonly limit: number }

/** The guards that fire for one metric of one comparison. */
export function metricGuards(
  arms: readonly { n: number; conversions?: number }[],
  relativeLift: number | null,
  options: GuardOptions = {},
): GuardFinding[] {
  const minimum = options.minimumSamplePerArm ?? 100
  const minConv = options.minimumConversionsPerArm ?? 10
  const limit = options.suspiciousRelativeLift ?? 0.5
  const out: GuardFinding[] = []
  arms.forEach((arm, i) => {
    if (arm.n < minimum) out.push({ guard: 'minimum-sample', arm: i, n: arm.n, minimum })
    if (arm.conversions !== undefined && arm.conversions < minConv) {
      out.push({
        guard: 'minimum-conversions',
        arm: i,
        conversions: arm.conversions,
        minimum: minConv,
      })
    }
  })
  if (relativeLift !== null && Math.abs(relativeLift) > limit) {
    out.push({ guard: 'suspicious-uplift', relativeLift, limit })
  }
  return out
}
