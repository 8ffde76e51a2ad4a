/**
 * @module experiments/multiple-comparisons
 * Adjusted p-values for many metrics (or arms) read at once, in the input order: Holm's step-down
 * (Holm 1979, controls the family-wise error) and Benjamini–Hochberg's step-up (Benjamini and
 * Hochberg 1995, controls the false discovery rate). Same definitions as R's `p.adjust`.
 */

function order(p: readonly number[]): number[] {
  return p.map((_, i) => i).sort((a, b) => p[a]! - p[b]! || a - b)
}

/** Holm-adjusted p-values: max over j ≤ i of (m − j + 1)·p₍ⱼ₎, capped at 1. */
export function holmAdjust(p: readonly number[]): number[] {
  const m = p.length
  const idx = order(p)
  const out = new Array<number>(m)
  let running = 0
  idx.forEach((k, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p[k]!))
    out[k] = running
  })
  return out
}

/** Benjamini–Hochberg-adjusted p-values: min over j ≥ i of m·p₍ⱼ₎ / j, capped at 1. */
export function benjaminiHochbergAdjust(p: readonly number[]): number[] {
  const m = p.length
  const idx = order(p)
  const out = new Array<number>(m)
  let running = 1
  for (let rank = m - 1; rank >= 0; rank--) {
    const k = idx[rank]!
    running = Math.min(running, (m * p[k]!) / (rank + 1))
    out[k] = Math.min(1, running)
  }
  return out
}
