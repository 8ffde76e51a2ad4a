/**
 * @module engine/destinations/token-bucket
 * A token bucket per destination instance: `rate` requests per second, bursts up to `burst`.
 * `take` waits (without blocking other destinations) until a token is free.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    public rate: number,
    public burst: number,
    private readonly clock: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    this.tokens = burst
    this.last = clock()
  }

  private refill(): void {
    const now = this.clock()
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate)
    this.last = now
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
