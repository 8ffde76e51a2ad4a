/**
 * The dispatcher's rules, pure: what a delivery outcome makes of a job (settled, retried at a
 * time, dead-lettered), which jobs go out although consent is gone, which errors no retry can
 * fix, which refusals no smaller batch would change, what a group's answer means for each of its
 * items, and what the attempts say about the destination's health. The engine
 * (`engine/dispatcher/`) does the I/O around these; the backoff function and the clock are
 * handed in.
 */
import type { Classification } from './contract.js'

/** What happened to one job's item in one delivery pass. */
export type DeliveryOutcome =
  | { kind: 'success' }
  | { kind: 'skip'; message: string }
  /** `quota`: the vendor's quota refused it until `retryAfterMs` (see `Classification`). */
  | { kind: 'retry'; message: string; retryAfterMs?: number; quota?: true }
  | { kind: 'fail'; message: string }

/** The job's next state; the shape the leased queue settles (minus the key). */
export type JobTransition =
  | { kind: 'finished'; state: 'succeeded' | 'skipped'; error: string | null }
  /** `uncounted`: the claim's attempt is given back (a wait for a quota, not a failure). */
  | { kind: 'retry'; runAt: number; error: string; uncounted?: true }
  | { kind: 'dead'; error: string }

export interface DeliveryBudget {
  /** Attempts before a job is dead-lettered. */
  maxAttempts: number
  /** Age (since enqueue) past which a failing job is dead-lettered. */
  maxAgeMs: number
  /** Delay after failed attempt `n` (1-based), jitter included. */
  backoffMs(attempt: number): number
  /**
   * Age past which even a job waiting for a vendor's quota is dead-lettered (default 7 days): a
   * daily limit resets within a day, so a job still refused after a week needs a person.
   */
  maxQuotaAgeMs?: number
}

export const DEFAULT_MAX_QUOTA_AGE_MS = 7 * 86_400_000

/** The dispatcher's budget with a destination's own retry time (hours), when it set one. */
export function budgetFor(
  budget: DeliveryBudget,
  destination: { retryHours?: number | null | undefined },
): DeliveryBudget {
  const h = destination.retryHours
  return h === null || h === undefined ? budget : { ...budget, maxAgeMs: h * 3_600_000 }
}

/** An item the transform and the executors said nothing about: sent again. */
export const NO_OUTCOME: DeliveryOutcome = {
  kind: 'retry',
  message: 'the transform returned nothing for this item',
}

/**
 * Outcome → next state. A retry waits for the vendor's `Retry-After` when it gave one, else the
 * backoff; it is dead-lettered once the job used its attempts or would run past its age.
 *
 * A wait for the vendor's quota (a daily limit until its reset, a rate limit that said when it
 * frees up) is not a failure of the job: it uses no attempt and is not held to `maxAgeMs` (a
 * daily limit can outlast it), only to `maxQuotaAgeMs`. Otherwise a day's worth of jobs hitting
 * HubSpot's daily limit would be dead-lettered within minutes of backoff. See
 * docs/adr/0015-vendor-quota-waits-use-no-attempt.md.
 */
export function nextJobState(
  outcome: DeliveryOutcome | undefined,
  job: { attempts: number; createdAt: number },
  budget: DeliveryBudget,
  now: number,
): JobTransition {
  const o = outcome ?? NO_OUTCOME
  if (o.kind === 'success') return { kind: 'finished', state: 'succeeded', error: null }
  if (o.kind === 'skip') return { kind: 'finished', state: 'skipped', error: o.message }
  if (o.kind === 'fail') return { kind: 'dead', error: o.message }
  if (o.quota && o.retryAfterMs !== undefined) {
    const maxQuotaAge = budget.maxQuotaAgeMs ?? DEFAULT_MAX_QUOTA_AGE_MS
    if (now + o.retryAfterMs - job.createdAt > maxQuotaAge)
      return {
        kind: 'dead',
        error: `still waiting for the vendor's quota after ${Math.round(maxQuotaAge / 1000)} s: ${o.message}`,
      }
    return {
      kind: 'retry',
      runAt: now + o.retryAfterMs,
      error: `waiting for the vendor's quota to reset: ${o.message}`,
      uncounted: true,
    }
  }
  const delay = o.retryAfterMs ?? budget.backoffMs(job.attempts)
  if (job.attempts >= budget.maxAttempts || now + delay - job.createdAt > budget.maxAgeMs)
    return {
      kind: 'dead',
      error: `retry budget exhausted after ${job.attempts} attempts: ${o.message}`,
    }
  return { kind: 'retry', runAt: now + delay, error: o.message }
}

/**
 * Deletions, and removals caused by a revocation, must reach the vendor precisely when consent is
 * gone; everything else needs the destination's purpose allowed.
 */
export function consentExempt(job: { kind: string; input: object }): boolean {
  const input = job.input as { action?: unknown; reason?: unknown }
  return (
    job.kind === 'delete' ||
    (job.kind === 'audience' && input.action === 'remove' && input.reason === 'consent')
  )
}

/**
 * Errors of the destination's stored configuration (settings that no longer validate, a secret
 * that does not decrypt, an unknown type, actions that do not parse): every retry would fail the
 * same way until someone fixes the destination, so its jobs are dead-lettered at once with the
 * reason (and replayed after the fix), instead of burning the retry budget for a day.
 */
const CONFIG_ERRORS = new Set([
  'INVALID_SETTINGS',
  'INVALID_CONFIG',
  'SECRET_DECRYPT_FAILED',
  'SECRET_KEY_INVALID',
  'SECRET_REENTRY_REQUIRED',
  'UNKNOWN_DESTINATION',
])

export function isConfigError(code: string | undefined): boolean {
  return code !== undefined && CONFIG_ERRORS.has(code)
}

/** The dead letter of a configuration error: says what to do about it. */
export function configFailure(code: string, message: string): DeliveryOutcome {
  return {
    kind: 'fail',
    message: `${code}: ${message} (the destination's stored configuration is invalid: fix it, then replay its dead letters)`,
  }
}

/**
 * How a transform error is handled: `config` dead-letters the claim, `items` isolates the items
 * it fails on (the data, not the moment, is at fault: a template that fails on it, an input the
 * destination refuses), anything else is retried.
 */
export function transformErrorKind(code: string | undefined): 'config' | 'items' | 'retry' {
  if (isConfigError(code)) return 'config'
  if (code === 'TEMPLATE_ERROR' || code === 'INVALID_INPUT') return 'items'
  return 'retry'
}

/** The part of an execution `wholeRequestRefused` looks at. */
export type ExecutionSummary =
  | { type: 'http'; last?: { ok: true; status: number } | { ok: false; code: string } }
  | { type: 'sql' | 'file' | 'stream'; ok: true }
  | { type: 'sql' | 'file' | 'stream'; ok: false; code: string }

/**
 * Answers that no subset would change (credentials, redirects, an address or scheme the outbound
 * policy refuses, a path outside the export root, a broker refusing the credentials): a rejected batch with one of these is not
 * bisected.
 */
export function wholeRequestRefused(summary: ExecutionSummary): boolean {
  if (summary.type !== 'http')
    return (
      !summary.ok &&
      (summary.code.startsWith('OUTBOUND_') ||
        summary.code === 'UNSAFE_PATH' ||
        // A broker that refused the credentials refuses every subset too.
        summary.code === 'BROKER_AUTH_REFUSED')
    )
  const last = summary.last
  if (!last) return false
  if (!last.ok) return last.code.startsWith('OUTBOUND_')
  return [401, 403, 405, 407].includes(last.status) || (last.status >= 300 && last.status < 400)
}

/**
 * What a group's classification means for each of its items. `bisect`: a rejected batch worth
 * splitting to isolate the record the vendor refuses (the caller sends each half again).
 * `complete` is false when a chain stopped before its last step: items not named as failed still
 * need the later steps.
 */
export function groupOutcomes(
  c: Classification,
  ids: readonly string[],
  options: { complete: boolean; canBisect: boolean },
): Map<string, DeliveryOutcome> | 'bisect' {
  const out = new Map<string, DeliveryOutcome>()
  if (c.outcome === 'success') {
    for (const id of ids) out.set(id, { kind: 'success' })
  } else if (c.outcome === 'partial') {
    const failed = new Map(c.failed.map((f) => [f.itemId, f]))
    for (const id of ids) {
      const f = failed.get(id)
      out.set(
        id,
        !f
          ? options.complete
            ? { kind: 'success' }
            : { kind: 'retry', message: 'the chain stopped at a partial failure; sending again' }
          : f.retryable
            ? { kind: 'retry', message: f.message }
            : { kind: 'fail', message: f.message },
      )
    }
  } else if (c.outcome === 'retry') {
    for (const id of ids)
      out.set(id, {
        kind: 'retry',
        message: c.message,
        ...(c.retryAfterMs === undefined ? {} : { retryAfterMs: c.retryAfterMs }),
        ...(c.quota ? { quota: true as const } : {}),
      })
  } else if (ids.length > 1 && options.canBisect) {
    return 'bisect'
  } else {
    for (const id of ids) out.set(id, { kind: 'fail', message: c.message })
  }
  return out
}

/** Status of one delivery-log row. */
export type AttemptStatus = 'success' | 'partial' | 'retry' | 'failed'

export function attemptStatus(outcome: Classification['outcome']): AttemptStatus {
  return outcome === 'success'
    ? 'success'
    : outcome === 'fail'
      ? 'failed'
      : outcome === 'retry'
        ? 'retry'
        : 'partial'
}

export type HealthChange =
  | { kind: 'none' }
  /** Any request got through: the destination is healthy again. */
  | { kind: 'healthy' }
  /** Only failures: count them (degraded from `degradedAfter` consecutive ones). */
  | { kind: 'failed'; failures: number; lastError: string | null }
  /** Its stored configuration is invalid: degraded at once, with the reason, until fixed. */
  | { kind: 'misconfigured'; error: string }

/** What one claim's delivery log (or its configuration error) says about the destination. */
export function healthChange(
  log: readonly { status: AttemptStatus; error: string | null }[],
  configError?: string,
): HealthChange {
  if (configError !== undefined) return { kind: 'misconfigured', error: configError }
  const successes = log.filter((l) => l.status === 'success' || l.status === 'partial').length
  const failures = log.filter((l) => l.status === 'retry' || l.status === 'failed').length
  if (successes > 0) return { kind: 'healthy' }
  if (failures === 0) return { kind: 'none' }
  const lastError = [...log].reverse().find((l) => l.error)?.error ?? null
  return { kind: 'failed', failures, lastError }
}
