import { describe, expect, it } from 'vitest'
import { createRateLimiter } from '../http/rate-limiter.js'
import { TokenBucket } from './token-bucket.js'

describe('TokenBucket', () => {
  it('take (the dispatcher): a burst, then waits at the rate, and may borrow', async () => {
    let now = 0
    const waits: number[] = []
    const bucket = new TokenBucket(
      2,
      2,
      () => now,
      async (ms) => {
        waits.push(ms)
        now += ms
      },
    )
    await bucket.take()
    await bucket.take()
    expect(waits).toEqual([])
    await bucket.take()
    expect(waits).toEqual([500])
    await bucket.take(3)
    expect(now).toBe(1000)
    await bucket.take()
    // The balance went to -2 after taking 3: it needs 1.5 s to reach one token again.
    expect(now).toBe(2500)
  })

  it('tryTake (ingest): never borrows, says when to retry and when the bucket is full', () => {
    let now = 10_000
    const bucket = new TokenBucket(10, 5, () => now)
    expect(bucket.tryTake(5)).toEqual({ ok: true, waitMs: 0, fullAtMs: 10_000 })
    const refused = bucket.tryTake(2)
    expect(refused.ok).toBe(false)
    expect(refused.waitMs).toBeCloseTo(200)
    expect(refused.fullAtMs).toBe(10_500)
    now += 200
    expect(bucket.tryTake(2).ok).toBe(true)
    // More than the burst is charged the whole bucket, so it fits once the bucket is full.
    now += 1_000
    expect(bucket.tryTake(50)).toMatchObject({ ok: true })
    expect(bucket.tryTake(1).ok).toBe(false)
  })

  it('follows a changed rate and burst on the next call', () => {
    let now = 0
    const bucket = new TokenBucket(1, 1, () => now)
    expect(bucket.tryTake(1).ok).toBe(true)
    bucket.rate = 100
    bucket.burst = 10
    now += 100
    expect(bucket.tryTake(10).ok).toBe(true)
  })

  it('a bucket without sleep refuses to wait rather than spin', async () => {
    const bucket = new TokenBucket(1, 1, () => 0)
    await bucket.take()
    await expect(bucket.take()).rejects.toThrow(/tryTake/)
  })
})

describe('createRateLimiter', () => {
  it('answers per key with whole seconds to wait and the epoch ms of a full bucket', () => {
    let now = 1_000_000
    const limiter = createRateLimiter(() => now)
    const config = { eventsPerSecond: 1, burst: 3 }
    expect(limiter.take('src_a', 3, config)).toEqual({
      ok: true,
      retryAfterSeconds: 0,
      resetAtMs: 1_000_000,
    })
    expect(limiter.take('src_a', 1, config)).toEqual({
      ok: false,
      retryAfterSeconds: 1,
      resetAtMs: 1_003_000,
    })
    expect(limiter.take('src_b', 3, config).ok).toBe(true)
    now += 2_500
    expect(limiter.take('src_a', 3, config)).toMatchObject({ ok: false, retryAfterSeconds: 1 })
    limiter.forget('src_a')
    expect(limiter.take('src_a', 3, config).ok).toBe(true)
  })

  it('keeps at most maxBuckets buckets; an evicted one comes back full', () => {
    const limiter = createRateLimiter(() => 0, 2)
    const config = { eventsPerSecond: 1, burst: 1 }
    expect(limiter.take('a', 1, config).ok).toBe(true)
    expect(limiter.take('a', 1, config).ok).toBe(false)
    limiter.take('b', 1, config)
    limiter.take('c', 1, config)
    expect(limiter.take('a', 1, config).ok).toBe(true)
  })
})
