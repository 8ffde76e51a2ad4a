/**
 * When a failed job runs again, and when it stops trying: exponential backoff with the jitter
 * source handed in (so a test, or a pure policy, decides what "random" is), and a budget of
 * attempts and age past which the job is a dead letter. Pure: the clock is an argument.
 */

export interface BackoffOptions {
  /** Delay after the first failure, before jitter; doubles per attempt. */
  baseMs: number
  /** Cap of one delay. */
  maxMs: number
  /**
   * `equal`: half the delay fixed, half drawn from `random` (spreads a burst of failures without
   * ever retrying at once); `none`: the delay as computed.
   */
  jitter: 'equal' | 'none'
  /** In [0, 1). Needed for `equal` jitter. */
  random?: () => number
}

/** `attempt` (1-based, the attempt that just failed) → milliseconds to wait. */
export type Backoff = (attempt: number) => number

export function exponentialBackoff(options: BackoffOptions): Backoff {
  const random = options.random ?? (() => 0.5)
  return (attempt) => {
    const d = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1))
    return options.jitter === 'none' ? d : Math.round(d / 2 + random() * (d / 2))
  }
}

export interface RetryBudget {
  /** Attempts after which a failing job is dead. */
  maxAttempts: number
  /** Age (from creation) past which a failing job is dead, if set. */
  maxAgeMs?: number
}

export type RetryDecision = { kind: 'retry'; runAt: number } | { kind: 'dead'; reason: string }

/**
 * After a failed attempt: run again at `now + delay` (the vendor's `Retry-After` when given,
 * else the backoff), or give up when the budget is spent or the next try would come too late.
 */
export function retryOrDead(
  budget: RetryBudget,
  backoff: Backoff,
  job: { attempts: number; createdAt?: number },
  now: number,
  delayMs?: number,
): RetryDecision {
  const delay = delayMs ?? backoff(job.attempts)
  if (job.attempts >= budget.maxAttempts)
    return { kind: 'dead', reason: `retry budget exhausted after ${job.attempts} attempts` }
  if (
    budget.maxAgeMs !== undefined &&
    job.createdAt !== undefined &&
    now + delay - job.createdAt > budget.maxAgeMs
  )
    return { kind: 'dead', reason: `retry budget exhausted after ${job.attempts} attempts` }
  return { kind: 'retry', runAt: now + delay }
}
