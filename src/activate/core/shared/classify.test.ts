import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { HttpEffect } from '../contract.js'
import {
  defaultClassify,
  delayUntilEpochSeconds,
  extractErrorMessage,
  parseProtoDuration,
  parseRetryAfter,
} from './classify.js'

const effect: HttpEffect = {
  type: 'http',
  method: 'POST',
  url: 'https://x.example.com/',
  headers: {},
  body: '{}',
  idempotencyKey: 'k',
  itemIds: ['a'],
}
const now = Date.parse('2026-11-25T10:00:00Z')
const classify = (status: number, body = '', headers: Record<string, string> = {}, e = effect) =>
  defaultClassify({ status, headers, body }, { effect: e, now })

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates relative to the clock', () => {
    expect(parseRetryAfter('1', now)).toBe(1000)
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000)
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
  })

  it('never returns a negative delay for any date', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), (s) => {
        const v = parseRetryAfter(new Date(s * 1000).toUTCString(), now)
        return v !== undefined && v >= 0
      }),
      { numRuns: 200 },
    )
  })
})

describe('defaultClassify', () => {
  it('succeeds on 2xx and declared okStatuses', () => {
    expect(classify(204)).toEqual({ outcome: 'success' })
    expect(classify(404).outcome).toBe('fail')
    expect(classify(404, '', {}, { ...effect, okStatuses: [404] })).toEqual({ outcome: 'success' })
  })

  it('retries 429, 408 and 5xx except 501/505, honouring Retry-After', () => {
    expect(classify(429, '', { 'retry-after': '2' })).toMatchObject({
      outcome: 'retry',
      retryAfterMs: 2000,
    })
    expect(classify(429)).not.toHaveProperty('retryAfterMs')
    // A 429 that states its reset is the vendor's quota (no attempt used); a 503's is not.
    expect(classify(429, '', { 'retry-after': '2' })).toHaveProperty('quota', true)
    expect(classify(503, '', { 'retry-after': '2' })).not.toHaveProperty('quota')
    for (const s of [408, 500, 502, 503, 504]) expect(classify(s).outcome).toBe('retry')
    for (const s of [501, 505, 400, 401, 403, 413, 301]) expect(classify(s).outcome).toBe('fail')
  })

  it('puts the vendor message in failures', () => {
    expect(classify(400, '{"message":"Invalid email"}')).toEqual({
      outcome: 'fail',
      message: 'HTTP 400: Invalid email',
    })
  })
})

describe('extractErrorMessage', () => {
  it.each([
    ['{"error":{"message":"Invalid OAuth access token","code":190}}', 'Invalid OAuth access token'],
    [
      '{"errors":[{"id":"x","status":400,"code":"invalid","title":"Invalid input.","detail":"email is invalid"}]}',
      'email is invalid',
    ],
    [
      '{"type":"x","title":"Resource Not Found","status":404,"detail":"The requested resource could not be found."}',
      'The requested resource could not be found.',
    ],
    [
      '{"status":"error","message":"Property values were not valid","category":"VALIDATION_ERROR"}',
      'Property values were not valid',
    ],
    ['invalid_payload', 'invalid_payload'],
    ['', '(empty response body)'],
  ])('%s → %s', (body, msg) => {
    expect(extractErrorMessage(body)).toBe(msg)
  })

  it('caps long bodies', () => {
    expect(extractErrorMessage('x'.repeat(2000), 100)).toHaveLength(101)
  })
})

describe('vendor reset formats', () => {
  it('reads protobuf Durations (Google retryDelay) and epoch-second resets (Braze)', () => {
    expect(parseProtoDuration('3600s')).toBe(3_600_000)
    expect(parseProtoDuration('1.5s')).toBe(1500)
    expect(parseProtoDuration('soon')).toBeUndefined()
    expect(parseProtoDuration(30)).toBeUndefined()
    expect(delayUntilEpochSeconds(String(now / 1000 + 42), now)).toBe(42_000)
    expect(delayUntilEpochSeconds(String(now / 1000 - 5), now)).toBe(0)
    expect(delayUntilEpochSeconds('tomorrow', now)).toBeUndefined()
  })
})
