/**
 * @module experiments/distribution-functions
 * The distributions the stats engine needs, written here so that no statistics package is a
 * dependency: log-gamma (Lanczos), the regularised incomplete gamma and beta functions
 * (series and Lentz continued fractions, as in Press et al., Numerical Recipes §6.2 and §6.4),
 * and from them the normal, Student t, χ² and beta CDFs. Quantiles invert the CDFs by
 * bisection on a bracket: slower than a rational approximation, but as accurate as the CDF
 * itself and obviously monotone.
 */

const EPS = 1e-15
const TINY = 1e-300
const MAX_ITER = 500

// Lanczos approximation with g = 7, n = 9 (the coefficients published by Godfrey, used widely).
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
]

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let a = LANCZOS[0]!
  const t = z + 7.5
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i)
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

/** ln B(a, b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b)
}

/** The regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1
  if (x < a + 1) return 1 - gammaPSeries(a, x)
  // Continued fraction for Γ(a, x), modified Lentz.
  let b = x + 1 - a
  let c = 1 / TINY
  let d = 1 / b
  let h = d
  for (let i = 1; i <= MAX_ITER; i++) {
    const an = -i * (i - a)
    b += 2
    d = an * d + b
    if (Math.abs(d) < TINY) d = TINY
    c = b + an / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < EPS) break
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h
}

function gammaPSeries(a: number, x: number): number {
  let sum = 1 / a
  let term = sum
  for (let n = 1; n <= MAX_ITER; n++) {
    term *= x / (a + n)
    sum += term
    if (Math.abs(term) < Math.abs(sum) * EPS) break
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a))
}

/** The regularised lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
  if (x <= 0) return 0
  if (x < a + 1) return gammaPSeries(a, x)
  return 1 - gammaQ(a, x)
}

/** The regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - logBeta(a, b))
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry
  // I_x(a, b) = 1 − I_{1−x}(b, a) on the other side.
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(x, a, b)) / a
  return 1 - (front * betaFraction(1 - x, b, a)) / b
}

function betaFraction(x: number, a: number, b: number): number {
  const qab = a + b
  const qap = a + 1
  const qam = a - 1
  let c = 1
  let d = 1 - (qab * x) / qap
  if (Math.abs(d) < TINY) d = TINY
  d = 1 / d
  let h = d
  for (let m = 1; m <= MAX_ITER; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < TINY) d = TINY
    c = 1 + aa / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2))
    d = 1 + aa * d
    if (Math.abs(d) < TINY) d = TINY
    c = 1 + aa / c
    if (Math.abs(c) < TINY) c = TINY
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < EPS) break
  }
  return h
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI)
}

/** Standard normal CDF Φ(z), accurate in the tails (Φ(z) = Q(½, z²/2) / 2 for z < 0). */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN
  const tail = 0.5 * gammaQ(0.5, (z * z) / 2)
  return z < 0 ? tail : 1 - tail
}

/** Φ⁻¹(p). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN
  if (p > 0.5) return -normalQuantile(1 - p)
  return bisect((z) => normalCdf(z), p, -40, 0)
}

/** Student t CDF with ν degrees of freedom (ν may be fractional, as Welch's is). */
export function studentTCdf(t: number, df: number): number {
  if (!Number.isFinite(df)) return normalCdf(t)
  const x = df / (df + t * t)
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5)
  return t < 0 ? tail : 1 - tail
}

/** The t quantile: studentTCdf(studentTQuantile(p, ν), ν) = p. */
export function studentTQuantile(p: number, df: number): number {
  if (!Number.isFinite(df)) return normalQuantile(p)
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN
  if (p > 0.5) return -studentTQuantile(1 - p, df)
  let lo = -1
  while (studentTCdf(lo, df) > p) lo *= 2
  return bisect((t) => studentTCdf(t, df), p, lo, 0)
}

/** The survival function of χ² with k degrees of freedom: P(X > x). */
export function chiSquareSurvival(x: number, k: number): number {
  return gammaQ(k / 2, x / 2)
}

/** The beta CDF. */
export function betaCdf(x: number, a: number, b: number): number {
  return incompleteBeta(x, a, b)
}

/** The beta quantile. */
export function betaQuantile(p: number, a: number, b: number): number {
  return bisect((x) => incompleteBeta(x, a, b), p, 0, 1)
}

/** x in [lo, hi] with f(x) = target for a non-decreasing f, to the last bit (or 200 halvings). */
function bisect(f: (x: number) => number, target: number, lo: number, hi: number): number {
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2
    if (mid === lo || mid === hi) break
    if (f(mid) < target) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}
