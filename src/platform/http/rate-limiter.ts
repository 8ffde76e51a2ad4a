/**
 * Token buckets keyed by write key (source). In memory per ingest node: with N nodes behind a
 * load balancer the effective limit is N× the setting, which is documented and what Segment-like
 * ingest does too; an exact global limit would cost a shared round trip per request.
 */
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

export function createRateLimiter(clock: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    take(key: string, n: number, config: BucketConfig): TakeResult {
      const now = clock()
      const rate = config.eventsPerSecond / 1000
      const b = buckets.get(key) ?? { tokens: config.burst, at: now }
      b.tokens = Math.min(config.burst, b.tokens + (now - b.at) * rate)
      b.at = now
      buckets.set(key, b)
      // A single request larger than the burst would never fit: charge it the whole bucket.
      const cost = Math.min(n, config.burst)
      const resetAtMs = now + Math.ceil((config.burst - b.tokens) / rate)
      if (b.tokens >= cost) {
        b.tokens -= cost
        return { ok: true, retryAfterSeconds: 0, resetAtMs }
      }
      return {
        ok: false,
        retryAfterSeconds: Math.max(1, Math.ceil((cost - b.tokens) / rate / 1000)),
        resetAtMs,
      }
    },
    forget(key: string) {
      buckets.delete(key)
    },
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>
