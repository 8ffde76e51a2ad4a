/**
 * The processor's identifier → profile cache, kept between micro-batches so a returning user's
 * identifiers are not looked up again in `identities` on every batch.
 *
 * An entry is a claim "this identifier belongs to profile P, as of P's identity_version v". It is
 * never trusted on its own: the identity stage locks P's row (it does so anyway, to plan merges)
 * and uses the entry only if P still exists at version v. Every statement that moves identifiers
 * off a profile or deletes them gives the profile a new version (a trigger, migration 0004), and
 * the row lock keeps it from changing until the batch commits, so a stale entry (another node's
 * merge, a split, a matching run, an erasure, a reprocess) is detected, dropped and looked up.
 * Entries written by a batch that then rolls back name versions that never committed, which fail
 * the same check.
 */
import { LRUCache } from 'lru-cache'

export interface CachedIdentity {
  profileId: string
  /** profiles.identity_version as text (bigint arrives as a string or a number by adapter). */
  version: string
}

export interface IdentityCacheStats {
  hits: number
  misses: number
  stale: number
  size: number
}

export interface IdentityCache {
  get(workspaceId: string, type: string, value: string): CachedIdentity | undefined
  set(workspaceId: string, type: string, value: string, entry: CachedIdentity): void
  delete(workspaceId: string, type: string, value: string): void
  /** Counts an entry that failed its version check (for the metric). */
  noteStale(count: number): void
  stats(): IdentityCacheStats
}

const keyOf = (workspaceId: string, type: string, value: string) =>
  `${workspaceId}\u0000${type}\u0000${value}`

/**
 * A bounded map in least-recently-used order (`lru-cache`, without a TTL: no clock, no timer).
 * 100,000 entries hold roughly 20-30 MB.
 */
export function createIdentityCache(maxEntries = 100_000): IdentityCache {
  const entries = new LRUCache<string, CachedIdentity>({ max: maxEntries })
  let hits = 0
  let misses = 0
  let stale = 0
  return {
    get(workspaceId, type, value) {
      const entry = entries.get(keyOf(workspaceId, type, value))
      if (entry === undefined) {
        misses++
        return undefined
      }
      hits++
      return entry
    },
    set(workspaceId, type, value, entry) {
      entries.set(keyOf(workspaceId, type, value), entry)
    },
    delete(workspaceId, type, value) {
      entries.delete(keyOf(workspaceId, type, value))
    },
    noteStale(count) {
      stale += count
    },
    stats: () => ({ hits, misses, stale, size: entries.size }),
  }
}
