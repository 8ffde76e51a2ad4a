/**
 * Every cache in Kindred is an `lru-cache` `LRUCache`, bounded by `max`. This is the shape for
 * the ones with a time to live, which platform, engines and routes use:
 *
 * - the age is read from the caller's clock (`perf`), so a test's fake clock expires entries and
 *   the app's clock is the one clock the rest of the code reads;
 * - `ttlResolution: 0` reads that clock on each check instead of caching it for a tick behind a
 *   `setTimeout`, and without `ttlAutopurge` no timer runs: an expired entry is dropped when it
 *   is next read or when the bound pushes it out.
 *
 * Loaders stay with the callers rather than in `fetchMethod`: they read through the caller's
 * transaction, and a fetch shared between two callers would run on the other one's connection.
 * Cores keep caches without a TTL (no clock, no timer): they use `LRUCache` directly.
 */
import { LRUCache } from 'lru-cache'

export interface TtlCacheOptions {
  /** At most this many entries; the least recently used goes first. */
  max: number
  /**
   * How long an entry is served, unless `set` gives its own `ttl`. Positive: lru-cache reads 0 as
   * "forever", so a caller that wants no caching makes no cache.
   */
  ttlMs: number
  /** Milliseconds, from the caller's clock (`() => ctx.clock().getTime()`, `Date.now`). */
  clock: () => number
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache's own bound
export function ttlCache<K extends {}, V extends {}>(options: TtlCacheOptions): LRUCache<K, V> {
  if (!(options.ttlMs > 0))
    throw new RangeError(`ttlCache needs a positive ttlMs, not ${options.ttlMs}`)
  // lru-cache reads an entry stamped at 0 as "no TTL", and test clocks start at 0: stamp times
  // from 1 at creation (only differences count).
  const origin = options.clock() - 1
  return new LRUCache<K, V>({
    max: options.max,
    ttl: options.ttlMs,
    ttlResolution: 0,
    perf: { now: () => options.clock() - origin },
  })
}
