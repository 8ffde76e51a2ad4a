/**
 * @module experiments/thompson-bandit
 * Thompson sampling weights for message variants (Chapelle and Li 2011, "An Empirical Evaluation
 * of Thompson Sampling"): each variant's weight is the posterior probability that it is the best,
 * estimated from `draws` joint posterior draws, floored so that no variant starves. A holdout is
 * not a variant: callers keep it outside, at its fixed share, and hand in only the variants.
 */

import { betaDraw, type Random } from './seeded-random.js'

export interface BanditArm {
  readonly n: number
  readonly conversions: number
}

export interface BanditOptions {
  readonly draws?: number
  /** Each arm gets at least this share (default 0.01), the rest in proportion to P(best). */
  readonly floor?: number
}

/** Weights summing to 1, in the arms' order. */
export function thompsonWeights(
  arms: readonly BanditArm[],
  random: Random,
  options: BanditOptions = {},
): number[] {
  if (arms.length === 0) return []
  const draws = options.draws ?? 10_000
  const floor = Math.min(options.floor ?? 0.01, 1 / arms.length)
  const wins = new Array<number>(arms.length).fill(0)
  for (let d = 0; d < draws; d++) {
    let best = 0
    let bestValue = -1
    arms.forEach((arm, i) => {
      const v = betaDraw(1 + arm.conversions, 1 + arm.n - arm.conversions, random)
      if (v > bestValue) {
        bestValue = v
        best = i
      }
    })
    wins[best]! += 1
  }
  const free = 1 - floor * arms.length
  return wins.map((w) => floor + (free * w) / draws)
}
