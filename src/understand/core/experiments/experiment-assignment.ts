/**
 * @module experiments/experiment-assignment
 * Deterministic assignment: the unit (profile id, or anonymous id before identification) and the
 * experiment's salt are hashed to a point in [0, 1), and the arms' weights cut [0, 1) into
 * consecutive ranges. The same unit always gets the same arm; a new salt reshuffles everyone.
 * The hash is FNV-1a (32-bit) over the UTF-8 bytes with MurmurHash3's finaliser (fmix32), so
 * that ids differing in their last character still spread over the whole range.
 */

export interface WeightedArm {
  readonly key: string
  readonly weight: number
}

/** A 32-bit hash of a string, well mixed. */
export function hash32(text: string): number {
  const bytes = new TextEncoder().encode(text)
  let h = 0x811c9dc5
  for (const b of bytes) {
    h ^= b
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The unit's point in [0, 1) for this salt. */
export function bucketOf(salt: string, unitId: string): number {
  return hash32(`${salt}\u0000${unitId}`) / 4294967296
}

/** The arm a unit falls in. Weights are any non-negative numbers with a positive sum. */
export function assignArm(arms: readonly WeightedArm[], salt: string, unitId: string): WeightedArm {
  const total = arms.reduce((s, a) => s + a.weight, 0)
  if (arms.length === 0 || !(total > 0))
    throw new RangeError('an experiment needs an arm with a positive weight')
  const point = bucketOf(salt, unitId) * total
  let edge = 0
  for (const arm of arms) {
    edge += arm.weight
    if (point < edge) return arm
  }
  return arms[arms.length - 1]!
}
