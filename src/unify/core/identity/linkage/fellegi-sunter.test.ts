import { describe, expect, it } from 'vitest'
import { seededRandom } from './engine.js'
import {
  aggregatePatterns,
  boundMismatch,
  expectationMaximisation,
  initialM,
  initialU,
  levelFrequencies,
  levelWeights,
  priorWeight,
  probabilityFromWeight,
  type FsParameters,
} from './fellegi-sunter.js'

/** Known parameters: 4 fields; index 0 is the null level (never drawn from m/u). */
const TRUTH: FsParameters = {
  lambda: 0.2,
  m: [
    Float64Array.from([0, 0.85, 0.1, 0.05]),
    Float64Array.from([0, 0.7, 0.2, 0.1]),
    Float64Array.from([0, 0.9, 0.1]),
    Float64Array.from([0, 0.6, 0.25, 0.1, 0.05]),
  ],
  u: [
    Float64Array.from([0, 0.05, 0.1, 0.85]),
    Float64Array.from([0, 0.02, 0.08, 0.9]),
    Float64Array.from([0, 0.3, 0.7]),
    Float64Array.from([0, 0.01, 0.04, 0.15, 0.8]),
  ],
}
const LEVEL_COUNTS = TRUTH.m.map((m) => m.length)

function draw(dist: Float64Array, r: number): number {
  let acc = 0
  for (let l = 1; l < dist.length; l++) {
    acc += dist[l]!
    if (r < acc) return l
  }
  return dist.length - 1
}

/** Comparison vectors drawn from TRUTH, with 5% of values missing (level 0). */
function synthetic(n: number, seed: number): { gamma: Uint8Array; match: Uint8Array } {
  const random = seededRandom(seed)
  const f = LEVEL_COUNTS.length
  const gamma = new Uint8Array(n * f)
  const match = new Uint8Array(n)
  for (let p = 0; p < n; p++) {
    const isMatch = random() < TRUTH.lambda
    match[p] = isMatch ? 1 : 0
    for (let k = 0; k < f; k++) {
      const dist = isMatch ? TRUTH.m[k]! : TRUTH.u[k]!
      const level = draw(dist, random())
      gamma[p * f + k] = random() < 0.05 ? 0 : level
    }
  }
  return { gamma, match }
}

function expectClose(actual: FsParameters, tolerance: number): void {
  expect(actual.lambda).toBeCloseTo(TRUTH.lambda, 1)
  expect(Math.abs(actual.lambda - TRUTH.lambda)).toBeLessThan(tolerance)
  TRUTH.m.forEach((m, k) => {
    for (let l = 1; l < m.length; l++) {
      expect(Math.abs(actual.m[k]![l]! - m[l]!)).toBeLessThan(tolerance)
      expect(Math.abs(actual.u[k]![l]! - TRUTH.u[k]![l]!)).toBeLessThan(tolerance)
    }
  })
}

const defaultStart = (): FsParameters => ({
  lambda: 0.1,
  m: LEVEL_COUNTS.map(initialM),
  u: LEVEL_COUNTS.map(initialU),
})

describe('aggregatePatterns', () => {
  it('collapses equal vectors and keeps the total count', () => {
    const gamma = Uint8Array.from([1, 2, 1, 2, 3, 1, 1, 2])
    const p = aggregatePatterns(gamma, 4, [4, 4])
    expect(p.count).toBe(2)
    expect([...p.counts]).toEqual([3, 1])
    expect([...p.levels]).toEqual([1, 2, 3, 1])
  })
})

describe('expectationMaximisation', () => {
  it('recovers known m, u and λ from unlabelled synthetic comparisons', () => {
    const { gamma } = synthetic(20_000, 7)
    const patterns = aggregatePatterns(gamma, 20_000, LEVEL_COUNTS)
    const result = expectationMaximisation(patterns, defaultStart(), { maxIterations: 500 })
    expect(result.converged).toBe(true)
    expectClose(result.params, 0.03)
  })

  it('keeps u fixed when asked, fitting m and λ only', () => {
    const { gamma } = synthetic(20_000, 11)
    const patterns = aggregatePatterns(gamma, 20_000, LEVEL_COUNTS)
    const start = { ...defaultStart(), u: TRUTH.u.map((u) => Float64Array.from(u)) }
    const result = expectationMaximisation(patterns, start, { fixU: true, maxIterations: 500 })
    expect([...result.params.u[1]!]).toEqual([...TRUTH.u[1]!])
    expectClose(result.params, 0.03)
  })

  it('uses labelled pairs (semi-supervised) and still recovers the parameters', () => {
    const { gamma, match } = synthetic(12_000, 3)
    const f = LEVEL_COUNTS.length
    const labelledN = 2_000
    const patterns = aggregatePatterns(gamma.subarray(labelledN * f), 10_000, LEVEL_COUNTS)
    const result = expectationMaximisation(patterns, defaultStart(), {
      maxIterations: 500,
      labelled: { levels: gamma.subarray(0, labelledN * f), match: match.subarray(0, labelledN) },
    })
    expectClose(result.params, 0.035)
  })

  it('estimates u from random pairs by level frequencies', () => {
    const random = seededRandom(5)
    const n = 50_000
    const gamma = new Uint8Array(n * LEVEL_COUNTS.length)
    for (let p = 0; p < n; p++) {
      LEVEL_COUNTS.forEach((_, k) => {
        gamma[p * LEVEL_COUNTS.length + k] = draw(TRUTH.u[k]!, random())
      })
    }
    const u = levelFrequencies(gamma, n, LEVEL_COUNTS)
    TRUTH.u.forEach((t, k) => {
      for (let l = 1; l < t.length; l++) expect(Math.abs(u[k]![l]! - t[l]!)).toBeLessThan(0.01)
    })
  })
})

describe('boundMismatch', () => {
  it('caps m of the last level and gives the excess to the others in proportion', () => {
    const m = Float64Array.from([0, 0.3, 0.1, 0.6])
    boundMismatch(m, 0.05)
    expect(m[3]).toBe(0.05)
    expect(m[1]! / m[2]!).toBeCloseTo(3)
    expect(m[1]! + m[2]! + m[3]!).toBeCloseTo(1)
    const under = Float64Array.from([0, 0.97, 0.03])
    boundMismatch(under, 0.05)
    expect([...under]).toEqual([0, 0.97, 0.03])
    // Nothing but "else": the excess goes to the first level.
    const all = Float64Array.from([0, 0, 1])
    boundMismatch(all, 0.1)
    expect(all[1]).toBeCloseTo(0.9)
  })
})

describe('weights', () => {
  it('are log2(m/u) per level and map to probabilities through the prior', () => {
    const w = levelWeights(TRUTH)
    expect(w[0]![1]).toBeCloseTo(Math.log2(0.85 / 0.05))
    expect(w[0]![0]).toBe(0)
    expect(priorWeight(0.5)).toBe(0)
    expect(probabilityFromWeight(0)).toBe(0.5)
    expect(probabilityFromWeight(10)).toBeCloseTo(1024 / 1025)
  })
})
