import { describe, expect, it } from 'vitest'
import { clusterPairs } from './clustering.js'

const pairs = (list: [number, number, number][]) => ({
  left: Uint32Array.from(list.map((p) => p[0])),
  right: Uint32Array.from(list.map((p) => p[1])),
  probability: Float64Array.from(list.map((p) => p[2])),
  count: list.length,
})

describe('clusterPairs', () => {
  it('forms connected components of the pairs above the threshold', () => {
    const p = pairs([
      [0, 1, 0.99],
      [1, 2, 0.95],
      [3, 4, 0.5],
      [5, 4, 0.97],
    ])
    const c = clusterPairs(6, p.left, p.right, p.probability, p.count, 0.9)
    expect([...c]).toEqual([0, 0, 0, 3, 4, 4])
  })

  it('guards against chaining with a minimum link density', () => {
    // A–B and B–C are strong, A–C was never linked: density of merging {A,B} with C is 1/2.
    const p = pairs([
      [0, 1, 0.99],
      [1, 2, 0.95],
    ])
    const loose = clusterPairs(3, p.left, p.right, p.probability, p.count, 0.9)
    expect(new Set(loose).size).toBe(1)
    const guarded = clusterPairs(3, p.left, p.right, p.probability, p.count, 0.9, {
      minLinkDensity: 0.6,
    })
    expect([...guarded]).toEqual([0, 0, 2])
    const triangle = pairs([
      [0, 1, 0.99],
      [1, 2, 0.95],
      [0, 2, 0.92],
    ])
    const closed = clusterPairs(3, triangle.left, triangle.right, triangle.probability, 3, 0.9, {
      minLinkDensity: 0.6,
    })
    expect(new Set(closed).size).toBe(1)
  })

  it('caps cluster size, keeping the most probable links', () => {
    const p = pairs([
      [0, 1, 0.91],
      [1, 2, 0.99],
      [2, 3, 0.98],
    ])
    const c = clusterPairs(4, p.left, p.right, p.probability, p.count, 0.9, { maxClusterSize: 3 })
    expect([...c]).toEqual([0, 1, 1, 1])
  })
})
