import { gzipSync, deflateSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, basic, testStores, type TestKindred } from '../../testing/test-server.js'
import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from '../../protocol/limits.js'

let k: TestKindred
let writeKey: string
let sourceId: string

async function storedEvents(messageIds: string[]) {
  await k.kindred.processor?.drain()
  const res = await k.kindred.store.db.query<{
    message_id: string
    type: string
    timestamp: Date
    payload: Record<string, unknown>
    traits: Record<string, unknown>
    context: Record<string, unknown>
  }>(
    'SELECT message_id, type, "timestamp", payload, traits, context FROM events WHERE message_id = ANY($1) ORDER BY message_id',
    [messageIds],
  )
  return res.rows
}

async function errorOf(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string; details?: unknown } }
  expect(typeof body.error.message).toBe('string')
  return body.error
}

// The whole suite runs on each store: on a server the event log is the table adapter.
describe.each(testStores())('tracking API on %s', (store) => {
  beforeAll(async () => {
    k = await startTestKindred({ store })
    const s = await k.createSource('Web', {
      rateLimit: { eventsPerSecond: 1_000_000, burst: 1_000_000 },
    })
    writeKey = s.writeKey
    sourceId = s.id
  })
  afterAll(() => k.close())

  describe('tracking API: auth', () => {
    it('rejects a missing write key with 401', async () => {
      const res = await fetch(`${k.url}/v1/track`, {
        method: 'POST',
        body: JSON.stringify({ userId: 'u', event: 'e' }),
      })
      expect(res.status).toBe(401)
      expect((await errorOf(res)).code).toBe('UNAUTHORIZED')
    })
    it('rejects an invalid write key with 401', async () => {
      const res = await k.track('wk_wrong', '/v1/track', { userId: 'u', event: 'e' })
      expect(res.status).toBe(401)
    })
    it('accepts the write key in the body', async () => {
      const res = await fetch(`${k.url}/v1/track`, {
        method: 'POST',
        body: JSON.stringify({ writeKey, userId: 'u', event: 'e', messageId: 'body-key-1' }),
      })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ success: true })
      const [row] = await storedEvents(['body-key-1'])
      // The write key is a secret: never stored with the event.
      expect(JSON.stringify(row)).not.toContain(writeKey)
    })
  })

  describe('tracking API: every call type and the Segment spec', () => {
    it.each([
      ['/v1/track', { event: 'Order Completed', properties: { total: 10 } }],
      ['/v1/identify', { traits: { email: 'a@b.co' } }],
      ['/v1/page', { name: 'Home' }],
      ['/v1/screen', { name: 'Home' }],
      ['/v1/group', { groupId: 'g1', traits: { plan: 'pro' } }],
      ['/v1/alias', { previousId: 'anon-1' }],
      ['/v1/t', { event: 'Short' }],
      ['/v1/i', {}],
      ['/v1/p', {}],
      ['/v1/s', {}],
      ['/v1/g', { groupId: 'g2' }],
      ['/v1/a', { previousId: 'anon-2' }],
    ])('%s stores the event', async (path, fields) => {
      const messageId = `spec-${path.replaceAll('/', '-')}`
      const res = await k.track(writeKey, path, { userId: 'user-1', messageId, ...fields })
      expect(res.status).toBe(200)
      const [row] = await storedEvents([messageId])
      expect(row?.message_id).toBe(messageId)
    })

    it('rejects a call of the wrong type for its path', async () => {
      const res = await k.track(writeKey, '/v1/track', { type: 'identify', userId: 'u' })
      expect(res.status).toBe(400)
      expect((await errorOf(res)).code).toBe('VALIDATION_FAILED')
    })

    it('requires userId or anonymousId', async () => {
      const res = await k.track(writeKey, '/v1/track', { event: 'x' })
      expect(res.status).toBe(400)
      const err = await errorOf(res)
      expect(err.details).toEqual([
        expect.objectContaining({ path: 'userId', code: 'missing_identity' }),
      ])
    })

    it('corrects client clock skew with sentAt and keeps originalTimestamp', async () => {
      const before = Date.now()
      // The client clock is 1 hour ahead; the event happened 10 s before it was sent.
      const sentAt = new Date(before + 3_600_000)
      const original = new Date(sentAt.getTime() - 10_000)
      const res = await k.track(writeKey, '/v1/track', {
        userId: 'u',
        event: 'Skewed',
        messageId: 'skew-1',
        timestamp: original.toISOString(),
        sentAt: sentAt.toISOString(),
      })
      expect(res.status).toBe(200)
      const [row] = await storedEvents(['skew-1'])
      const ts = new Date(row?.timestamp as Date).getTime()
      expect(ts).toBeGreaterThanOrEqual(before - 10_000 - 50)
      expect(ts).toBeLessThanOrEqual(Date.now() - 10_000 + 50)
      expect(row?.payload.originalTimestamp).toBe(original.toISOString())
      expect(typeof row?.payload.receivedAt).toBe('string')
    })

    it('accepts originalTimestamp instead of timestamp, and keeps import timestamps as given', async () => {
      const historical = '2020-05-01T10:00:00.000Z'
      await k.track(writeKey, '/v1/import', {
        batch: [
          {
            type: 'track',
            userId: 'u',
            event: 'Old',
            messageId: 'import-1',
            timestamp: historical,
          },
        ],
        sentAt: new Date().toISOString(),
      })
      await k.track(writeKey, '/v1/track', {
        userId: 'u',
        event: 'O',
        messageId: 'orig-1',
        originalTimestamp: historical,
      })
      const rows = await storedEvents(['import-1', 'orig-1'])
      expect(new Date(rows[0]?.timestamp as Date).toISOString()).toBe(historical)
      expect(new Date(rows[1]?.timestamp as Date).toISOString()).toBe(historical)
    })

    it('keeps every field received, including unknown ones, context and integrations', async () => {
      await k.track(writeKey, '/v1/track', {
        userId: 'u',
        event: 'Rich',
        messageId: 'rich-1',
        channel: 'server',
        custom_field: { nested: [1, 2] },
        integrations: { All: false, Mixpanel: true },
        context: {
          ip: '10.1.2.3',
          userAgent: 'curl',
          library: { name: 'x', version: '1' },
          page: { url: 'https://x.test/a' },
          campaign: { source: 'google' },
          locale: 'en-GB',
          externalIds: [{ id: 'c-1', type: 'crm_id', collection: 'users', encoding: 'none' }],
        },
      })
      const [row] = await storedEvents(['rich-1'])
      expect(row?.payload.custom_field).toEqual({ nested: [1, 2] })
      expect(row?.payload.channel).toBe('server')
      expect(row?.payload.integrations).toEqual({ All: false, Mixpanel: true })
      expect(row?.context).toMatchObject({
        ip: '10.1.2.3',
        campaign: { source: 'google' },
        externalIds: [{ id: 'c-1', type: 'crm_id' }],
      })
    })

    it('takes identify traits from context.traits when the SDK puts them only there', async () => {
      await k.track(writeKey, '/v1/identify', {
        userId: 'u',
        messageId: 'ctx-traits-1',
        context: { traits: { email: 'x@y.z' } },
      })
      const [row] = await storedEvents(['ctx-traits-1'])
      expect(row?.traits).toEqual({ email: 'x@y.z' })
    })

    it('refuses what the store could not hold, instead of acknowledging it', async () => {
      const nul = await k.track(writeKey, '/v1/track', {
        userId: 'u',
        event: 'Nul',
        messageId: 'nul-1',
        properties: { note: 'a\u0000b' },
      })
      expect(nul.status).toBe(400)
      expect((await errorOf(nul)).details).toEqual([
        expect.objectContaining({ path: 'properties.note' }),
      ])
      // A user typing a backslash-u0000 literally is fine.
      const literal = await k.track(writeKey, '/v1/track', {
        userId: 'u',
        event: 'Literal',
        messageId: 'nul-2',
        properties: { note: 'a\\u0000b' },
      })
      expect(literal.status).toBe(200)
      const far = await k.track(writeKey, '/v1/track', {
        userId: 'u',
        event: 'Far',
        timestamp: '+010000-01-01T00:00:00.000Z',
      })
      expect(far.status).toBe(400)
      // An absurd sentAt cannot push the corrected time out of range either.
      const skewed = await k.track(writeKey, '/v1/track', {
        userId: 'u',
        event: 'Skew',
        messageId: 'nul-3',
        timestamp: '9999-06-01T00:00:00.000Z',
        sentAt: '0001-01-01T00:00:00.000Z',
      })
      expect(skewed.status).toBe(200)
      const rows = await storedEvents(['nul-1', 'nul-2', 'nul-3'])
      expect(rows.map((r) => r.message_id)).toEqual(['nul-2', 'nul-3'])
      expect(new Date(rows[1]?.timestamp as Date).toISOString()).toBe('9999-06-01T00:00:00.000Z')
    })

    it('stores a retried messageId once', async () => {
      const body = { userId: 'u', event: 'Retry', messageId: 'retry-1' }
      for (let i = 0; i < 3; i++)
        expect((await k.track(writeKey, '/v1/track', body)).status).toBe(200)
      await k.track(writeKey, '/v1/batch', {
        batch: [
          { ...body, type: 'track' },
          { ...body, type: 'track' },
        ],
      })
      expect(await storedEvents(['retry-1'])).toHaveLength(1)
    })
  })

  describe('tracking API: bodies, encodings and limits', () => {
    it('accepts gzip and deflate bodies whatever the Content-Type says', async () => {
      const gz = await k.track(
        writeKey,
        '/v1/track',
        gzipSync(JSON.stringify({ userId: 'u', event: 'gz', messageId: 'gz-1' })),
        {
          'content-encoding': 'gzip',
          'content-type': 'application/x-www-form-urlencoded',
        },
      )
      expect(gz.status).toBe(200)
      const df = await k.track(
        writeKey,
        '/v1/track',
        deflateSync(JSON.stringify({ userId: 'u', event: 'df', messageId: 'df-1' })),
        {
          'content-encoding': 'deflate',
          'content-type': 'text/plain',
        },
      )
      expect(df.status).toBe(200)
      expect(await storedEvents(['df-1', 'gz-1'])).toHaveLength(2)
    })

    it('rejects an unknown encoding with 415, corrupt gzip and bad JSON with 400', async () => {
      const enc = await k.track(writeKey, '/v1/track', '{}', { 'content-encoding': 'zstd' })
      expect(enc.status).toBe(415)
      expect((await errorOf(enc)).code).toBe('UNSUPPORTED_ENCODING')
      const bad = await k.track(writeKey, '/v1/track', Buffer.from('not gzip'), {
        'content-encoding': 'gzip',
      })
      expect(bad.status).toBe(400)
      const json = await k.track(writeKey, '/v1/track', '{"userId": ')
      expect(json.status).toBe(400)
      expect((await errorOf(json)).code).toBe('INVALID_JSON')
      const empty = await k.track(writeKey, '/v1/track', '')
      expect(empty.status).toBe(400)
      const arr = await k.track(writeKey, '/v1/track', '[1,2]')
      expect(arr.status).toBe(400)
    })

    it('rejects an event over 32 KB with 400', async () => {
      const res = await k.track(writeKey, '/v1/track', {
        userId: 'u',
        event: 'big',
        properties: { blob: 'x'.repeat(MAX_EVENT_BYTES) },
      })
      expect(res.status).toBe(400)
      expect((await errorOf(res)).code).toBe('EVENT_TOO_LARGE')
    })

    it('accepts a batch over 32 KB whose events are each under it, as sent (formatting and all)', async () => {
      const near = {
        type: 'track',
        userId: 'u',
        event: 'near',
        messageId: 'near-limit',
        properties: { blob: 'x'.repeat(MAX_EVENT_BYTES - 200) },
      }
      // No messageId on the second: the one made at ingest is the one the processor stores.
      const other = { type: 'identify', anonymousId: 'a-near', traits: { n: 1 } }
      const body = JSON.stringify({ batch: [near, other], context: { locale: 'fr' } }, null, 1)
      expect(body.length).toBeGreaterThan(MAX_EVENT_BYTES)
      const res = await k.track(writeKey, '/v1/batch', body)
      expect(res.status).toBe(200)
      const [row] = await storedEvents(['near-limit'])
      expect(row?.context).toEqual({ locale: 'fr' })
      const made = await k.kindred.store.db.query<{ message_id: string }>(
        "SELECT message_id FROM events WHERE anonymous_id = 'a-near'",
      )
      expect(made.rows).toHaveLength(1)
      expect(made.rows[0]?.message_id).toMatch(/.+/)
    })

    it('never stores a write key sent inside a batch event', async () => {
      const res = await k.track(writeKey, '/v1/batch', {
        batch: [{ type: 'track', userId: 'u', event: 'e', messageId: 'event-key-1', writeKey }],
      })
      expect(res.status).toBe(200)
      const [row] = await storedEvents(['event-key-1'])
      expect(JSON.stringify(row)).not.toContain(writeKey)
    })

    it('rejects a batch over 500 KB with 413', async () => {
      const batch = Array.from({ length: 20 }, (_, i) => ({
        type: 'track',
        userId: 'u',
        event: 'e',
        properties: { blob: 'x'.repeat(30_000), i },
      }))
      const res = await k.track(writeKey, '/v1/batch', { batch })
      expect(res.status).toBe(413)
      expect((await errorOf(res)).code).toBe('BATCH_TOO_LARGE')
    })

    it('rejects a gzip bomb by its inflated size', async () => {
      const bomb = gzipSync(
        Buffer.from(
          JSON.stringify({
            batch: [
              { type: 'track', userId: 'u', event: 'e', properties: { z: '0'.repeat(5_000_000) } },
            ],
          }),
        ),
      )
      expect(bomb.length).toBeLessThan(100_000)
      const res = await k.track(writeKey, '/v1/batch', bomb, { 'content-encoding': 'gzip' })
      expect(res.status).toBe(413)
    })

    it('rejects more than 2,500 events with 413', async () => {
      const batch = Array.from({ length: MAX_BATCH_EVENTS + 1 }, () => ({
        type: 'track',
        userId: 'u',
        event: 'e',
      }))
      const res = await k.track(writeKey, '/v1/batch', { batch })
      expect(res.status).toBe(413)
    })

    it('rejects an event over 32 KB inside a batch, naming its index', async () => {
      const batch = [
        { type: 'track', userId: 'u', event: 'ok', messageId: 'big-batch-ok' },
        {
          type: 'track',
          userId: 'u',
          event: 'big',
          properties: { blob: 'x'.repeat(MAX_EVENT_BYTES) },
        },
      ]
      const res = await k.track(writeKey, '/v1/batch', { batch })
      expect(res.status).toBe(400)
      const err = await errorOf(res)
      expect(err.details).toEqual([expect.objectContaining({ index: 1, code: 'event_too_large' })])
      expect(await storedEvents(['big-batch-ok'])).toHaveLength(0)
    })

    it('reports each rejected event of a batch and accepts none of it', async () => {
      const batch = [
        { type: 'track', userId: 'u', event: 'fine', messageId: 'atomic-1' },
        { type: 'track', userId: 'u' },
        { type: 'bogus', userId: 'u' },
        { type: 'identify', userId: 'u', timestamp: 'not a date' },
        'not an object',
      ]
      const res = await k.track(writeKey, '/v1/batch', { batch })
      expect(res.status).toBe(400)
      const err = await errorOf(res)
      expect(err.code).toBe('VALIDATION_FAILED')
      const indices = new Set((err.details as { index: number }[]).map((d) => d.index))
      expect([...indices].sort()).toEqual([1, 2, 3, 4])
      expect(await storedEvents(['atomic-1'])).toHaveLength(0)
    })

    it('applies batch-level context and checks the envelope', async () => {
      const res = await k.track(writeKey, '/v1/batch', {
        batch: [
          { type: 'track', userId: 'u', event: 'b', messageId: 'env-1', context: { locale: 'fr' } },
        ],
        context: { library: { name: 'batch-lib' }, locale: 'en' },
      })
      expect(res.status).toBe(200)
      const [row] = await storedEvents(['env-1'])
      expect(row?.context).toMatchObject({ library: { name: 'batch-lib' }, locale: 'fr' })
      expect((await k.track(writeKey, '/v1/batch', { events: [] })).status).toBe(400)
      expect((await k.track(writeKey, '/v1/batch', { batch: [] })).status).toBe(400)
    })
  })

  describe('tracking API: browsers and rate limits', () => {
    it('answers CORS preflight for analytics.js headers and echoes the origin', async () => {
      const res = await fetch(`${k.url}/v1/t`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, x-retry-count',
        },
      })
      expect(res.status).toBe(204)
      expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example')
      expect(res.headers.get('access-control-allow-credentials')).toBe('true')
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
        'x-retry-count',
      )
      const post = await k.track(
        writeKey,
        '/v1/t',
        { userId: 'u', event: 'cors' },
        { origin: 'https://shop.example', 'content-type': 'text/plain' },
      )
      expect(post.status).toBe(200)
      expect(post.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    })

    it('caches preflights for a day, lets SDKs read refusals, and keeps the admin API same-origin', async () => {
      const origin = 'https://shop.example'
      const pre = await fetch(`${k.url}/v1/batch`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type, x-custom-sdk',
        },
      })
      expect(pre.status).toBe(204)
      expect(pre.headers.get('access-control-max-age')).toBe('86400')
      expect(pre.headers.get('access-control-allow-methods')).toContain('POST')
      expect(pre.headers.get('access-control-allow-headers')).toContain('x-custom-sdk')
      expect(pre.headers.get('vary')).toContain('Origin')
      // A 401 reaches the page's SDK (it must see the status to drop, not retry blindly).
      const refused = await fetch(`${k.url}/v1/t`, {
        method: 'POST',
        headers: { origin, 'content-type': 'text/plain' },
        body: JSON.stringify({ userId: 'u', event: 'x' }),
      })
      expect(refused.status).toBe(401)
      expect(refused.headers.get('access-control-allow-origin')).toBe(origin)
      const settings = await fetch(`${k.url}/v1/projects/${writeKey}/settings`, {
        headers: { origin },
      })
      expect(settings.headers.get('access-control-allow-origin')).toBe(origin)
      // No preflight succeeds for the admin API: another site's page may not call it.
      const admin = await fetch(`${k.url}/api/v1/profiles`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'DELETE',
          'access-control-request-headers': 'x-kindred-client',
        },
      })
      expect(admin.headers.get('access-control-allow-origin')).toBeNull()
      expect(admin.status).not.toBe(204)
      const adminGet = await fetch(`${k.url}/api/v1/profiles`, { headers: { origin } })
      expect(adminGet.headers.get('access-control-allow-origin')).toBeNull()
    })

    it('serves analytics.js settings for a write key', async () => {
      const res = await fetch(`${k.url}/v1/projects/${writeKey}/settings`)
      expect(res.status).toBe(200)
      const body = (await res.json()) as {
        integrations: Record<string, { apiKey: string; apiHost: string }>
      }
      expect(body.integrations['Segment.io']?.apiKey).toBe(writeKey)
      expect((await fetch(`${k.url}/v1/projects/wk_nope/settings`)).status).toBe(404)
    })

    it('limits each write key with 429, Retry-After and X-RateLimit-Reset', async () => {
      const limited = await k.createSource('Limited', {
        rateLimit: { eventsPerSecond: 1, burst: 3 },
      })
      const statuses: number[] = []
      let last: Response | undefined
      for (let i = 0; i < 5; i++) {
        last = await k.track(limited.writeKey, '/v1/track', { userId: 'u', event: 'rl' })
        statuses.push(last.status)
      }
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200])
      expect(statuses[4]).toBe(429)
      expect(Number(last?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(Number(last?.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() - 1000)
      expect((await errorOf(last as Response)).code).toBe('RATE_LIMITED')
      // Other keys are not affected.
      expect((await k.track(writeKey, '/v1/track', { userId: 'u', event: 'free' })).status).toBe(
        200,
      )
    })
  })

  describe('operations', () => {
    it('serves healthz and Prometheus metrics', async () => {
      expect((await fetch(`${k.url}/healthz`)).status).toBe(200)
      const text = await (await fetch(`${k.url}/metrics`)).text()
      expect(text).toMatch(/^kindred_events_received_total \d+/m)
      expect(text).toMatch(/^kindred_events_processed_total \d+/m)
      expect(text).toContain('kindred_http_request_duration_seconds_bucket')
      expect(text).toMatch(/kindred_events_rejected_total\{code="UNAUTHORIZED"\} \d+/)
    })
    it('answers unknown routes with a JSON 404', async () => {
      const res = await fetch(`${k.url}/v1/nope`, {
        method: 'POST',
        headers: { authorization: basic(writeKey) },
      })
      expect(res.status).toBe(404)
      expect((await errorOf(res)).code).toBe('NOT_FOUND')
    })
    it('publishes what a source receives to the live feed', async () => {
      const controller = new AbortController()
      const res = await fetch(
        `${k.url}/api/v1/sources/${sourceId}/events/live?token=test-admin-token-0123456789`,
        { signal: controller.signal },
      )
      expect(res.headers.get('content-type')).toContain('text/event-stream')
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      let text = ''
      const read = (async () => {
        while (!text.includes('live-bad') || !text.includes('live-ok')) {
          const { value, done } = await reader.read()
          if (done) break
          text += Buffer.from(value).toString('utf8')
        }
      })()
      await new Promise((r) => setTimeout(r, 100))
      await k.track(writeKey, '/v1/track', { userId: 'u', event: 'live-ok' })
      await k.track(writeKey, '/v1/track', { userId: 'u', event: 'live-bad', properties: 'oops' })
      await read
      controller.abort()
      const messages = text
        .split('\n\n')
        .filter((m) => m.startsWith('event: event'))
        .map(
          (m) =>
            JSON.parse(m.split('\ndata: ')[1] as string) as {
              status: string
              event: { event?: string }
              errors?: { path: string }[]
            },
        )
      expect(messages.find((m) => m.event.event === 'live-ok')?.status).toBe('accepted')
      const bad = messages.find((m) => m.event?.event === 'live-bad')
      expect(bad?.status).toBe('rejected')
      expect(bad?.errors?.[0]?.path).toBe('properties')
    })
  })
})
