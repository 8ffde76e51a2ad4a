import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

/**
 * Bodies a JSON parser accepts but the pipeline cannot hold are refused at ingest with a 400 that
 * names the limit, on the raw-body fast path and on the canonical slow path (PII controls on)
 * alike, and nothing of them reaches the event log.
 */
let k: TestKindred
const keys: Record<'fast' | 'slow', string> = { fast: '', slow: '' }

beforeAll(async () => {
  k = await startTestKindred()
  await k.kindred.processor?.stop()
  keys.fast = (await k.createSource('fast')).writeKey
  keys.slow = (await k.createSource('slow', { pii: { anonymizeIp: true } })).writeKey
})
afterAll(() => k.close())

const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
const track = (props: string) => `{"userId":"u1","event":"E","properties":${props}}`

const hostile: Array<[string, string | Buffer, string, string]> = [
  ['5,000-deep nesting', track(deep(5_000)), 'VALIDATION_FAILED', 'json_too_deep'],
  ['65-deep nesting', track(deep(64)), 'VALIDATION_FAILED', 'json_too_deep'],
  ['a lone surrogate in a value', track('{"s":"\\ud800"}'), 'VALIDATION_FAILED', 'lone_surrogate'],
  ['a lone surrogate in a key', track('{"\\udfff":1}'), 'VALIDATION_FAILED', 'lone_surrogate'],
  [
    'a lone surrogate in the event name',
    '{"userId":"u1","event":"\\ud800"}',
    'VALIDATION_FAILED',
    'lone_surrogate',
  ],
  ['1e400', track('{"n":1e400}'), 'VALIDATION_FAILED', 'number_out_of_range'],
  ['-1e400', track('{"n":-1e400}'), 'VALIDATION_FAILED', 'number_out_of_range'],
  ['1e-400', track('{"n":1e-400}'), 'VALIDATION_FAILED', 'number_out_of_range'],
  [
    'a 30-digit integer',
    track('{"n":123456789012345678901234567890}'),
    'VALIDATION_FAILED',
    'number_out_of_range',
  ],
  [
    'invalid UTF-8',
    Buffer.concat([
      Buffer.from('{"userId":"u1","event":"E","properties":{"s":"'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from('"}}'),
    ]),
    'INVALID_JSON',
    'invalid_utf8',
  ],
  [
    'an impossible date',
    '{"userId":"u1","event":"E","timestamp":"2020-02-30T00:00:00Z"}',
    'VALIDATION_FAILED',
    'custom',
  ],
]

async function post(path: string, key: string, body: string | Buffer): Promise<Response> {
  return fetch(`${k.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  })
}

const received = async () => (await k.kindred.metrics.eventsReceived.get()).values[0]?.value ?? 0

describe.each(['fast', 'slow'] as const)('on the %s path', (path) => {
  it.each(hostile)('refuses %s with a 400 naming the limit', async (_what, body, code, detail) => {
    const before = await received()
    const res = await post('/v1/track', keys[path], body)
    expect(res.status).toBe(400)
    const { error } = (await res.json()) as {
      error: { code: string; message: string; details: Array<{ code: string; message: string }> }
    }
    expect(error.code).toBe(code)
    expect(error.details[0]?.code).toBe(detail)
    expect(await received()).toBe(before)
  })

  it.each(hostile)(
    'refuses a batch with one event holding %s whole, naming the event',
    async (_what, body, code, detail) => {
      const bad = Buffer.isBuffer(body) ? body : Buffer.from(body)
      const batch = Buffer.concat([
        Buffer.from('{"batch":[{"type":"track","userId":"ok","event":"Fine"},{"type":"track",'),
        bad.subarray(1),
        Buffer.from(']}'),
      ])
      const before = await received()
      const res = await post('/v1/batch', keys[path], batch)
      expect(res.status).toBe(400)
      const { error } = (await res.json()) as {
        error: { code: string; message: string; details: Array<{ index: number; code: string }> }
      }
      expect(error.code).toBe(code)
      expect(error.message).toContain('nothing in this batch was accepted')
      expect(error.details[0]).toMatchObject({ index: 1, code: detail })
      expect(await received()).toBe(before)
    },
  )

  it('keeps accepting what a double and Unicode hold', async () => {
    const res = await post(
      '/v1/track',
      keys[path],
      track(
        `{"emoji":"\\ud83d\\ude00","n":1e300,"tiny":5e-324,"big":1152921504606847000,"d":${deep(60)}}`,
      ),
    )
    expect(res.status).toBe(200)
  })
})

describe('admin API bodies', () => {
  const notChain = (n: number) =>
    '{"kind":"not","child":'.repeat(n) +
    '{"kind":"trait","trait":"plan","condition":{"op":"exists"}}' +
    '}'.repeat(n)

  it.each(['/api/v1/segments', '/api/v1/segments/preview'])(
    '%s answers 400 for a definition 20,000 levels deep, not 500',
    async (route) => {
      const res = await fetch(`${k.url}${route}`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer test-admin-token-0123456789',
          'content-type': 'application/json',
        },
        body: `{"name":"deep","definition":${notChain(20_000)}}`,
      })
      expect(res.status).toBe(400)
      const { error } = (await res.json()) as { error: { code: string; message: string } }
      expect(error.code).toBe('VALIDATION_FAILED')
      expect(error.message).toContain('64')
    },
  )
})
