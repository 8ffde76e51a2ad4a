/**
 * @module attribution/markov-model
 * Markov-chain attribution (Anderl, Becker, von Wangenheim and Schumann 2016, "Mapping the
 * customer journey: Lessons learned from graph-based online attribution modeling"). States of
 * order k are the last k touches; every path starts at START and ends in CONVERSION or NULL.
 * A channel's removal effect is 1 − P(conversion | channel removed) / P(conversion), with the
 * removed channel's states sent to NULL. The probabilities are absorption probabilities of the
 * chain, found by solving (I − Q)p = r: exactly (Gaussian elimination with partial pivoting) for
 * chains up to `DENSE_LIMIT` states, by Gauss–Seidel to 1e-14 above (each row's coefficients
 * sum to less than one on an absorbing chain, so it converges), never by simulating journeys: the
 * same paths always give the same credits. Conversions whose window holds no touch are credited
 * to "(no touch)" outside the chain.
 */

import {
  addCredit,
  keyOf,
  type AttributionKey,
  type ConversionPath,
  type Credits,
} from './attribution-paths.js'
import { NO_TOUCH } from './heuristic-models.js'

export const DENSE_LIMIT = 400
const SEP = '\u0001'

export interface MarkovOptions {
  /** 1 to 4 (default 1). */
  readonly order?: number
  readonly key?: AttributionKey
}

export interface Chain {
  /** Transient states: index 0 is START. */
  readonly states: string[]
  /** The key a state ends with (START has none). */
  readonly lastKey: (string | null)[]
  /** Per state: transitions to transient states (index → probability). */
  readonly next: Map<number, number>[]
  /** Per state: probability of going straight to CONVERSION. */
  readonly toConversion: number[]
}

export interface MarkovResult {
  readonly credits: Credits
  readonly removalEffects: Map<string, number>
  /** P(conversion) from START in the full chain. */
  readonly conversionProbability: number
  readonly states: number
}

/** The transition matrix of order `order` estimated from every path, converted or not. */
export function buildChain(
  paths: readonly ConversionPath[],
  order: number,
  key: AttributionKey,
): Chain {
  const index = new Map<string, number>([['(start)', 0]])
  const states = ['(start)']
  const lastKey: (string | null)[] = [null]
  const counts: Map<number, number>[] = [new Map()]
  const conv: number[] = [0]
  const nul: number[] = [0]
  const stateOf = (history: string[]): number => {
    const name = history.join(SEP)
    let i = index.get(name)
    if (i === undefined) {
      i = states.length
      index.set(name, i)
      states.push(name)
      lastKey.push(history[history.length - 1]!)
      counts.push(new Map())
      conv.push(0)
      nul.push(0)
    }
    return i
  }
  for (const path of paths) {
    if (path.touchpoints.length === 0) continue
    const keys = path.touchpoints.map((t) => keyOf(t, key))
    let from = 0
    for (let i = 0; i < keys.length; i++) {
      const to = stateOf(keys.slice(Math.max(0, i + 1 - order), i + 1))
      counts[from]!.set(to, (counts[from]!.get(to) ?? 0) + 1)
      from = to
    }
    if (path.converted) conv[from]! += 1
    else nul[from]! += 1
  }
  const next = counts.map((row, s) => {
    let total = conv[s]! + nul[s]!
    for (const c of row.values()) total += c
    const out = new Map<number, number>()
    for (const [t, c] of row) out.set(t, c / total)
    return out
  })
  const toConversion = conv.map((c, s) => {
    let total = c + nul[s]!
    for (const x of counts[s]!.values()) total += x
    return total === 0 ? 0 : c / total
  })
  return { states, lastKey, next, toConversion }
}

/** P(absorbed in CONVERSION) from each state, with the states in `removed` forced to 0. */
export function absorptionProbabilities(
  chain: Chain,
  removed: (s: number) => boolean = () => false,
  method: 'auto' | 'dense' | 'iterative' = 'auto',
): number[] {
  const dense = method === 'dense' || (method === 'auto' && chain.states.length <= DENSE_LIMIT)
  return dense ? solveDense(chain, removed) : solveIterative(chain, removed)
}

function solveDense(chain: Chain, removed: (s: number) => boolean): number[] {
  const n = chain.states.length
  // Row s: p_s − Σ_t Q[s][t]·p_t = r_s, or p_s = 0 for a removed state.
  const a: Float64Array[] = []
  const b = new Float64Array(n)
  for (let s = 0; s < n; s++) {
    const row = new Float64Array(n)
    row[s] = 1
    if (!removed(s)) {
      for (const [t, q] of chain.next[s]!) row[t]! -= q
      b[s] = chain.toConversion[s]!
    }
    a.push(row)
  }
  for (let col = 0; col < n; col++) {
    let pivot = col
    for (let r = col + 1; r < n; r++)
      if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r
    if (pivot !== col) {
      ;[a[col], a[pivot]] = [a[pivot]!, a[col]!]
      ;[b[col], b[pivot]] = [b[pivot]!, b[col]!]
    }
    const prow = a[col]!
    const p = prow[col]!
    for (let r = col + 1; r < n; r++) {
      const row = a[r]!
      const f = row[col]! / p
      if (f === 0) continue
      for (let c = col; c < n; c++) row[c]! -= f * prow[c]!
      b[r]! -= f * b[col]!
    }
  }
  const x = new Array<number>(n).fill(0)
  for (let r = n - 1; r >= 0; r--) {
    const row = a[r]!
    let s = b[r]!
    for (let c = r + 1; c < n; c++) s -= row[c]! * x[c]!
    x[r] = s / row[r]!
  }
  return x
}

function solveIterative(chain: Chain, removed: (s: number) => boolean): number[] {
  const n = chain.states.length
  const x = new Array<number>(n).fill(0)
  const rows = chain.next.map((row) => [...row])
  for (let iter = 0; iter < 100_000; iter++) {
    let change = 0
    for (let s = n - 1; s >= 0; s--) {
      if (removed(s)) continue
      let v = chain.toConversion[s]!
      for (const [t, q] of rows[s]!) v += q * x[t]!
      change = Math.max(change, Math.abs(v - x[s]!))
      x[s] = v
    }
    if (change < 1e-14) break
  }
  return x
}

/** Markov attribution of order 1–4: removal effects, and credits in proportion to them. */
export function markovCredits(
  paths: readonly ConversionPath[],
  options: MarkovOptions = {},
): MarkovResult {
  const order = options.order ?? 1
  if (!Number.isInteger(order) || order < 1 || order > 4)
    throw new RangeError('Markov order is 1 to 4')
  const key = options.key ?? 'channel'
  const chain = buildChain(paths, order, key)
  const base = absorptionProbabilities(chain)[0]!
  const channels = [...new Set(chain.lastKey.filter((k): k is string => k !== null))].sort()
  const removalEffects = new Map<string, number>()
  for (const c of channels) {
    const without = absorptionProbabilities(chain, (s) => chain.lastKey[s] === c)[0]!
    removalEffects.set(c, base > 0 ? Math.max(0, 1 - without / base) : 0)
  }
  const totalEffect = [...removalEffects.values()].reduce((s, x) => s + x, 0)
  const credits: Credits = new Map()
  // The chain's credit is global: touched conversions (and their revenue) are shared out by
  // removal effect, so only their totals matter.
  let touched = 0
  let touchedRevenue = 0
  for (const path of paths) {
    if (!path.converted) continue
    if (path.touchpoints.length === 0) addCredit(credits, NO_TOUCH, 1, path)
    else {
      touched += 1
      touchedRevenue += path.revenue
    }
  }
  for (const [c, e] of removalEffects) {
    if (e <= 0 || totalEffect === 0) continue
    const share = e / totalEffect
    credits.set(c, { conversions: touched * share, revenue: touchedRevenue * share })
  }
  return { credits, removalEffects, conversionProbability: base, states: chain.states.length }
}
