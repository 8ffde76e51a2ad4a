/**
 * @module attribution/shapley-model
 * Shapley-value attribution (Shapley 1953; for advertising, Zhao, Mahboobi and Bagheri 2018,
 * "Shapley Value Methods for Attribution Modeling in Online Advertising"): the worth of a set S
 * of channels is v(S) = Σ_{T ⊆ S} R(T), the conversions (or revenue) of paths whose distinct
 * channels are exactly T. Exact up to `EXACT_LIMIT` channels, by enumerating every coalition
 * (2ⁿ subsets, a subset-sum transform for v); above, by averaging marginal contributions over
 * random permutations (Castro, Gómez and Tejada 2009), seeded, with the standard error of each
 * estimate reported. With this v the exact value is also each path's total split evenly over its
 * distinct channels; the tests hold the enumeration to that.
 */

import {
  keyOf,
  type AttributionKey,
  type ConversionPath,
  type Credits,
} from './attribution-paths.js'
import { NO_TOUCH } from './heuristic-models.js'

export const EXACT_LIMIT = 12

export interface ShapleyOptions {
  readonly key?: AttributionKey
  /** Permutations drawn above the exact limit (default 2,000). */
  readonly permutations?: number
  /** Uniform source in [0, 1), used only above the exact limit. */
  readonly random?: () => number
}

export interface ShapleyResult {
  readonly credits: Credits
  readonly method: 'exact' | 'sampled'
  /** Per key, the standard error of its conversion credit (0 when exact). */
  readonly standardErrors: Map<string, number>
}

/** Exact Shapley values of a game on n ≤ EXACT_LIMIT players given v over bitmasks. */
export function exactShapley(n: number, v: Float64Array): number[] {
  const fact = [1]
  for (let i = 1; i <= n; i++) fact.push(fact[i - 1]! * i)
  const phi = new Array<number>(n).fill(0)
  const full = 1 << n
  for (let s = 0; s < full; s++) {
    const size = popcount(s)
    const w = (fact[size]! * fact[n - size - 1 < 0 ? 0 : n - size - 1]!) / fact[n]!
    for (let i = 0; i < n; i++) {
      const bit = 1 << i
      if (s & bit) continue
      phi[i]! += w * (v[s | bit]! - v[s]!)
    }
  }
  return phi
}

function popcount(x: number): number {
  let c = 0
  while (x) {
    x &= x - 1
    c++
  }
  return c
}

/** Shapley credits for conversions and revenue. */
export function shapleyCredits(
  paths: readonly ConversionPath[],
  options: ShapleyOptions = {},
): ShapleyResult {
  const key = options.key ?? 'channel'
  const credits: Credits = new Map()
  // Group converting paths by their set of distinct channels.
  const sets = new Map<string, { members: string[]; conversions: number; revenue: number }>()
  for (const path of paths) {
    if (!path.converted) continue
    if (path.touchpoints.length === 0) {
      const c = credits.get(NO_TOUCH) ?? { conversions: 0, revenue: 0 }
      c.conversions += 1
      c.revenue += path.revenue
      credits.set(NO_TOUCH, c)
      continue
    }
    const members = [...new Set(path.touchpoints.map((t) => keyOf(t, key)))].sort()
    const id = members.join('\u0001')
    const g = sets.get(id) ?? { members, conversions: 0, revenue: 0 }
    g.conversions += 1
    g.revenue += path.revenue
    sets.set(id, g)
  }
  const players = [...new Set([...sets.values()].flatMap((g) => g.members))].sort()
  const index = new Map(players.map((p, i) => [p, i]))
  const n = players.length
  const standardErrors = new Map<string, number>(players.map((p) => [p, 0]))
  if (n <= EXACT_LIMIT) {
    const size = 1 << n
    const conv = new Float64Array(size)
    const rev = new Float64Array(size)
    for (const g of sets.values()) {
      let mask = 0
      for (const m of g.members) mask |= 1 << index.get(m)!
      conv[mask]! += g.conversions
      rev[mask]! += g.revenue
    }
    // Subset-sum (zeta) transform: v(S) = Σ_{T ⊆ S} R(T).
    for (let i = 0; i < n; i++) {
      for (let s = 0; s < size; s++) {
        if (s & (1 << i)) {
          conv[s]! += conv[s ^ (1 << i)]!
          rev[s]! += rev[s ^ (1 << i)]!
        }
      }
    }
    const pc = exactShapley(n, conv)
    const pr = exactShapley(n, rev)
    players.forEach((p, i) => credits.set(p, { conversions: pc[i]!, revenue: pr[i]! }))
    return { credits, method: 'exact', standardErrors }
  }
  if (!options.random)
    throw new RangeError(`more than ${EXACT_LIMIT} channels: sampling needs a seeded random source`)
  const random = options.random
  const m = options.permutations ?? 2000
  const groups = [...sets.values()].map((g) => ({ ...g, idx: g.members.map((x) => index.get(x)!) }))
  const sum = new Float64Array(n)
  const sumSq = new Float64Array(n)
  const sumRev = new Float64Array(n)
  const position = new Int32Array(n)
  const order = players.map((_, i) => i)
  const marginal = new Float64Array(n)
  const marginalRev = new Float64Array(n)
  for (let k = 0; k < m; k++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    order.forEach((p, pos) => (position[p] = pos))
    marginal.fill(0)
    marginalRev.fill(0)
    // In a permutation, a set's worth arrives with whichever of its members comes last.
    for (const g of groups) {
      let last = g.idx[0]!
      for (const p of g.idx) if (position[p]! > position[last]!) last = p
      marginal[last]! += g.conversions
      marginalRev[last]! += g.revenue
    }
    for (let i = 0; i < n; i++) {
      sum[i]! += marginal[i]!
      sumSq[i]! += marginal[i]! * marginal[i]!
      sumRev[i]! += marginalRev[i]!
    }
  }
  players.forEach((p, i) => {
    const mean = sum[i]! / m
    const variance = Math.max(0, sumSq[i]! / m - mean * mean) * (m / Math.max(1, m - 1))
    credits.set(p, { conversions: mean, revenue: sumRev[i]! / m })
    standardErrors.set(p, Math.sqrt(variance / m))
  })
  return { credits, method: 'sampled', standardErrors }
}
