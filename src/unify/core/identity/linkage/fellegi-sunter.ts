/**
 * The Fellegi–Sunter model: per field and level, m = P(level | match) and u = P(level | non-match),
 * plus λ = P(match) among the compared pairs. Parameters are estimated by EM on the comparison
 * vectors (unsupervised), optionally with labelled pairs whose class is known (their posterior is
 * clamped to 0 or 1, which turns EM semi-supervised).
 *
 * EM runs on distinct comparison patterns with their counts, not on pairs: a million candidate
 * pairs usually collapse to a few thousand patterns, so each iteration is cheap.
 *
 * @module
 */

/** m and u per field; index = level (index 0 is the null level and is never used). */
export interface FsParameters {
  lambda: number
  m: Float64Array[]
  u: Float64Array[]
}

/** Distinct comparison vectors and how many pairs have each. */
export interface GammaPatterns {
  readonly fieldCount: number
  /** `count × fieldCount` levels. */
  readonly levels: Uint8Array
  readonly counts: Float64Array
  readonly count: number
}

const PROB_FLOOR = 1e-6

/** Collapses per-pair comparison vectors (`pairCount × fieldCount`) into distinct patterns. */
export function aggregatePatterns(
  gamma: Uint8Array,
  pairCount: number,
  levelCounts: readonly number[],
): GammaPatterns {
  const f = levelCounts.length
  const index = new Map<number, number>()
  const levels: number[] = []
  const counts: number[] = []
  for (let p = 0; p < pairCount; p++) {
    let key = 0
    const base = p * f
    for (let k = 0; k < f; k++) key = key * levelCounts[k]! + gamma[base + k]!
    let idx = index.get(key)
    if (idx === undefined) {
      idx = counts.length
      index.set(key, idx)
      counts.push(0)
      for (let k = 0; k < f; k++) levels.push(gamma[base + k]!)
    }
    counts[idx]!++
  }
  return {
    fieldCount: f,
    levels: Uint8Array.from(levels),
    counts: Float64Array.from(counts),
    count: counts.length,
  }
}

/**
 * Level frequencies of a sample of comparison vectors (e.g. random pairs, nearly all
 * non-matches): the classic estimate of u. A tiny pseudo-count keeps every level possible.
 */
export function levelFrequencies(
  gamma: Uint8Array,
  pairCount: number,
  levelCounts: readonly number[],
): Float64Array[] {
  const f = levelCounts.length
  const out = levelCounts.map((c) => new Float64Array(c))
  for (let p = 0; p < pairCount; p++) {
    for (let k = 0; k < f; k++) out[k]![gamma[p * f + k]!]!++
  }
  for (const counts of out) {
    counts[0] = 0
    let total = 0
    for (let l = 1; l < counts.length; l++) total += counts[l]! + 0.5
    for (let l = 1; l < counts.length; l++) counts[l] = (counts[l]! + 0.5) / total
  }
  return out
}

/** Starting m: most matches agree exactly, the rest spread over lower levels, halving. */
export function initialM(levelCount: number): Float64Array {
  const m = new Float64Array(levelCount)
  const rest = levelCount - 2
  m[1] = rest === 0 ? 0.95 : 0.8
  let share = 0
  for (let l = 2; l < levelCount; l++) share += 2 ** -(l - 2)
  for (let l = 2; l < levelCount; l++) m[l] = rest === 0 ? 0.05 : (0.2 * 2 ** -(l - 2)) / share
  if (rest === 0) m[levelCount - 1] = 0.05
  return m
}

/** Starting u when no sample is available: most non-matches fall in the last ("else") level. */
export function initialU(levelCount: number): Float64Array {
  const u = new Float64Array(levelCount)
  const lower = levelCount - 2
  for (let l = 1; l < levelCount - 1; l++) u[l] = 0.1 / lower
  u[levelCount - 1] = 0.9
  return u
}

export interface EmOptions {
  readonly maxIterations?: number
  readonly tolerance?: number
  /** Keep u at its initial value (e.g. estimated from random pairs) and fit only m and λ. */
  readonly fixU?: boolean
  /** Pairs of known class: `count × fieldCount` levels and `match[k]` 1 or 0. */
  readonly labelled?: { readonly levels: Uint8Array; readonly match: Uint8Array }
}

export interface EmResult {
  readonly params: FsParameters
  readonly iterations: number
  readonly converged: boolean
  readonly logLikelihood: number
}

function clampNormalise(v: Float64Array): void {
  let total = 0
  for (let l = 1; l < v.length; l++) {
    if (!(v[l]! > PROB_FLOOR)) v[l] = PROB_FLOOR
    total += v[l]!
  }
  for (let l = 1; l < v.length; l++) v[l] = v[l]! / total
}

/**
 * Caps m of the last ("else") level at `max`, giving the excess to the other levels in
 * proportion (to the first when they hold nothing). For identifier fields, applied to what EM
 * estimated: how often one person's two records disagree on an email is a fact about emails,
 * not something EM can read from candidates that identity resolution has already thinned of
 * every pair agreeing on one; left as EM has it, m ≈ u there and a different email weighs
 * nothing.
 */
export function boundMismatch(m: Float64Array, max: number): void {
  const last = m.length - 1
  if (last < 1 || !(m[last]! > max)) return
  const rest = 1 - m[last]!
  m[last] = max
  if (last === 1) return
  if (rest <= 0) {
    m[1] = 1 - max
    return
  }
  const scale = (1 - max) / rest
  for (let l = 1; l < last; l++) m[l] = m[l]! * scale
}

/** Applies `boundMismatch` to every field that has a bound. */
export function boundMismatches(params: FsParameters, max: readonly (number | null)[]): void {
  params.m.forEach((m, k) => {
    const b = max[k]
    if (b !== null && b !== undefined) boundMismatch(m, b)
  })
}

/** Estimates m, u and λ by expectation–maximisation from a starting point. */
export function expectationMaximisation(
  patterns: GammaPatterns,
  init: FsParameters,
  options: EmOptions = {},
): EmResult {
  const maxIterations = options.maxIterations ?? 100
  const tolerance = options.tolerance ?? 1e-6
  const f = patterns.fieldCount
  const params: FsParameters = {
    lambda: init.lambda,
    m: init.m.map((x) => Float64Array.from(x)),
    u: init.u.map((x) => Float64Array.from(x)),
  }
  params.m.forEach(clampNormalise)
  params.u.forEach(clampNormalise)
  const labelled = options.labelled
  const labelledCount = labelled ? labelled.match.length : 0
  const post = new Float64Array(patterns.count)
  let iterations = 0
  let converged = false
  let logLikelihood = Number.NEGATIVE_INFINITY
  const logM = params.m.map((x) => new Float64Array(x.length))
  const logU = params.u.map((x) => new Float64Array(x.length))
  while (iterations < maxIterations) {
    iterations++
    for (let k = 0; k < f; k++) {
      for (let l = 1; l < logM[k]!.length; l++) {
        logM[k]![l] = Math.log(params.m[k]![l]!)
        logU[k]![l] = Math.log(params.u[k]![l]!)
      }
    }
    // E-step.
    const logLambda = Math.log(params.lambda)
    const logNotLambda = Math.log(1 - params.lambda)
    let ll = 0
    for (let p = 0; p < patterns.count; p++) {
      let a = logLambda
      let b = logNotLambda
      const base = p * f
      for (let k = 0; k < f; k++) {
        const l = patterns.levels[base + k]!
        if (l === 0) continue
        a += logM[k]![l]!
        b += logU[k]![l]!
      }
      const mx = a > b ? a : b
      ll += patterns.counts[p]! * (mx + Math.log(Math.exp(a - mx) + Math.exp(b - mx)))
      post[p] = 1 / (1 + Math.exp(b - a))
    }
    // M-step.
    const mNew = params.m.map((x) => new Float64Array(x.length))
    const uNew = params.u.map((x) => new Float64Array(x.length))
    let matchMass = 0
    let total = 0
    const accumulate = (levels: Uint8Array, base: number, weight: number, g: number): void => {
      for (let k = 0; k < f; k++) {
        const l = levels[base + k]!
        if (l === 0) continue
        mNew[k]![l]! += weight * g
        uNew[k]![l]! += weight * (1 - g)
      }
    }
    for (let p = 0; p < patterns.count; p++) {
      const c = patterns.counts[p]!
      const g = post[p]!
      matchMass += c * g
      total += c
      accumulate(patterns.levels, p * f, c, g)
    }
    for (let q = 0; q < labelledCount; q++) {
      const g = labelled!.match[q]! ? 1 : 0
      matchMass += g
      total += 1
      accumulate(labelled!.levels, q * f, 1, g)
    }
    let delta = 0
    const lambdaNew = Math.min(1 - 1e-9, Math.max(1e-9, matchMass / Math.max(total, 1)))
    delta = Math.max(delta, Math.abs(lambdaNew - params.lambda))
    params.lambda = lambdaNew
    for (let k = 0; k < f; k++) {
      clampNormalise(mNew[k]!)
      for (let l = 1; l < mNew[k]!.length; l++) {
        delta = Math.max(delta, Math.abs(mNew[k]![l]! - params.m[k]![l]!))
      }
      params.m[k] = mNew[k]!
      if (!options.fixU) {
        clampNormalise(uNew[k]!)
        for (let l = 1; l < uNew[k]!.length; l++) {
          delta = Math.max(delta, Math.abs(uNew[k]![l]! - params.u[k]![l]!))
        }
        params.u[k] = uNew[k]!
      }
    }
    logLikelihood = ll
    if (delta < tolerance) {
      converged = true
      break
    }
  }
  return { params, iterations, converged, logLikelihood }
}

/** log2(m/u) per field and level; 0 for the null level. */
export function levelWeights(params: FsParameters): Float64Array[] {
  return params.m.map((m, k) => {
    const u = params.u[k]!
    const w = new Float64Array(m.length)
    for (let l = 1; l < m.length; l++) w[l] = Math.log2(m[l]! / u[l]!)
    return w
  })
}

/** Prior log2-odds of a match: log2(λ / (1 − λ)). */
export function priorWeight(lambda: number): number {
  return Math.log2(lambda / (1 - lambda))
}

/** Match probability from a match weight (log2 Bayes factor including the prior). */
export function probabilityFromWeight(weight: number): number {
  return 1 / (1 + 2 ** -weight)
}
