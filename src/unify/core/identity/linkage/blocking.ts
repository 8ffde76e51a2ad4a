/**
 * Candidate pair generation from blocking keys, several rules unioned.
 *
 * Each rule gives every record a key id (−1 = no key). A pair is a candidate when both records
 * share a key id under at least one rule. Rules are processed in order and a pair found by rule
 * r is emitted only if no earlier rule already covers it (its key ids differ under every earlier
 * rule): the union is exact, has no duplicates, and needs no set of seen pairs, so memory stays
 * linear in the number of candidate pairs. Records are grouped with a counting sort on the key
 * ids, so the cost is the number of pairs inside blocks, never n².
 *
 * @module
 */

/** Candidate pairs as two parallel index arrays (`left[k]`, `right[k]`), `count` used. */
export interface CandidatePairs {
  readonly left: Uint32Array
  readonly right: Uint32Array
  readonly count: number
  /** New pairs contributed by each rule (after removing those of earlier rules). */
  readonly perRule: readonly number[]
  /** Blocks skipped because they exceeded `maxBlockSize`. */
  readonly skippedBlocks: number
}

class PairBuffer {
  left = new Uint32Array(1024)
  right = new Uint32Array(1024)
  count = 0
  push(a: number, b: number): void {
    if (this.count === this.left.length) {
      const l = new Uint32Array(this.left.length * 2)
      l.set(this.left)
      this.left = l
      const r = new Uint32Array(this.right.length * 2)
      r.set(this.right)
      this.right = r
    }
    this.left[this.count] = a
    this.right[this.count] = b
    this.count++
  }
}

/** Groups record indexes by key id (counting sort). `start[k]..start[k+1]` index into `order`. */
function groupByKey(keys: Int32Array): { start: Int32Array; order: Int32Array } {
  let maxKey = -1
  for (let i = 0; i < keys.length; i++) if (keys[i]! > maxKey) maxKey = keys[i]!
  const start = new Int32Array(maxKey + 2)
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (k >= 0) start[k + 1]!++
  }
  for (let k = 0; k <= maxKey; k++) start[k + 1]! += start[k]!
  const fill = start.slice(0, maxKey + 1)
  const order = new Int32Array(start[maxKey + 1] ?? 0)
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!
    if (k >= 0) order[fill[k]!++] = i
  }
  return { start, order }
}

function coveredEarlier(
  rules: readonly Int32Array[],
  rightRules: readonly Int32Array[],
  r: number,
  i: number,
  j: number,
): boolean {
  for (let s = 0; s < r; s++) {
    const ki = rules[s]![i]!
    if (ki >= 0 && ki === rightRules[s]![j]) return true
  }
  return false
}

/**
 * Candidate pairs within one dataset: `left[k] < right[k]` are record indexes.
 * @param ruleKeys one key-id array per rule, all of the dataset's length
 */
export function dedupeCandidatePairs(
  ruleKeys: readonly Int32Array[],
  maxBlockSize = Number.POSITIVE_INFINITY,
): CandidatePairs {
  const out = new PairBuffer()
  const perRule: number[] = []
  let skippedBlocks = 0
  for (let r = 0; r < ruleKeys.length; r++) {
    const before = out.count
    const { start, order } = groupByKey(ruleKeys[r]!)
    for (let k = 0; k + 1 < start.length; k++) {
      const lo = start[k]!
      const hi = start[k + 1]!
      if (hi - lo < 2) continue
      if (hi - lo > maxBlockSize) {
        skippedBlocks++
        continue
      }
      for (let a = lo; a < hi; a++) {
        const i = order[a]!
        for (let b = a + 1; b < hi; b++) {
          const j = order[b]!
          if (r > 0 && coveredEarlier(ruleKeys, ruleKeys, r, i, j)) continue
          if (i < j) out.push(i, j)
          else out.push(j, i)
        }
      }
    }
    perRule.push(out.count - before)
  }
  return { left: out.left, right: out.right, count: out.count, perRule, skippedBlocks }
}

/**
 * Candidate pairs between two datasets: `left[k]` indexes the left side, `right[k]` the right.
 * Key ids must come from one dictionary shared by both sides.
 */
export function linkCandidatePairs(
  leftKeys: readonly Int32Array[],
  rightKeys: readonly Int32Array[],
  maxBlockSize = Number.POSITIVE_INFINITY,
): CandidatePairs {
  if (leftKeys.length !== rightKeys.length) {
    throw new Error('linkCandidatePairs: both sides need the same blocking rules')
  }
  const out = new PairBuffer()
  const perRule: number[] = []
  let skippedBlocks = 0
  for (let r = 0; r < leftKeys.length; r++) {
    const before = out.count
    const lk = leftKeys[r]!
    const { start, order } = groupByKey(rightKeys[r]!)
    const leftGroups = groupByKey(lk)
    for (let k = 0; k + 1 < leftGroups.start.length && k + 1 < start.length; k++) {
      const llo = leftGroups.start[k]!
      const lhi = leftGroups.start[k + 1]!
      const lo = start[k]!
      const hi = start[k + 1]!
      if (lhi === llo || hi === lo) continue
      if (lhi - llo + (hi - lo) > maxBlockSize) {
        skippedBlocks++
        continue
      }
      for (let a = llo; a < lhi; a++) {
        const i = leftGroups.order[a]!
        for (let b = lo; b < hi; b++) {
          const j = order[b]!
          if (r > 0 && coveredEarlier(leftKeys, rightKeys, r, i, j)) continue
          out.push(i, j)
        }
      }
    }
    perRule.push(out.count - before)
  }
  return { left: out.left, right: out.right, count: out.count, perRule, skippedBlocks }
}
