/**
 * The one token bucket: `rate` tokens per second, holding at most `burst`. Two admission rules
 * share its arithmetic:
 *
 * - `tryTake(n)` answers at once and never goes into debt: ingest rate limits use it (through
 *   `platform/http/rate-limiter.ts`) to answer 429 with when to retry. A request larger than the
 *   burst would never fit, so it is charged the whole bucket instead.
 * - `take(n)` waits (without blocking other buckets) until one token is free, then takes all `n`,
 *   so the balance may go below zero: the dispatcher paces a vendor with it, and a batch of `n`
 *   must go out whole; the debt makes the next send wait for it.
 *
 * `rate` and `burst` may change between calls (a destination's or source's setting was edited);
 * the next call refills at the new rate up to the new burst.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    public rate: number,
    public burst: number,
    private readonly clock: () => number,
    private readonly sleep: (ms: number) => Promise<void> = () =>
      Promise.reject(new Error('this token bucket has no sleep: use tryTake')),
  ) {
    this.tokens = burst
    this.last = clock()
  }

  private refill(): number {
    const now = this.clock()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate)
    this.last = now
    return now
  }

  /**
   * Takes `min(n, burst)` tokens if they are there. Otherwise takes none and says in how many
   * milliseconds they will be; `fullAtMs` is when the bucket is full again either way (before
   * this take).
   */
  tryTake(n = 1): { ok: boolean; waitMs: number; fullAtMs: number } {
    const now = this.refill()
    const cost = Math.min(n, this.burst)
    const fullAtMs = now + Math.ceil(((this.burst - this.tokens) / this.rate) * 1000)
    if (this.tokens >= cost) {
      this.tokens -= cost
      return { ok: true, waitMs: 0, fullAtMs }
    }
    return { ok: false, waitMs: ((cost - this.tokens) / this.rate) * 1000, fullAtMs }
  }

  /** Waits until a token is available, then takes `n` (the balance may go below zero). */
  async take(n = 1): Promise<void> {
    this.refill()
    while (this.tokens < 1) {
      await this.sleep(Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000)))
      this.refill()
    }
    this.tokens -= n
  }
}
