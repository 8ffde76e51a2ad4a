/**
 * End to end through the HTTP API and the dispatcher, with vendor connectors sending to a local
 * stand-in that answers as the vendor documents its partial failures and throttling: jobs end
 * delivered, failed with the vendor's reason, or waiting for the quota's reset (attempts unused).
 * The connectors' fixed vendor hosts are redirected to the stand-in by the dispatcher's fetch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../../testing/test-server.js'
import { until } from '../../../testing/test-receiver.js'
import {
  loopbackGuard,
  startMockVendor,
  type MockVendor,
  type RecordedRequest,
  type Reply,
} from '../../../testing/mock-vendor.js'
import { createDestinationsModule } from '../../destinations-module.js'

let k: TestKindred
let vendor: MockVendor
let writeKey: string
let handler: (r: RecordedRequest) => Reply = () => ({})
// The dispatcher's clock runs ahead by `offset` ms, so a quota reset can pass without waiting.
let offset = 0

beforeAll(async () => {
  vendor = await startMockVendor((r) => handler(r))
  k = await startTestKindred({
    modules: [
      createDestinationsModule({
        baseDelayMs: 20,
        maxDelayMs: 100,
        pollIntervalMs: 50,
        maxAttempts: 3,
        random: () => 0.5,
        clock: () => Date.now() + offset,
        fetch: (url, init) =>
          loopbackGuard.fetch(url.replace(/^https:\/\/[^/]+/, vendor.base), init),
      }),
    ],
  })
  writeKey = (await k.createSource()).writeKey
})

afterAll(async () => {
  await k.close()
  await vendor.close()
})

interface Delivery {
  status: string
  attempt: number
  responseStatus: number | null
}

async function create(type: string, settings: Record<string, unknown>, actions: object) {
  const res = await k.admin('/api/v1/destinations', {
    body: { type, name: type, settings, actions },
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

async function state(id: string) {
  const res = await k.admin(`/api/v1/destinations/${id}`)
  return ((await res.json()) as { jobs: Record<string, number> }).jobs
}

async function deliveries(id: string): Promise<Delivery[]> {
  const res = await k.admin(`/api/v1/destinations/${id}/deliveries`)
  return ((await res.json()) as { data: Delivery[] }).data
}

describe('vendor answers end to end', () => {
  it('HubSpot: a DAILY 429 waits for the reset without using an attempt, then delivers', async () => {
    let limited = true
    handler = (r) =>
      limited
        ? {
            status: 429,
            headers: {
              'x-hubspot-ratelimit-daily': '250000',
              'x-hubspot-ratelimit-daily-remaining': '0',
            },
            body: {
              status: 'error',
              message: 'You have reached your daily limit.',
              errorType: 'RATE_LIMIT',
              policyName: 'DAILY',
            },
          }
        : { status: 200, body: { status: 'COMPLETE', results: [{ id: '1' }], inputs: r.json } }
    const id = await create(
      'builtin.hubspot',
      { accessToken: 'pat-na1-00000000-1111-2222-3333-444444444444' },
      { upsertProfiles: true },
    )
    const sent = vendor.requests.length
    const res = await k.track(writeKey, '/v1/identify', {
      userId: 'hs-1',
      traits: { email: 'hs1@example.com', first_name: 'Daily' },
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
    await until(async () => ((await deliveries(id)).length > 0 ? true : undefined))
    // Refused once, then nothing until the reset: the job waits, not retried with backoff.
    await new Promise((r) => setTimeout(r, 400))
    expect(vendor.requests.length - sent).toBe(1)
    expect(await state(id)).toMatchObject({ pending: 1, dead: 0 })
    limited = false
    offset += 15 * 60_000 // past the next quarter hour: the reset has come
    await until(async () => ((await state(id)).succeeded === 1 ? true : undefined), 5_000)
    const log = await deliveries(id)
    expect(log.map((l) => [l.status, l.attempt])).toEqual(
      expect.arrayContaining([
        ['retry', 1],
        ['success', 1],
      ]),
    )
  })

  it('Braze: non-fatal errors inside a 201 fail the named object with Braze’s reason, the rest delivered', async () => {
    handler = (r) => {
      const events = (r.json as { events?: { name: string }[] }).events ?? []
      const bad = events.findIndex((e) => e.name === 'Bad Event')
      return {
        status: 201,
        body: {
          message: 'success',
          ...(bad >= 0
            ? { errors: [{ type: "'name' is required", input_array: 'events', index: bad }] }
            : {}),
        },
      }
    }
    const id = await create(
      'builtin.braze',
      { restEndpoint: 'https://rest.iad-01.braze.com', apiKey: 'braze-rest-key-0123456789' },
      { forwardEvents: { events: ['Good Event', 'Bad Event'] } },
    )
    for (const event of ['Good Event', 'Bad Event']) {
      const res = await k.track(writeKey, '/v1/track', { userId: 'bz-1', event })
      expect(res.status).toBe(200)
    }
    await k.kindred.processor?.drain()
    const jobs = await until(async () => {
      const s = await state(id)
      return (s.succeeded ?? 0) + (s.dead ?? 0) === 2 ? s : undefined
    }, 5_000)
    expect(jobs).toMatchObject({ succeeded: 1, dead: 1 })
    const dead = await k.admin(`/api/v1/destinations/${id}/dead-letters`)
    const list = ((await dead.json()) as { data: { lastError: string }[] }).data
    expect(list[0]?.lastError).toContain("'name' is required")
  })
})
