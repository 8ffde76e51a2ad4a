/**
 * @module experiments/sequential-test
 * Always-valid confidence sequences, so that looking at a readout every day does not inflate the
 * false-positive rate. The boundary is the two-sided normal mixture of Howard, Ramdas,
 * McAuliffe and Sekhon (2021, "Time-uniform, nonparametric, nonasymptotic confidence
 * sequences", eq. 14), in the asymptotic form of Waudby-Smith et al. (2023, "Time-uniform central
 * limit theory and asymptotic confidence sequences", arXiv:2103.06476, eq. 9), with the mixing
 * variance ρ² tuned to be tightest at a planned total sample N* (ibid. §B.2). gbstats uses the same
 * boundary, so its fixtures check ours.
 */

import type { LiftEstimate } from './frequentist-test.js'

export interface SequentialOptions {
  readonly alpha?: number
  /** The total sample size where the boundary is tightest (gbstats' default is 5,000). */
  readonly tuning?: number
}

/** ρ² for a two-sided boundary tightest at `tuning` units. */
export function mixtureRhoSquared(alpha: number, tuning: number): number {
  const l = -2 * Math.log(alpha)
  return (l + Math.log(l + 1)) / tuning
}

/**
 * The always-valid interval and p-value for an estimate with standard error `se` after `n` units
 * in total (both arms). The p-value is 1/E for the mixture e-value, capped at 1: it only falls
 * below α when the estimate has left the confidence sequence.
 */
export function sequentialLift(
  estimate: number,
  se: number,
  n: number,
  options: SequentialOptions = {},
): LiftEstimate {
  const alpha = options.alpha ?? 0.05
  const rho2 = mixtureRhoSquared(alpha, options.tuning ?? 5000)
  const s2 = se * se * n
  const nr = n * rho2 + 1
  const half =
    Math.sqrt(s2) * Math.sqrt(((2 * nr) / (n * n * rho2)) * Math.log(Math.sqrt(nr) / alpha))
  const z2n = ((estimate * estimate) / (se * se)) * n
  const logE = (rho2 * z2n) / (2 * nr) - 0.5 * Math.log(nr)
  return {
    estimate,
    standardError: se,
    ci: [estimate - half, estimate + half],
    pValue: Math.min(1, Math.exp(-logE)),
  }
}
