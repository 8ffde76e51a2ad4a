/**
 * @module predictions/bg-bb-model
 * The beta-geometric/beta-Bernoulli model for discrete transaction opportunities (Fader, Hardie
 * & Berger 2010, "Customer-base analysis in a discrete-time noncontractual setting", Marketing
 * Science 29(6)): at each of n opportunities an alive customer transacts with probability
 * p ~ Beta(α, β) and dies before the next with probability θ ~ Beta(γ, δ). Data per row: `x`
 * transactions, `tx` the opportunity of the last one, `n` opportunities, and a row weight (the
 * data usually come as counts of customers per (x, tx, n) pattern).
 */
import { fitPositive, type FitOptions, type FitResult } from './model-optimizer.js'
import { lnBeta, logAddExp } from './special-functions.js'

export interface DiscreteData {
  x: ArrayLike<number>
  tx: ArrayLike<number>
  n: ArrayLike<number>
  weights?: ArrayLike<number>
}

export interface BgBbParams {
  alpha: number
  beta: number
  gamma: number
  delta: number
}

function toParams(p: readonly number[]): BgBbParams {
  return { alpha: p[0]!, beta: p[1]!, gamma: p[2]!, delta: p[3]! }
}

/** ln L for one pattern (the paper's equation 5). */
export function bgBbLogLikelihoodOne(p: BgBbParams, x: number, tx: number, n: number): number {
  const { alpha, beta, gamma, delta } = p
  const b0 = lnBeta(alpha, beta)
  const g0 = lnBeta(gamma, delta)
  let ll = lnBeta(alpha + x, beta + n - x) - b0 + lnBeta(gamma, delta + n) - g0
  for (let i = 0; i <= n - tx - 1; i++) {
    ll = logAddExp(
      ll,
      lnBeta(alpha + x, beta + tx - x + i) - b0 + lnBeta(gamma + 1, delta + tx + i) - g0,
    )
  }
  return ll
}

export function bgBbLogLikelihood(p: BgBbParams, d: DiscreteData): number {
  let total = 0
  for (let i = 0; i < d.x.length; i++) {
    total += (d.weights ? d.weights[i]! : 1) * bgBbLogLikelihoodOne(p, d.x[i]!, d.tx[i]!, d.n[i]!)
  }
  return total
}

export interface BgBbFit extends Omit<FitResult, 'params' | 'standardErrors'> {
  params: BgBbParams
  standardErrors: BgBbParams
}

export function fitBgBb(d: DiscreteData, opts: FitOptions = {}): BgBbFit {
  let weight = 0
  for (let i = 0; i < d.x.length; i++) weight += d.weights ? d.weights[i]! : 1
  const res = fitPositive((p) => bgBbLogLikelihood(toParams(p), d), 4, weight, opts)
  return { ...res, params: toParams(res.params), standardErrors: toParams(res.standardErrors) }
}

/** P(alive at opportunity n+1 | x, tx, n) (the paper's equation 11). */
export function bgBbProbabilityAlive(p: BgBbParams, x: number, tx: number, n: number): number {
  const { alpha, beta, gamma, delta } = p
  const lnAlive =
    lnBeta(alpha + x, beta + n - x) -
    lnBeta(alpha, beta) +
    lnBeta(gamma, delta + n + 1) -
    lnBeta(gamma, delta)
  return Math.exp(lnAlive - bgBbLogLikelihoodOne(p, x, tx, n))
}
