/**
 * @module predictions/bg-nbd-model
 * The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers the
 * easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2); the expressions are
 * the paper's equations 6, 10 and the note "Computing P(alive) using the BG/NBD model"):
 * while alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each
 * purchase they drop out with probability p ~ Beta(a, b).
 *
 * Data per customer: `x` repeat purchases (distinct purchase days after the first), `tx` the
 * time of the last one and `T` the age, both measured from the first purchase in periods.
 *
 * The log-likelihood depends on x only through lnΓ(r+x) − lnΓ(r) and two beta-function ratios;
 * since x is a small integer these are tabled once per evaluation by their recurrences
 * (lnΓ(y+k+1) = lnΓ(y+k) + ln(y+k)) rather than computed per customer with three lnGamma calls:
 * that is what makes a fit on a million customers cheap (docs/benchmarks.md). The per-customer
 * form is kept as `bgNbdLogLikelihoodDirect`, the reference the tabled one is tested against.
 */
import { fitPositive, type FitOptions, type FitResult } from './model-optimizer.js'
import { hyp2f1, lnBeta, lnGamma, logAddExp } from './special-functions.js'

export interface RfmData {
  x: ArrayLike<number>
  tx: ArrayLike<number>
  T: ArrayLike<number>
  /** How many customers share each row (1 each when absent). */
  weights?: ArrayLike<number>
}

export interface BgNbdParams {
  r: number
  alpha: number
  a: number
  b: number
}

function toParams(p: readonly number[]): BgNbdParams {
  return { r: p[0]!, alpha: p[1]!, a: p[2]!, b: p[3]! }
}

/** Σ_{k<n} ln(y+k) for n = 0..max: table[n] = lnΓ(y+n) − lnΓ(y). */
function lnPochhammerTable(y: number, max: number): Float64Array {
  const t = new Float64Array(max + 2)
  for (let n = 1; n <= max + 1; n++) t[n] = t[n - 1]! + Math.log(y + n - 1)
  return t
}

function maxOf(values: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < values.length; i++) if (values[i]! > m) m = values[i]!
  return m
}

/** Total log-likelihood, tabled by x (the fast path). */
export function bgNbdLogLikelihood(p: BgNbdParams, d: RfmData): number {
  const { r, alpha, a, b } = p
  const maxX = maxOf(d.x)
  const gr = lnPochhammerTable(r, maxX)
  const gb = lnPochhammerTable(b, maxX)
  const gab = lnPochhammerTable(a + b, maxX)
  const rLnAlpha = r * Math.log(alpha)
  const lnA = Math.log(a)
  let total = 0
  for (let i = 0; i < d.x.length; i++) {
    const x = d.x[i]!
    const w = d.weights ? d.weights[i]! : 1
    const head = gr[x]! + rLnAlpha
    const t1 = gb[x]! - gab[x]! - (r + x) * Math.log(alpha + d.T[i]!)
    let ll = t1
    if (x > 0) {
      // ln B(a+1, b+x−1) − ln B(a, b) = ln a + [lnΓ(b+x−1) − lnΓ(b)] − [lnΓ(a+b+x) − lnΓ(a+b)]
      const t2 = lnA + gb[x - 1]! - gab[x]! - (r + x) * Math.log(alpha + d.tx[i]!)
      ll = logAddExp(t1, t2)
    }
    total += w * (head + ll)
  }
  return total
}

/** The same likelihood customer by customer with lnGamma and lnBeta calls (the reference). */
export function bgNbdLogLikelihoodDirect(p: BgNbdParams, d: RfmData): number {
  const { r, alpha, a, b } = p
  let total = 0
  for (let i = 0; i < d.x.length; i++) {
    const x = d.x[i]!
    const w = d.weights ? d.weights[i]! : 1
    const head = lnGamma(r + x) - lnGamma(r) + r * Math.log(alpha)
    const t1 = lnBeta(a, b + x) - lnBeta(a, b) - (r + x) * Math.log(alpha + d.T[i]!)
    const t2 =
      x > 0
        ? lnBeta(a + 1, b + x - 1) - lnBeta(a, b) - (r + x) * Math.log(alpha + d.tx[i]!)
        : -Infinity
    total += w * (head + logAddExp(t1, t2))
  }
  return total
}

/**
 * Customers with the same (x, tx, T) contribute the same likelihood term: one weighted row each.
 * Purchases are counted per day, so tx and T take few distinct values (multiples of 1/periodDays)
 * and a large customer base shrinks to far fewer rows (docs/benchmarks.md).
 */
export function groupRfm(d: RfmData): {
  x: number[]
  tx: number[]
  T: number[]
  weights: number[]
} {
  const index = new Map<string, number>()
  const x: number[] = []
  const tx: number[] = []
  const T: number[] = []
  const weights: number[] = []
  for (let i = 0; i < d.x.length; i++) {
    const key = `${d.x[i]!}|${d.tx[i]!}|${d.T[i]!}`
    const w = d.weights ? d.weights[i]! : 1
    const at = index.get(key)
    if (at !== undefined) weights[at]! += w
    else {
      index.set(key, x.length)
      x.push(d.x[i]!)
      tx.push(d.tx[i]!)
      T.push(d.T[i]!)
      weights.push(w)
    }
  }
  return { x, tx, T, weights }
}

function totalWeight(d: { x: ArrayLike<number>; weights?: ArrayLike<number> }): number {
  if (!d.weights) return d.x.length
  let s = 0
  for (let i = 0; i < d.weights.length; i++) s += d.weights[i]!
  return s
}

export interface BgNbdFit extends Omit<FitResult, 'params' | 'standardErrors'> {
  params: BgNbdParams
  standardErrors: BgNbdParams
}

export function fitBgNbd(d: RfmData, opts: FitOptions = {}): BgNbdFit {
  const res = fitPositive((p) => bgNbdLogLikelihood(toParams(p), d), 4, totalWeight(d), opts)
  return { ...res, params: toParams(res.params), standardErrors: toParams(res.standardErrors) }
}

/** Probability that a customer with this history is still alive at T. */
export function bgNbdProbabilityAlive(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return 1
  const { r, alpha, a, b } = p
  const lnRatio = Math.log(a / (b + x - 1)) + (r + x) * Math.log((alpha + T) / (alpha + tx))
  return 1 / (1 + Math.exp(lnRatio))
}

/** Expected purchases in (T, T+t] for a customer with history (x, tx, T) (FHL 2005 eq. 10). */
export function bgNbdExpectedPurchases(
  p: BgNbdParams,
  x: number,
  tx: number,
  T: number,
  t: number,
): number {
  const { r, alpha, a, b } = p
  if (t <= 0) return 0
  const z = t / (alpha + T + t)
  const f = hyp2f1(r + x, b + x, a + b + x - 1, z)
  const head = (a + b + x - 1) / (a - 1)
  const inner = 1 - Math.exp((r + x) * Math.log((alpha + T) / (alpha + T + t))) * f
  return head * inner * bgNbdProbabilityAlive(p, x, tx, T)
}

/** Expected purchases by a new customer in (0, t] (FHL 2005 eq. 9). */
export function bgNbdExpectedPurchasesNew(p: BgNbdParams, t: number): number {
  const { r, alpha, a, b } = p
  const f = hyp2f1(r, b, a + b - 1, t / (alpha + t))
  return ((a + b - 1) / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * f)
}
