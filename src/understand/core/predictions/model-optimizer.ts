/**
 * @module predictions/model-optimizer
 * Maximum likelihood for the customer-value models: Nelder–Mead on the logarithms of the
 * (positive) parameters, so every trial point is admissible and the simplex moves on a scale
 * where a factor of two is the same step everywhere; restarted from its own optimum until a
 * restart no longer improves (a collapsed simplex is Nelder–Mead's known failure, and a restart
 * is the standard cure). An L2 penalizer on the parameters, `λ Σ θ²`, is added to the mean
 * negative log-likelihood as the `lifetimes` library does, so that λ means the same thing at any
 * data size. Standard errors come from a central-difference Hessian of the total negative
 * log-likelihood in the natural parameters, inverted.
 *
 * `deadline` is a callback (the caller owns the clock): when it answers true the search stops
 * and returns its best point so far with `converged: false`.
 */

export interface FitOptions {
  /** L2 penalty weight on the parameters (0 = plain maximum likelihood). */
  penalizer?: number
  /** Starting parameters (natural scale); 1 for each when absent. */
  initial?: readonly number[]
  /** Iteration budget per restart. */
  maxIterations?: number
  /** Asked between iterations; true stops the search early. */
  shouldStop?: () => boolean
}

export interface FitResult {
  params: number[]
  /** Standard errors of `params` (NaN when the Hessian is not positive definite). */
  standardErrors: number[]
  /** The total log-likelihood at `params` (without the penalty). */
  logLikelihood: number
  iterations: number
  converged: boolean
}

interface SimplexResult {
  x: number[]
  f: number
  iterations: number
  converged: boolean
}

/** Minimise `f` by Nelder–Mead from `x0` (standard coefficients 1, 2, ½, ½). */
export function nelderMead(
  f: (x: readonly number[]) => number,
  x0: readonly number[],
  opts: {
    maxIterations?: number
    tolerance?: number
    step?: number
    shouldStop?: () => boolean
  } = {},
): SimplexResult {
  const n = x0.length
  const maxIterations = opts.maxIterations ?? 4000
  const tol = opts.tolerance ?? 1e-12
  const step = opts.step ?? 0.5
  const safe = (x: readonly number[]): number => {
    const v = f(x)
    return Number.isFinite(v) ? v : Infinity
  }
  let simplex: { x: number[]; f: number }[] = [{ x: [...x0], f: safe(x0) }]
  for (let i = 0; i < n; i++) {
    const x = [...x0]
    x[i] = x[i]! + step
    simplex.push({ x, f: safe(x) })
  }
  let it = 0
  let converged = false
  for (; it < maxIterations; it++) {
    simplex.sort((p, q) => p.f - q.f)
    const best = simplex[0]!
    const worst = simplex[n]!
    const spreadF = Math.abs(worst.f - best.f)
    let spreadX = 0
    for (const p of simplex)
      for (let j = 0; j < n; j++) spreadX = Math.max(spreadX, Math.abs(p.x[j]! - best.x[j]!))
    if (spreadF <= tol * (Math.abs(best.f) + tol) && spreadX <= 1e-9) {
      converged = true
      break
    }
    if (opts.shouldStop?.()) break
    const centroid = new Array<number>(n).fill(0)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j]! += simplex[i]!.x[j]! / n
    const along = (t: number): number[] => centroid.map((c, j) => c + t * (worst.x[j]! - c))
    const xr = along(-1)
    const fr = safe(xr)
    const second = simplex[n - 1]!
    if (fr < best.f) {
      const xe = along(-2)
      const fe = safe(xe)
      simplex[n] = fe < fr ? { x: xe, f: fe } : { x: xr, f: fr }
    } else if (fr < second.f) {
      simplex[n] = { x: xr, f: fr }
    } else {
      const outside = fr < worst.f
      const xc = along(outside ? -0.5 : 0.5)
      const fc = safe(xc)
      if (fc < (outside ? fr : worst.f)) simplex[n] = { x: xc, f: fc }
      else {
        simplex = simplex.map((p, i) => {
          if (i === 0) return p
          const x = p.x.map((v, j) => best.x[j]! + 0.5 * (v - best.x[j]!))
          return { x, f: safe(x) }
        })
      }
    }
  }
  simplex.sort((p, q) => p.f - q.f)
  return { x: simplex[0]!.x, f: simplex[0]!.f, iterations: it, converged }
}

/**
 * Fit positive parameters by maximum likelihood. `logLikelihood(params)` answers the total
 * log-likelihood of the data; `weight` is the total weight (number of customers) it sums over.
 */
export function fitPositive(
  logLikelihood: (params: readonly number[]) => number,
  dims: number,
  weight: number,
  opts: FitOptions = {},
): FitResult {
  const penalizer = opts.penalizer ?? 0
  const objective = (logParams: readonly number[]): number => {
    const params = logParams.map(Math.exp)
    const ll = logLikelihood(params)
    if (!Number.isFinite(ll)) return Infinity
    return -ll / weight + penalizer * params.reduce((s, p) => s + p * p, 0)
  }
  let x = (opts.initial ?? new Array<number>(dims).fill(1)).map(Math.log)
  let f = Infinity
  let iterations = 0
  let converged = false
  for (let restart = 0; restart < 8; restart++) {
    const r = nelderMead(objective, x, {
      maxIterations: opts.maxIterations ?? 4000,
      step: restart === 0 ? 0.5 : 0.1,
      ...(opts.shouldStop ? { shouldStop: opts.shouldStop } : {}),
    })
    iterations += r.iterations
    const improved = f - r.f > 1e-12 * (Math.abs(f) + 1)
    x = r.x
    f = Math.min(f, r.f)
    converged = r.converged
    if (!r.converged || !improved) break
  }
  const params = x.map(Math.exp)
  return {
    params,
    standardErrors: standardErrors(logLikelihood, params),
    logLikelihood: logLikelihood(params),
    iterations,
    converged,
  }
}

/**
 * Standard errors from the observed information: the inverse of the Hessian of −LL at the
 * optimum, by central differences with a step relative to each parameter.
 */
export function standardErrors(
  logLikelihood: (params: readonly number[]) => number,
  params: readonly number[],
): number[] {
  const n = params.length
  const h = params.map((p) => 1e-4 * Math.max(Math.abs(p), 1e-3))
  const at = (d: Record<number, number>): number => {
    const x = params.map((p, i) => p + (d[i] ?? 0))
    return -logLikelihood(x)
  }
  const f0 = at({})
  const hess: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0))
  for (let i = 0; i < n; i++) {
    const hi = h[i]!
    hess[i]![i] = (at({ [i]: hi }) - 2 * f0 + at({ [i]: -hi })) / (hi * hi)
    for (let j = 0; j < i; j++) {
      const hj = h[j]!
      const v =
        (at({ [i]: hi, [j]: hj }) -
          at({ [i]: hi, [j]: -hj }) -
          at({ [i]: -hi, [j]: hj }) +
          at({ [i]: -hi, [j]: -hj })) /
        (4 * hi * hj)
      hess[i]![j] = v
      hess[j]![i] = v
    }
  }
  const inv = invert(hess)
  return params.map((_, i) => {
    const v = inv?.[i]?.[i]
    return v !== undefined && v > 0 ? Math.sqrt(v) : NaN
  })
}

/** Gauss–Jordan inverse with partial pivoting; undefined when singular. */
export function invert(m: readonly (readonly number[])[]): number[][] | undefined {
  const n = m.length
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))])
  for (let col = 0; col < n; col++) {
    let pivot = col
    for (let r = col + 1; r < n; r++)
      if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r
    if (!(Math.abs(a[pivot]![col]!) > 1e-300)) return undefined
    ;[a[col], a[pivot]] = [a[pivot]!, a[col]!]
    const row = a[col]!
    const p = row[col]!
    for (let j = 0; j < 2 * n; j++) row[j] = row[j]! / p
    for (let r = 0; r < n; r++) {
      if (r === col) continue
      const other = a[r]!
      const factor = other[col]!
      if (factor === 0) continue
      for (let j = 0; j < 2 * n; j++) other[j] = other[j]! - factor * row[j]!
    }
  }
  return a.map((row) => row.slice(n))
}
