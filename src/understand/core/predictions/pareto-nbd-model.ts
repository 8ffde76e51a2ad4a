/**
 * @module predictions/pareto-nbd-model
 * The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), in the form of Fader & Hardie's
 * note "A note on deriving the Pareto/NBD model and related expressions" (2005): while alive a
 * customer buys at rate λ ~ Gamma(r, α) and dies at an exponential time with rate μ ~ Gamma(s, β).
 * The likelihood needs ₂F₁ at (α−β)/(α+t) or (β−α)/(β+t), whichever is non-negative (the note's
 * equations 22 and 23), so both arguments stay in [0, 1).
 */
import type { RfmData } from './bg-nbd-model.js'
import { fitPositive, type FitOptions, type FitResult } from './model-optimizer.js'
import { hyp2f1, lnGamma, logAddExp } from './special-functions.js'

export interface ParetoNbdParams {
  r: number
  alpha: number
  s: number
  beta: number
}

function toParams(p: readonly number[]): ParetoNbdParams {
  return { r: p[0]!, alpha: p[1]!, s: p[2]!, beta: p[3]! }
}

/** ln A₀ of the note (eqs. 22–23): ln of the difference of the two ₂F₁ terms at tx and at T. */
function lnA0(p: ParetoNbdParams, x: number, tx: number, T: number): number {
  const { r, alpha, s, beta } = p
  const big = alpha >= beta
  const m = big ? alpha : beta
  const diff = Math.abs(alpha - beta)
  const second = big ? s + 1 : r + x
  const c = r + s + x
  const term = (t: number): number =>
    Math.log(hyp2f1(c, second, c + 1, diff / (m + t))) - c * Math.log(m + t)
  const l1 = term(tx)
  const l2 = term(T)
  // A₀ = e^l1 − e^l2 with l1 ≥ l2 (tx ≤ T).
  return l1 + Math.log1p(-Math.exp(l2 - l1))
}

function lnCore(
  p: ParetoNbdParams,
  x: number,
  tx: number,
  T: number,
): { alive: number; dead: number } {
  const { r, alpha, s, beta } = p
  const alive = -(r + x) * Math.log(alpha + T) - s * Math.log(beta + T)
  const dead = tx < T ? Math.log(s / (r + s + x)) + lnA0(p, x, tx, T) : -Infinity
  return { alive, dead }
}

export function paretoNbdLogLikelihood(p: ParetoNbdParams, d: RfmData): number {
  const { r, alpha, s, beta } = p
  const head0 = -lnGamma(r) + r * Math.log(alpha) + s * Math.log(beta)
  let total = 0
  for (let i = 0; i < d.x.length; i++) {
    const x = d.x[i]!
    const w = d.weights ? d.weights[i]! : 1
    const { alive, dead } = lnCore(p, x, d.tx[i]!, d.T[i]!)
    total += w * (head0 + lnGamma(r + x) + logAddExp(alive, dead))
  }
  return total
}

export interface ParetoNbdFit extends Omit<FitResult, 'params' | 'standardErrors'> {
  params: ParetoNbdParams
  standardErrors: ParetoNbdParams
}

export function fitParetoNbd(d: RfmData, opts: FitOptions = {}): ParetoNbdFit {
  let weight = 0
  for (let i = 0; i < d.x.length; i++) weight += d.weights ? d.weights[i]! : 1
  const res = fitPositive((p) => paretoNbdLogLikelihood(toParams(p), d), 4, weight, opts)
  return { ...res, params: toParams(res.params), standardErrors: toParams(res.standardErrors) }
}

/** P(alive at T | x, tx, T): the share of the likelihood from "still alive" (note eq. 18). */
export function paretoNbdProbabilityAlive(
  p: ParetoNbdParams,
  x: number,
  tx: number,
  T: number,
): number {
  const { alive, dead } = lnCore(p, x, tx, T)
  return 1 / (1 + Math.exp(dead - alive))
}

/** Expected purchases in (T, T+t] (note eq. 21; needs s ≠ 1). */
export function paretoNbdExpectedPurchases(
  p: ParetoNbdParams,
  x: number,
  tx: number,
  T: number,
  t: number,
): number {
  const { r, alpha, s, beta } = p
  const rate = ((r + x) * (beta + T)) / ((alpha + T) * (s - 1))
  return (
    rate *
    (1 - Math.pow((beta + T) / (beta + T + t), s - 1)) *
    paretoNbdProbabilityAlive(p, x, tx, T)
  )
}
