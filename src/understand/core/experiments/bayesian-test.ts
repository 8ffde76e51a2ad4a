/**
 * @module experiments/bayesian-test
 * Bayesian readouts. `gaussianEffectTest`: a normal posterior on the lift (absolute or relative),
 * from a flat or a normal prior, as gbstats' effect model; chance to beat control is P(lift > 0),
 * expected loss E[max(0, −lift)] for shipping the treatment and E[max(0, lift)] for keeping
 * control. `betaBinomialTest`: conversions with Beta priors, chance to beat control exact by
 * Evan Miller's sum ("Formulas for Bayesian A/B Testing", 2015) and expected loss exact through
 * the same sum (E[A·1{A>B}] = E[A]·P(A⁺ > B) with A⁺ ~ Beta(α+1, β)).
 */

import {
  betaQuantile,
  incompleteBeta,
  logBeta,
  normalCdf,
  normalPdf,
  normalQuantile,
} from './distribution-functions.js'

export interface GaussianPrior {
  readonly mean: number
  readonly variance: number
}

export interface BayesianEffect {
  /** Posterior mean of the lift. */
  readonly expected: number
  readonly standardDeviation: number
  readonly credibleInterval: readonly [number, number]
  readonly chanceToWin: number
  /** Expected loss of keeping control, and of shipping the treatment (in lift units). */
  readonly risk: { readonly control: number; readonly treatment: number }
}

/**
 * The normal posterior on a lift observed as `estimate` with standard error `se`.
 * With no prior (flat), the posterior is N(estimate, se²).
 */
export function gaussianEffectTest(
  estimate: number,
  se: number,
  options: { prior?: GaussianPrior; alpha?: number } = {},
): BayesianEffect {
  const alpha = options.alpha ?? 0.05
  let mean = estimate
  let variance = se * se
  if (options.prior) {
    const precision = 1 / variance + 1 / options.prior.variance
    mean = (estimate / variance + options.prior.mean / options.prior.variance) / precision
    variance = 1 / precision
  }
  const sd = Math.sqrt(variance)
  const q = normalQuantile(1 - alpha / 2)
  if (sd === 0) {
    return {
      expected: mean,
      standardDeviation: 0,
      credibleInterval: [mean, mean],
      chanceToWin: mean > 0 ? 1 : mean < 0 ? 0 : 0.5,
      risk: { control: Math.max(0, mean), treatment: Math.max(0, -mean) },
    }
  }
  const z = mean / sd
  // E[max(0, −X)] for X ~ N(μ, σ²) is σφ(μ/σ) − μΦ(−μ/σ).
  const lossTreatment = sd * normalPdf(z) - mean * normalCdf(-z)
  return {
    expected: mean,
    standardDeviation: sd,
    credibleInterval: [mean - q * sd, mean + q * sd],
    chanceToWin: normalCdf(z),
    risk: { control: lossTreatment + mean, treatment: lossTreatment },
  }
}

export interface BetaPosterior {
  readonly alpha: number
  readonly beta: number
}

/** P(X > Y) for X ~ Beta(ax, bx), Y ~ Beta(ay, by); exact when ax is a whole number. */
export function probabilityGreater(x: BetaPosterior, y: BetaPosterior): number {
  if (Number.isInteger(x.alpha)) {
    // Miller's sum for P(X > Y): Σ_{i<αx} B(αy+i, βy+βx) / ((βx+i)·B(1+i, βx)·B(αy, βy)).
    let total = 0
    const base = logBeta(y.alpha, y.beta)
    for (let i = 0; i < x.alpha; i++) {
      total += Math.exp(
        logBeta(y.alpha + i, y.beta + x.beta) -
          Math.log(x.beta + i) -
          logBeta(1 + i, x.beta) -
          base,
      )
    }
    return Math.min(1, Math.max(0, total))
  }
  if (Number.isInteger(y.alpha)) return 1 - probabilityGreater(y, x)
  return probabilityGreaterByQuadrature(x, y)
}

/** The same probability by Simpson's rule over X's density: ∫ f_X(t)·F_Y(t) dt. */
export function probabilityGreaterByQuadrature(
  x: BetaPosterior,
  y: BetaPosterior,
  steps = 4000,
): number {
  const lo = betaQuantile(1e-12, x.alpha, x.beta)
  const hi = betaQuantile(1 - 1e-12, x.alpha, x.beta)
  const h = (hi - lo) / steps
  const lbx = logBeta(x.alpha, x.beta)
  const f = (t: number): number => {
    if (t <= 0 || t >= 1) return 0
    const density = Math.exp((x.alpha - 1) * Math.log(t) + (x.beta - 1) * Math.log1p(-t) - lbx)
    return density * betaCdfFor(y, t)
  }
  let sum = f(lo) + f(hi)
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * f(lo + i * h)
  return (sum * h) / 3
}

function betaCdfFor(p: BetaPosterior, t: number): number {
  return incompleteBeta(t, p.alpha, p.beta)
}

export interface BetaBinomialResult {
  readonly control: {
    readonly posterior: BetaPosterior
    readonly mean: number
    readonly credibleInterval: readonly [number, number]
  }
  readonly treatment: {
    readonly posterior: BetaPosterior
    readonly mean: number
    readonly credibleInterval: readonly [number, number]
  }
  readonly chanceToWin: number
  /** Expected loss in conversion rate: E[max(0, p_t − p_c)] for keeping control, E[max(0, p_c − p_t)] for shipping. */
  readonly risk: { readonly control: number; readonly treatment: number }
}

/** Beta-binomial test of conversions (a uniform Beta(1, 1) prior unless one is given). */
export function betaBinomialTest(
  control: { n: number; conversions: number },
  treatment: { n: number; conversions: number },
  options: { prior?: BetaPosterior; alpha?: number } = {},
): BetaBinomialResult {
  const prior = options.prior ?? { alpha: 1, beta: 1 }
  const alpha = options.alpha ?? 0.05
  const post = (arm: { n: number; conversions: number }): BetaPosterior => ({
    alpha: prior.alpha + arm.conversions,
    beta: prior.beta + arm.n - arm.conversions,
  })
  const a = post(control)
  const b = post(treatment)
  const meanOf = (p: BetaPosterior): number => p.alpha / (p.alpha + p.beta)
  const interval = (p: BetaPosterior): readonly [number, number] => [
    betaQuantile(alpha / 2, p.alpha, p.beta),
    betaQuantile(1 - alpha / 2, p.alpha, p.beta),
  ]
  const bWins = probabilityGreater(b, a)
  // E[max(0, A − B)] = E[A]·P(A⁺ > B) − E[B]·P(A > B⁺), with ⁺ adding one success.
  const plus = (p: BetaPosterior): BetaPosterior => ({ alpha: p.alpha + 1, beta: p.beta })
  const lossShip =
    meanOf(a) * probabilityGreater(plus(a), b) - meanOf(b) * probabilityGreater(a, plus(b))
  const lossKeep =
    meanOf(b) * probabilityGreater(plus(b), a) - meanOf(a) * probabilityGreater(b, plus(a))
  return {
    control: { posterior: a, mean: meanOf(a), credibleInterval: interval(a) },
    treatment: { posterior: b, mean: meanOf(b), credibleInterval: interval(b) },
    chanceToWin: bWins,
    risk: { control: Math.max(0, lossKeep), treatment: Math.max(0, lossShip) },
  }
}
