/**
 * How Google Ads answers are read, against the shapes Google documents:
 * - partial failures: https://developers.google.com/google-ads/api/docs/best-practices/partial-failures
 *   (a 200 whose `partialFailureError` is a google.rpc.Status carrying GoogleAdsFailure details,
 *   each error located by `fieldPathElements` starting at `operations[index]`);
 * - quota: https://developers.google.com/google-ads/api/docs/best-practices/quotas and
 *   QuotaErrorDetails.retry_delay in google/ads/googleads/v*\/errors/errors.proto;
 * - ABORTED (409) / CONCURRENT_MODIFICATION: https://developers.google.com/google-ads/api/docs/best-practices/concurrency
 *   ("retry the request").
 */
import { describe, expect, it } from 'vitest'
import type { HttpEffect } from '../contract.js'
import { classifyResponse } from './transform.js'

const now = Date.parse('2026-11-25T10:00:00Z')
const addOps: HttpEffect = {
  type: 'http',
  method: 'POST',
  url: 'https://googleads.googleapis.com/v26/customers/1/offlineUserDataJobs/2:addOperations',
  headers: {},
  body: '{}',
  idempotencyKey: 'k',
  itemIds: ['a', 'b'],
  itemKeys: { 'operations:0': 'a', 'operations:1': 'b' },
}
const classify = (status: number, body: unknown, effect = addOps) =>
  classifyResponse({ status, headers: {}, body: JSON.stringify(body) }, { effect, now })

const failure = (errors: unknown[]) => ({
  '@type': 'type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure',
  errors,
})

describe('google-ads classifyResponse', () => {
  it('a 200 carrying partialFailureError fails the refused operations with Google\u2019s reason', () => {
    const c = classify(200, {
      partialFailureError: {
        code: 3,
        message:
          'The SHA256 encoded value is malformed., at operations[1].create.user_identifiers[0]',
        details: [
          failure([
            {
              errorCode: { offlineUserDataJobError: 'INVALID_SHA256_FORMAT' },
              message: 'The SHA256 encoded value is malformed.',
              location: {
                fieldPathElements: [
                  { fieldName: 'operations', index: 1 },
                  { fieldName: 'create' },
                  { fieldName: 'user_identifiers', index: 0 },
                  { fieldName: 'hashed_email' },
                ],
              },
            },
          ]),
        ],
      },
    })
    expect(c).toEqual({
      outcome: 'partial',
      failed: [
        {
          itemId: 'b',
          message: 'INVALID_SHA256_FORMAT: The SHA256 encoded value is malformed.',
          retryable: false,
        },
      ],
    })
  })

  it('a partial failure that names no operation fails the whole request (to be bisected)', () => {
    const c = classify(200, {
      partialFailureError: {
        code: 3,
        message: 'something',
        details: [failure([{ message: 'x' }])],
      },
    })
    expect(c.outcome).toBe('fail')
  })

  it('an empty partialFailureError (code 0) is success', () => {
    expect(classify(200, { partialFailureError: { code: 0 } }).outcome).toBe('success')
    expect(classify(200, { resourceName: 'x' }).outcome).toBe('success')
  })

  it('RESOURCE_EXHAUSTED waits the QuotaErrorDetails.retryDelay as a quota wait', () => {
    const c = classify(429, {
      error: {
        code: 429,
        message: 'Resource has been exhausted (e.g. check quota).',
        status: 'RESOURCE_EXHAUSTED',
        details: [
          failure([
            {
              errorCode: { quotaError: 'RESOURCE_EXHAUSTED' },
              message: 'Too many requests. Retry in 3600 seconds.',
              details: {
                quotaErrorDetails: {
                  rateScope: 'DEVELOPER',
                  rateName: 'Number of operations for basic access',
                  retryDelay: '3600s',
                },
              },
            },
          ]),
        ],
      },
    })
    expect(c).toMatchObject({ outcome: 'retry', retryAfterMs: 3_600_000, quota: true })
  })

  it('409 ABORTED / CONCURRENT_MODIFICATION is retried, not failed (no bisection)', () => {
    const c = classify(409, {
      error: {
        code: 409,
        message:
          'Multiple requests were attempting to modify the same resource at once. Retry the request.',
        status: 'ABORTED',
        details: [
          failure([
            {
              errorCode: { databaseError: 'CONCURRENT_MODIFICATION' },
              message:
                'Multiple requests were attempting to modify the same resource at once. Retry the request.',
            },
          ]),
        ],
      },
    })
    expect(c.outcome).toBe('retry')
    expect(c).not.toHaveProperty('quota')
  })

  it('other 4xx still fail with the vendor message', () => {
    const c = classify(400, {
      error: {
        code: 400,
        message: 'Request contains an invalid argument.',
        status: 'INVALID_ARGUMENT',
      },
    })
    expect(c).toEqual({
      outcome: 'fail',
      message: 'HTTP 400: Request contains an invalid argument.',
    })
  })
})
