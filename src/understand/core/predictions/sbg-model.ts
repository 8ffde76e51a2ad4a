/**
 * @module predictions/sbg-model
 * The shifted-beta-geometric model of contract duration (Fader & Hardie 2007, "How to project
 * customer retention", Journal of Interactive Marketing 21(1)): at each renewal a customer
 * churns with probability θ ~ Beta(γ, δ). Data: the number of customers still active at the
 * start and after each period, `[n₀, n₁, …, n_T]` (a cohort's survivor counts).
 */
import { fitPositive, type FitOptions, type FitResult } from './model-optimizer.js'
import { lnBeta } from './special-functions.js'

export interface SbgParams {
  gamma: number
  delta: number
}

/** P(T = t) = B(γ+1, δ+t−1)/B(γ, δ): the share who churn at period t (t ≥ 1). */
export function sbgChurnProbability(p: SbgParams, t: number): number {
  return Math.exp(lnBeta(p.gamma + 1, p.delta + t - 1) - lnBeta(p.gamma, p.delta))
}

/** S(t) = B(γ, δ+t)/B(γ, δ): the share still active after t periods. */
export function sbgSurvival(p: SbgParams, t: number): number {
  return Math.exp(lnBeta(p.gamma, p.delta + t) - lnBeta(p.gamma, p.delta))
}

/** The retention rate from period t−1 to t, (δ+t−1)/(γ+δ+t−1): rising with t, by selection. */
export function sbgRetentionRate(p: SbgParams, t: number): number {
  return (p.delta + t - 1) / (p.gamma + p.delta + t - 1)
}

export function sbgLogLikelihood(p: SbgParams, survivors: readonly number[]): number {
  let ll = 0
  for (let t = 1; t < survivors.length; t++) {
    ll += (survivors[t - 1]! - survivors[t]!) * Math.log(sbgChurnProbability(p, t))
  }
  const last = survivors.length - 1
  return ll + survivors[last]! * Math.log(sbgSurvival(p, last))
}

export interface SbgFit extends Omit<FitResult, 'params' | 'standardErrors'> {
  params: SbgParams
  standardErrors: SbgParams
}

export function fitSbg(survivors: readonly number[], opts: FitOptions = {}): SbgFit {
  const toP = (p: readonly number[]): SbgParams => ({ gamma: p[0]!, delta: p[1]! })
  const res = fitPositive((p) => sbgLogLikelihood(toP(p), survivors), 2, survivors[0]!, opts)
  return { ...res, params: toP(res.params), standardErrors: toP(res.standardErrors) }
}
