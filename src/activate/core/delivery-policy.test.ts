import { describe, expect, it } from 'vitest'
import type { Classification } from './contract.js'
import {
  budgetFor,
  consentExempt,
  groupOutcomes,
  healthChange,
  isConfigError,
  nextJobState,
  transformErrorKind,
  wholeRequestRefused,
  type DeliveryBudget,
  type DeliveryOutcome,
  type ExecutionSummary,
} from './delivery-policy.js'

const NOW = 1_000_000_000
/** 1 s, doubling, no jitter: the table's delays are readable. */
const budget: DeliveryBudget = {
  maxAttempts: 3,
  maxAgeMs: 60_000,
  backoffMs: (attempt) => 1_000 * 2 ** (attempt - 1),
}
const young = (attempts: number) => ({ attempts, createdAt: NOW - 1_000 })

describe('nextJobState: a time budget, not a count', () => {
  // The dispatcher's default: no attempt limit, 24 hours, backoff capped at 10 minutes.
  const hours = (h: number) => h * 3_600_000
  const daily: DeliveryBudget = {
    maxAttempts: Number.POSITIVE_INFINITY,
    maxAgeMs: hours(24),
    backoffMs: (attempt) => Math.min(600_000, 1_000 * 2 ** (attempt - 1)),
  }
  const failing: DeliveryOutcome = { kind: 'retry', message: 'HTTP 503' }

  it('keeps retrying a receiver that is down for hours, then gives up at the budget', () => {
    // Attempt 60, six hours in: retried in ten minutes (Segment would still be retrying too).
    expect(nextJobState(failing, { attempts: 60, createdAt: NOW - hours(6) }, daily, NOW)).toEqual({
      kind: 'retry',
      runAt: NOW + 600_000,
      error: 'HTTP 503',
    })
    expect(
      nextJobState(failing, { attempts: 150, createdAt: NOW - hours(23.95) }, daily, NOW).kind,
    ).toBe('dead')
  })

  it('takes a destination’s own retry time over the default', () => {
    const job = { attempts: 4, createdAt: NOW - hours(2) }
    expect(nextJobState(failing, job, budgetFor(daily, { retryHours: null }), NOW).kind).toBe(
      'retry',
    )
    expect(nextJobState(failing, job, budgetFor(daily, { retryHours: 1 }), NOW)).toMatchObject({
      kind: 'dead',
      error: 'retry budget exhausted after 4 attempts: HTTP 503',
    })
    expect(budgetFor(daily, { retryHours: 72 }).maxAgeMs).toBe(hours(72))
  })
})

describe('nextJobState: waiting for a vendor quota', () => {
  const quota: DeliveryOutcome = {
    kind: 'retry',
    message: 'HTTP 429: daily limit',
    retryAfterMs: 3_600_000,
    quota: true,
  }

  it('waits until the reset without using an attempt, even past the retry budget and age', () => {
    // attempts 3 of 3, and the wait runs past maxAgeMs: an ordinary retry would be dead.
    expect(nextJobState(quota, young(3), budget, NOW)).toEqual({
      kind: 'retry',
      runAt: NOW + 3_600_000,
      error: "waiting for the vendor's quota to reset: HTTP 429: daily limit",
      uncounted: true,
    })
    expect(nextJobState({ ...quota, quota: undefined }, young(3), budget, NOW)).toMatchObject({
      kind: 'dead',
    })
  })

  it('dead-letters once the job would wait past maxQuotaAgeMs', () => {
    const b = { ...budget, maxQuotaAgeMs: 3_000_000 }
    expect(nextJobState(quota, young(1), b, NOW)).toEqual({
      kind: 'dead',
      error: "still waiting for the vendor's quota after 3000 s: HTTP 429: daily limit",
    })
  })

  it('groupOutcomes carries the quota mark to every item', () => {
    const out = groupOutcomes(
      { outcome: 'retry', message: 'm', retryAfterMs: 5, quota: true },
      ['1'],
      { complete: true, canBisect: true },
    )
    expect(out).toEqual(
      new Map([['1', { kind: 'retry', message: 'm', retryAfterMs: 5, quota: true }]]),
    )
  })
})

describe('nextJobState', () => {
  it.each<[string, DeliveryOutcome | undefined, { attempts: number; createdAt: number }, unknown]>([
    [
      'success',
      { kind: 'success' },
      young(1),
      { kind: 'finished', state: 'succeeded', error: null },
    ],
    [
      'skip keeps its reason',
      { kind: 'skip', message: 'CONSENT_DENIED: no' },
      young(1),
      { kind: 'finished', state: 'skipped', error: 'CONSENT_DENIED: no' },
    ],
    [
      'fail is a dead letter at once',
      { kind: 'fail', message: 'HTTP 400' },
      young(1),
      { kind: 'dead', error: 'HTTP 400' },
    ],
    [
      'retry backs off',
      { kind: 'retry', message: 'HTTP 500' },
      young(2),
      { kind: 'retry', runAt: NOW + 2_000, error: 'HTTP 500' },
    ],
    [
      'Retry-After wins over the backoff',
      { kind: 'retry', message: '429', retryAfterMs: 30_000 },
      young(1),
      { kind: 'retry', runAt: NOW + 30_000, error: '429' },
    ],
    [
      'attempts spent',
      { kind: 'retry', message: 'HTTP 500' },
      young(3),
      { kind: 'dead', error: 'retry budget exhausted after 3 attempts: HTTP 500' },
    ],
    [
      'too old by the next try',
      { kind: 'retry', message: 'HTTP 503' },
      { attempts: 1, createdAt: NOW - 59_500 },
      { kind: 'dead', error: 'retry budget exhausted after 1 attempts: HTTP 503' },
    ],
    [
      'no outcome at all is retried',
      undefined,
      young(1),
      {
        kind: 'retry',
        runAt: NOW + 1_000,
        error: 'the transform returned nothing for this item',
      },
    ],
  ])('%s', (_name, outcome, job, expected) => {
    expect(nextJobState(outcome, job, budget, NOW)).toEqual(expected)
  })
})

describe('consentExempt', () => {
  it.each([
    ['delete', {}, true],
    ['audience', { action: 'remove', reason: 'consent' }, true],
    ['audience', { action: 'remove' }, false],
    ['audience', { action: 'add', reason: 'consent' }, false],
    ['event', { reason: 'consent' }, false],
    ['profile', {}, false],
  ])('%s %j → %s', (kind, input, exempt) => {
    expect(consentExempt({ kind, input })).toBe(exempt)
  })
})

describe('configuration errors are permanent', () => {
  it.each([
    ['INVALID_SETTINGS', true, 'config'],
    ['INVALID_CONFIG', true, 'config'],
    ['SECRET_DECRYPT_FAILED', true, 'config'],
    ['SECRET_KEY_INVALID', true, 'config'],
    ['SECRET_REENTRY_REQUIRED', true, 'config'],
    ['UNKNOWN_DESTINATION', true, 'config'],
    ['TEMPLATE_ERROR', false, 'items'],
    ['INVALID_INPUT', false, 'items'],
    ['TypeError', false, 'retry'],
    [undefined, false, 'retry'],
  ])('%s', (code, config, kind) => {
    expect(isConfigError(code)).toBe(config)
    expect(transformErrorKind(code)).toBe(kind)
  })
})

describe('wholeRequestRefused', () => {
  it.each<[ExecutionSummary, boolean]>([
    [{ type: 'http', last: { ok: true, status: 401 } }, true],
    [{ type: 'http', last: { ok: true, status: 403 } }, true],
    [{ type: 'http', last: { ok: true, status: 405 } }, true],
    [{ type: 'http', last: { ok: true, status: 407 } }, true],
    [{ type: 'http', last: { ok: true, status: 302 } }, true],
    [{ type: 'http', last: { ok: true, status: 400 } }, false],
    [{ type: 'http', last: { ok: true, status: 422 } }, false],
    [{ type: 'http', last: { ok: false, code: 'OUTBOUND_ADDRESS_REFUSED' } }, true],
    [{ type: 'http', last: { ok: false, code: 'OUTBOUND_SCHEME_REFUSED' } }, true],
    [{ type: 'http', last: { ok: false, code: 'TIMEOUT' } }, false],
    [{ type: 'http' }, false],
    [{ type: 'file', ok: false, code: 'UNSAFE_PATH' }, true],
    [{ type: 'sql', ok: false, code: 'OUTBOUND_ADDRESS_REFUSED' }, true],
    [{ type: 'sql', ok: false, code: '23505' }, false],
    [{ type: 'file', ok: true }, false],
    [{ type: 'stream', ok: false, code: 'BROKER_AUTH_REFUSED' }, true],
    [{ type: 'stream', ok: false, code: 'OUTBOUND_SCHEME_REFUSED' }, true],
    [{ type: 'stream', ok: false, code: 'BROKER_REFUSED' }, false],
  ])('%j → %s', (summary, refused) => {
    expect(wholeRequestRefused(summary)).toBe(refused)
  })
})

describe('groupOutcomes', () => {
  const ids = ['1', '2', '3']
  const whole = { complete: true, canBisect: true }
  it.each<[string, Classification, { complete: boolean; canBisect: boolean }, unknown]>([
    [
      'success settles every item',
      { outcome: 'success' },
      whole,
      [
        ['1', { kind: 'success' }],
        ['2', { kind: 'success' }],
        ['3', { kind: 'success' }],
      ],
    ],
    [
      'partial: per item',
      {
        outcome: 'partial',
        failed: [
          { itemId: '2', message: 'bad email', retryable: false },
          { itemId: '3', message: 'busy', retryable: true },
        ],
      },
      whole,
      [
        ['1', { kind: 'success' }],
        ['2', { kind: 'fail', message: 'bad email' }],
        ['3', { kind: 'retry', message: 'busy' }],
      ],
    ],
    [
      'partial mid-chain: the rest goes again',
      { outcome: 'partial', failed: [{ itemId: '2', message: 'x', retryable: false }] },
      { complete: false, canBisect: true },
      [
        ['1', { kind: 'retry', message: 'the chain stopped at a partial failure; sending again' }],
        ['2', { kind: 'fail', message: 'x' }],
        ['3', { kind: 'retry', message: 'the chain stopped at a partial failure; sending again' }],
      ],
    ],
    [
      'retry carries Retry-After',
      { outcome: 'retry', message: '429', retryAfterMs: 1_000 },
      whole,
      ids.map((id) => [id, { kind: 'retry', message: '429', retryAfterMs: 1_000 }]),
    ],
    ['a refused batch is bisected', { outcome: 'fail', message: '422' }, whole, 'bisect'],
    [
      'unless the whole request is refused',
      { outcome: 'fail', message: '401' },
      { complete: true, canBisect: false },
      ids.map((id) => [id, { kind: 'fail', message: '401' }]),
    ],
  ])('%s', (_name, c, options, expected) => {
    const got = groupOutcomes(c, ids, options)
    expect(got === 'bisect' ? got : [...got]).toEqual(expected)
  })

  it('fails a lone refused item instead of bisecting it', () => {
    expect([
      ...(groupOutcomes({ outcome: 'fail', message: 'no' }, ['9'], whole) as Map<
        string,
        DeliveryOutcome
      >),
    ]).toEqual([['9', { kind: 'fail', message: 'no' }]])
  })
})

describe('healthChange', () => {
  it.each([
    ['nothing sent', [], undefined, { kind: 'none' }],
    [
      'any success heals',
      [
        { status: 'retry', error: 'a' },
        { status: 'success', error: null },
      ],
      undefined,
      { kind: 'healthy' },
    ],
    [
      'partial counts as through',
      [{ status: 'partial', error: 'x' }],
      undefined,
      { kind: 'healthy' },
    ],
    [
      'only failures count, with the last error',
      [
        { status: 'retry', error: 'first' },
        { status: 'failed', error: 'second' },
      ],
      undefined,
      { kind: 'failed', failures: 2, lastError: 'second' },
    ],
    [
      'a configuration error degrades at once',
      [],
      'INVALID_SETTINGS: url: Required',
      { kind: 'misconfigured', error: 'INVALID_SETTINGS: url: Required' },
    ],
  ] as const)('%s', (_name, log, configError, expected) => {
    expect(healthChange(log, configError)).toEqual(expected)
  })
})
