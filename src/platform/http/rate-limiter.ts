/**
 * Token buckets keyed by write key (source). In memory per ingest node: with N nodes behind a
 * load balancer the effective limit is N× the setting, which is documented and what Segment-like
 * ingest does too; an exact global limit would cost a shared round trip per request.
 *
 * The buckets are `platform/jobs/token-bucket.ts`, the dispatcher's too, with the admission rule
 * that never borrows (`tryTake`). At most `MAX_BUCKETS` are kept, least recently used first out:
 * an evicted bucket comes back full, which only a node serving more sources than that would see.
 */
import { LRUCache } from 'lru-cache'
import { TokenBucket } from '../jobs/token-bucket.js'

export interface BucketConfig {
  eventsPerSecond: number
  burst: number
}

export interface TakeResult {
  ok: boolean
  /** Seconds until `n` tokens will be available (when not ok). */
  retryAfterSeconds: number
  /** Epoch ms when the bucket is full again. */
  resetAtMs: number
}

export const MAX_BUCKETS = 100_000

export function createRateLimiter(clock: () => number, maxBuckets = MAX_BUCKETS) {
  const buckets = new LRUCache<string, TokenBucket>({ max: maxBuckets })
  return {
    take(key: string, n: number, config: BucketConfig): TakeResult {
      let b = buckets.get(key)
      if (b === undefined) {
        b = new TokenBucket(config.eventsPerSecond, config.burst, clock)
        buckets.set(key, b)
      } else {
        b.rate = config.eventsPerSecond
        b.burst = config.burst
      }
      const r = b.tryTake(n)
      return {
        ok: r.ok,
        retryAfterSeconds: r.ok ? 0 : Math.max(1, Math.ceil(r.waitMs / 1000)),
        resetAtMs: r.fullAtMs,
      }
    },
    forget(key: string) {
      buckets.delete(key)
    },
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>
