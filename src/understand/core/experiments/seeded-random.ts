/**
 * @module experiments/seeded-random
 * Randomness handed in: a seeded uniform source (mulberry32) and the draws the bandit and the
 * bootstrap need from it (normal by Box–Muller, gamma by Marsaglia and Tsang 2000, beta from two
 * gammas). Nothing here reads Math.random, so results are reproducible from a seed.
 */

export type Random = () => number

/** A deterministic uniform source in [0, 1). */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function normalDraw(random: Random): number {
  let u = random()
  while (u === 0) u = random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
}

/** A Gamma(shape, 1) draw. */
export function gammaDraw(shape: number, random: Random): number {
  if (shape < 1) {
    let u = random()
    while (u === 0) u = random()
    return gammaDraw(shape + 1, random) * Math.pow(u, 1 / shape)
  }
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    let x: number
    let v: number
    do {
      x = normalDraw(random)
      v = 1 + c * x
    } while (v <= 0)
    v = v * v * v
    const u = random()
    if (u < 1 - 0.0331 * x ** 4) return d * v
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
  }
}

export function betaDraw(a: number, b: number, random: Random): number {
  const x = gammaDraw(a, random)
  const y = gammaDraw(b, random)
  return x / (x + y)
}
