/**
 * @module predictions/special-functions
 * The special functions the buy-till-you-die models need, in plain TypeScript (no npm package
 * provides the Gauss hypergeometric function): log-gamma (with the sign of Γ), digamma,
 * log-beta and ₂F₁(a, b; c; z) for real arguments and z < 1.
 *
 * ₂F₁ is summed as its power series while |z| ≤ 0.75 (terms shrink at least as fast as 0.75ⁿ
 * once n passes the parameters), and otherwise moved there by a linear transformation
 * (Abramowitz & Stegun 15.3.4 and 15.3.6, DLMF 15.8.1 and 15.8.4):
 * - z < −1/3: Pfaff, `(1−z)^(−a) ₂F₁(a, c−b; c; z/(z−1))`, whose argument lies in (1/4, 1);
 *   Known limit: with a and b far above c (c ≪ a, b) and z < −1/3 the Pfaff series cancels
 *   and the result is good to about 1e-5 relative only; the models never ask for that regime
 *   (Pareto/NBD's c is a + 1 and its argument lies in [0, 1)).
 * - 0.75 < z < 1: the 1−z connection formula, two series in 1−z < 1/4. When c−a−b is within
 *   1e-6 of an integer that formula's gamma factors blow up (the logarithmic case), so the
 *   series is summed directly instead, with a larger term budget: slow near 1 but correct.
 * Every series stops when a term no longer changes the sum at double precision, and reports
 * non-convergence as NaN rather than returning a truncated value.
 */

// Lanczos approximation, g = 7, 9 coefficients (Numerical Recipes' choice; relative error
// below 2e-15 over the positive reals). The coefficients are the published constants.
const LANCZOS_G = 7
const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
  12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
]
const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI)

/** ln|Γ(x)| for real x (Infinity at the poles 0, −1, −2, …). */
export function lnGamma(x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x === Infinity) return Infinity
  if (x <= 0 && Number.isInteger(x)) return Infinity
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x)
  }
  const y = x - 1
  let s = LANCZOS[0]!
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i]! / (y + i)
  const t = y + LANCZOS_G + 0.5
  return LN_SQRT_2PI + (y + 0.5) * Math.log(t) - t + Math.log(s)
}

/** The sign of Γ(x): +1 for x > 0, alternating between the negative poles. */
export function gammaSign(x: number): 1 | -1 {
  if (x > 0) return 1
  return Math.floor(x) % 2 === 0 ? 1 : -1
}

/** Γ(x) for real x (overflows to ±Infinity above x ≈ 171.6). */
export function gamma(x: number): number {
  return gammaSign(x) * Math.exp(lnGamma(x))
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a+b), for a, b > 0. */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b)
}

/**
 * ψ(x) = d/dx ln Γ(x): the recurrence ψ(x) = ψ(x+1) − 1/x up to x ≥ 10, then the asymptotic
 * series (DLMF 5.11.2) to x⁻¹², whose first omitted term is below 1e-15 there; reflection for
 * x < 0.
 */
export function digamma(x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x <= 0 && Number.isInteger(x)) return NaN
  if (x < 0) return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x)
  let acc = 0
  while (x < 10) {
    acc -= 1 / x
    x += 1
  }
  const f = 1 / (x * x)
  const series =
    f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132 - f * (691 / 32760))))))
  return acc + Math.log(x) - 0.5 / x - series
}

const SERIES_TERMS = 20_000
const SLOW_SERIES_TERMS = 2_000_000
const EPS = 1e-16

/**
 * The power series Σ (a)ₙ(b)ₙ/((c)ₙ n!) zⁿ. Stops when a term is below EPS of the sum (twice in
 * a row, so a passing zero of the term ratio does not stop it early); NaN when it does not
 * converge within the budget.
 */
export function hyp2f1Series(
  a: number,
  b: number,
  c: number,
  z: number,
  maxTerms = SERIES_TERMS,
): number {
  let term = 1
  let sum = 1
  let small = 0
  for (let n = 0; n < maxTerms; n++) {
    if (term === 0) return sum
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z
    sum += term
    if (!Number.isFinite(sum)) return sum
    if (Math.abs(term) <= EPS * Math.abs(sum)) {
      if (++small >= 2) return sum
    } else small = 0
  }
  return NaN
}

function isNonPositiveInteger(x: number): boolean {
  return x <= 0 && Number.isInteger(x)
}

/**
 * Gauss hypergeometric ₂F₁(a, b; c; z) for real a, b, c and z ≤ 1 (c not 0, −1, −2, …).
 * At z = 1 it is Gauss's sum Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)) when c−a−b > 0, else Infinity.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if ([a, b, c, z].some(Number.isNaN)) return NaN
  if (isNonPositiveInteger(c)) return NaN
  if (z === 0 || a === 0 || b === 0) return 1
  if (z > 1) return NaN
  // A polynomial (a or b a non-positive integer) terminates: sum it as it stands.
  if (isNonPositiveInteger(a) || isNonPositiveInteger(b)) return hyp2f1Series(a, b, c, z)
  if (z === 1) {
    const s = c - a - b
    if (s <= 0) return Infinity
    return gaussRatio(c, s, c - a, c - b)
  }
  if (z < -1 / 3) {
    // Pfaff (DLMF 15.8.1): the new argument z/(z−1) is in (1/4, 1).
    return Math.pow(1 - z, -a) * hyp2f1(a, c - b, c, z / (z - 1))
  }
  if (z <= 0.75) return hyp2f1Series(a, b, c, z)
  const s = c - a - b
  if (Math.abs(s - Math.round(s)) < 1e-6) return hyp2f1Series(a, b, c, z, SLOW_SERIES_TERMS)
  // The 1−z connection (DLMF 15.8.4 with 15.10.21), both series in w = 1−z < 1/4.
  const w = 1 - z
  const first = gaussRatio(c, s, c - a, c - b) * hyp2f1Series(a, b, 1 - s, w)
  const second = Math.pow(w, s) * gaussRatio(c, -s, a, b) * hyp2f1Series(c - a, c - b, 1 + s, w)
  return first + second
}

/** Γ(p)Γ(q)/(Γ(r)Γ(t)), with signs, 0 when a denominator sits on a pole. */
function gaussRatio(p: number, q: number, r: number, t: number): number {
  if (isNonPositiveInteger(r) || isNonPositiveInteger(t)) return 0
  const sign = gammaSign(p) * gammaSign(q) * gammaSign(r) * gammaSign(t)
  return sign * Math.exp(lnGamma(p) + lnGamma(q) - lnGamma(r) - lnGamma(t))
}

/** ln(eᵃ + eᵇ) without overflow. */
export function logAddExp(x: number, y: number): number {
  if (x === -Infinity) return y
  if (y === -Infinity) return x
  const m = Math.max(x, y)
  return m + Math.log1p(Math.exp(-Math.abs(x - y)))
}
