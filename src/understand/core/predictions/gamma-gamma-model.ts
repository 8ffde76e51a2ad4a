/**
 * @module predictions/gamma-gamma-model
 * The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV: using
 * iso-value curves for customer base analysis", Journal of Marketing Research 42(4); Hardie's
 * note "The Gamma-Gamma model of monetary value", 2013): a customer's transaction values are
 * Gamma(p, ν) with ν ~ Gamma(q, γ) across customers (γ is called `v` here, as in the issue and
 * in `lifetimes`). Fitted on customers with at least one repeat purchase, from `x` (repeat
 * purchases) and `mx` (their average value); the model assumes spend independent of frequency.
 */
import { fitPositive, type FitOptions, type FitResult } from './model-optimizer.js'
import { lnGamma } from './special-functions.js'

export interface SpendData {
  x: ArrayLike<number>
  mx: ArrayLike<number>
}

export interface GammaGammaParams {
  p: number
  q: number
  v: number
}

function toParams(p: readonly number[]): GammaGammaParams {
  return { p: p[0]!, q: p[1]!, v: p[2]! }
}

export function gammaGammaLogLikelihood(params: GammaGammaParams, d: SpendData): number {
  const { p, q, v } = params
  const common = -lnGamma(q) + q * Math.log(v)
  let total = 0
  for (let i = 0; i < d.x.length; i++) {
    const x = d.x[i]!
    const m = d.mx[i]!
    const px = p * x
    total +=
      lnGamma(px + q) -
      lnGamma(px) +
      common +
      (px - 1) * Math.log(m) +
      px * Math.log(x) -
      (px + q) * Math.log(x * m + v)
  }
  return total
}

export interface GammaGammaFit extends Omit<FitResult, 'params' | 'standardErrors'> {
  params: GammaGammaParams
  standardErrors: GammaGammaParams
}

/** Fit on the customers with x > 0 and a positive average (others carry no spend information). */
export function fitGammaGamma(d: SpendData, opts: FitOptions = {}): GammaGammaFit {
  const xs: number[] = []
  const ms: number[] = []
  for (let i = 0; i < d.x.length; i++) {
    if (d.x[i]! > 0 && d.mx[i]! > 0) {
      xs.push(d.x[i]!)
      ms.push(d.mx[i]!)
    }
  }
  const data = { x: xs, mx: ms }
  const res = fitPositive((p) => gammaGammaLogLikelihood(toParams(p), data), 3, xs.length, opts)
  return { ...res, params: toParams(res.params), standardErrors: toParams(res.standardErrors) }
}

/**
 * E[M | p, q, v, x, mx]: the expected average transaction value of a customer, a weighted mean
 * of the population mean p·v/(q−1) and the customer's own average (Hardie's note, eq. 5).
 * A customer with no repeat purchases gets the population mean.
 */
export function gammaGammaExpectedSpend(params: GammaGammaParams, x: number, mx: number): number {
  const { p, q, v } = params
  if (x <= 0 || !(mx > 0)) return (p * v) / (q - 1)
  return (p * (v + x * mx)) / (p * x + q - 1)
}
