/**
 * Clustering of scored pairs into entities: connected components of the graph whose edges are
 * the pairs at or above the threshold (union–find, near-linear).
 *
 * Connected components chain: A–B and B–C link A and C even when A and C look nothing alike.
 * The optional guard processes edges from the most to the least probable and refuses a merge
 * that would make a cluster larger than `maxClusterSize`, or whose two sides are linked by too
 * few of their possible pairs (`minLinkDensity`: above-threshold edges between the two clusters
 * divided by |A|·|B|).
 *
 * @module
 */

export interface ClusterGuard {
  readonly maxClusterSize?: number
  readonly minLinkDensity?: number
}

/**
 * Cluster label per record: the smallest record index of its cluster.
 * @param n number of records
 * @param left pair left indexes
 * @param right pair right indexes
 * @param probability per pair
 */
export function clusterPairs(
  n: number,
  left: Uint32Array,
  right: Uint32Array,
  probability: Float64Array,
  pairCount: number,
  threshold: number,
  guard: ClusterGuard = {},
): Int32Array {
  const parent = new Int32Array(n)
  const size = new Int32Array(n).fill(1)
  for (let i = 0; i < n; i++) parent[i] = i
  const find = (x: number): number => {
    while (parent[x] !== x) {
      const p = parent[parent[x]!]!
      parent[x] = p
      x = p
    }
    return x
  }
  const edges: number[] = []
  for (let k = 0; k < pairCount; k++) if (probability[k]! >= threshold) edges.push(k)
  const guarded = guard.maxClusterSize !== undefined || guard.minLinkDensity !== undefined
  if (!guarded) {
    for (const k of edges) union(find(left[k]!), find(right[k]!))
  } else {
    edges.sort((a, b) => probability[b]! - probability[a]!)
    // Adjacency of the above-threshold graph, to count edges between two clusters.
    const adjacency = new Map<number, number[]>()
    const link = (a: number, b: number): void => {
      let list = adjacency.get(a)
      if (!list) adjacency.set(a, (list = []))
      list.push(b)
    }
    for (const k of edges) {
      link(left[k]!, right[k]!)
      link(right[k]!, left[k]!)
    }
    const members = new Map<number, number[]>()
    const membersOf = (root: number): number[] => members.get(root) ?? [root]
    for (const k of edges) {
      const ra = find(left[k]!)
      const rb = find(right[k]!)
      if (ra === rb) continue
      const sa = size[ra]!
      const sb = size[rb]!
      if (guard.maxClusterSize !== undefined && sa + sb > guard.maxClusterSize) continue
      if (guard.minLinkDensity !== undefined && sa * sb > 1) {
        const small = sa <= sb ? ra : rb
        const other = small === ra ? rb : ra
        let cross = 0
        for (const x of membersOf(small)) {
          for (const y of adjacency.get(x) ?? []) if (find(y) === other) cross++
        }
        if (cross / (sa * sb) < guard.minLinkDensity) continue
      }
      const merged = [...membersOf(ra), ...membersOf(rb)]
      const root = union(ra, rb)
      members.delete(ra)
      members.delete(rb)
      members.set(root, merged)
    }
  }
  const label = new Int32Array(n).fill(-1)
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const r = find(i)
    if (label[r] === -1) label[r] = i
    out[i] = label[r]!
  }
  return out

  function union(ra: number, rb: number): number {
    if (ra === rb) return ra
    if (size[ra]! < size[rb]!) {
      const t = ra
      ra = rb
      rb = t
    }
    parent[rb] = ra
    size[ra]! += size[rb]!
    return ra
  }
}
