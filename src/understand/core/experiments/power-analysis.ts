/**
 * @module experiments/power-analysis
 * Sample size and power for a two-arm test of means or proportions, by the normal approximation
 * n = (z₁₋α/₂ + z₁₋β)²·(σ²_c + σ²_t) / δ² per arm (Chow, Shao and Wang, "Sample Size
 * Calculations in Clinical Research", §3.2; it reproduces Lehr's rule n ≈ 16σ²/δ² at α = 0.05
 * and 80% power).
 */

import { normalCdf, normalQuantile } from './distribution-functions.js'

export type PowerMetric =
  | { readonly kind: 'proportion'; readonly baseline: number }
  | { readonly kind: 'mean'; readonly baseline: number; readonly standardDeviation: number }

export interface PowerOptions {
  readonly alpha?: number
  /** 1 − β, default 0.8. */
  readonly power?: number
  /** Treatment arm size over control arm size (default 1). */
  readonly ratio?: number
}

function variances(metric: PowerMetric, relativeLift: number): [number, number] {
  const p1 = metric.baseline
  const p2 = metric.baseline * (1 + relativeLift)
  if (metric.kind === 'proportion') return [p1 * (1 - p1), p2 * (1 - p2)]
  return [metric.standardDeviation ** 2, metric.standardDeviation ** 2]
}

/** Units in the control arm (the treatment arm gets `ratio` times as many) to detect a relative lift. */
export function sampleSizePerArm(
  metric: PowerMetric,
  relativeLift: number,
  options: PowerOptions = {},
): number {
  const alpha = options.alpha ?? 0.05
  const power = options.power ?? 0.8
  const ratio = options.ratio ?? 1
  const delta = metric.baseline * relativeLift
  if (delta === 0) return Infinity
  const [v1, v2] = variances(metric, relativeLift)
  const z = normalQuantile(1 - alpha / 2) + normalQuantile(power)
  return Math.ceil((z * z * (v1 + v2 / ratio)) / (delta * delta))
}

/** The power of the two-sided test with `n` control units (and `ratio·n` treatment units). */
export function powerAt(
  metric: PowerMetric,
  relativeLift: number,
  n: number,
  options: PowerOptions = {},
): number {
  const alpha = options.alpha ?? 0.05
  const ratio = options.ratio ?? 1
  const delta = Math.abs(metric.baseline * relativeLift)
  const [v1, v2] = variances(metric, relativeLift)
  const se = Math.sqrt(v1 / n + v2 / (ratio * n))
  const q = normalQuantile(1 - alpha / 2)
  return normalCdf(delta / se - q) + normalCdf(-delta / se - q)
}

/** The smallest relative lift detectable with `n` control units, by bisection on power. */
export function minimumDetectableLift(
  metric: PowerMetric,
  n: number,
  options: PowerOptions = {},
): number {
  const target = options.power ?? 0.8
  let lo = 0
  let hi = 1
  while (powerAt(metric, hi, n, options) < target && hi < 1e6) hi *= 2
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2
    if (powerAt(metric, mid, n, options) < target) lo = mid
    else hi = mid
  }
  return hi
}
