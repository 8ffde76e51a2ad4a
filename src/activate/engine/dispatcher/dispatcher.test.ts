import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../../testing/test-server.js'
import { segmentsModule } from '../../../understand/segments-module.js'
import { createDestinationsModule } from '../../destinations-module.js'
import { startReceiver, until, type Receiver } from '../../../testing/test-receiver.js'

const SECRET = 'whsec-test-0123456789abcdef'

let k: TestKindred
let writeKey: string
const receivers: Receiver[] = []

beforeAll(async () => {
  k = await startTestKindred({
    modules: [
      segmentsModule,
      createDestinationsModule({
        baseDelayMs: 20,
        maxDelayMs: 100,
        pollIntervalMs: 50,
        maxAttempts: 3,
        degradedAfter: 3,
        random: () => 0.5,
        requestTimeoutMs: 5_000,
      }),
    ],
  })
  writeKey = (await k.createSource()).writeKey
})

afterEach(async () => {
  const list = (await (await k.admin('/api/v1/destinations')).json()) as { data: { id: string }[] }
  for (const d of list.data) await k.admin(`/api/v1/destinations/${d.id}`, { method: 'DELETE' })
  for (const r of receivers.splice(0)) await r.close()
})

afterAll(async () => {
  await k.close()
})

async function receiver(): Promise<Receiver> {
  const r = await startReceiver(SECRET)
  receivers.push(r)
  return r
}

async function createWebhook(
  url: string,
  actions: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  settings: Record<string, unknown> = {},
): Promise<{ id: string; status: string }> {
  const res = await k.admin('/api/v1/destinations', {
    body: {
      type: 'builtin.webhook',
      name: 'hook',
      settings: { url, signingSecret: SECRET, ...settings },
      actions,
      ...extra,
    },
  })
  expect(res.status).toBe(201)
  return (await res.json()) as { id: string; status: string }
}

async function track(event: string, properties: Record<string, unknown> = {}, userId = 'u-1') {
  const res = await k.track(writeKey, '/v1/track', { userId, event, properties })
  expect(res.status).toBe(200)
  await k.kindred.processor?.drain()
}

interface Delivery {
  status: string
  attempt: number
  responseStatus: number | null
  error: string | null
  request: { method: string; url: string }
}

async function deliveries(id: string): Promise<Delivery[]> {
  const res = await k.admin(`/api/v1/destinations/${id}/deliveries`)
  return ((await res.json()) as { data: Delivery[] }).data
}

describe('dispatcher', () => {
  it('forwards matching events, signed, with the mapping applied, and logs the delivery', async () => {
    const r = await receiver()
    const d = await createWebhook(r.url, {
      forwardEvents: {
        events: ['Order Completed'],
        where: [{ path: 'properties.total', op: 'gt', value: 10 }],
        mapping: { 'properties.revenue': 'properties.total' },
      },
    })
    await track('Order Completed', { total: 5 })
    await track('Something Else', { total: 50 })
    await track('Order Completed', { total: 42 })
    await until(() => r.received.length >= 1)
    const got = r.received[0]
    expect(got?.signatureValid).toBe(true)
    const body = got?.json as {
      kind: string
      event: { event: string; properties: Record<string, unknown> }
      profile: { id: string } | null
    }
    expect(body.kind).toBe('event')
    expect(body.event.event).toBe('Order Completed')
    expect(body.event.properties).toMatchObject({ total: 42, revenue: 42 })
    expect(body.profile?.id).toEqual(expect.any(String))
    const log = await until(async () => {
      const l = await deliveries(d.id)
      return l.length > 0 ? l : undefined
    })
    expect(log[0]).toMatchObject({ status: 'success', attempt: 1, responseStatus: 200 })
    expect(log[0]?.request).toEqual({ method: 'POST', url: r.url })
    await new Promise((res) => setTimeout(res, 150))
    expect(r.received).toHaveLength(1)
  })

  it('honours Retry-After: 1 and retries exactly once more', async () => {
    const r = await receiver()
    r.handler = (_req, n) =>
      n === 1
        ? { status: 429, headers: { 'retry-after': '1' }, body: '{"message":"slow down"}' }
        : {}
    await createWebhook(r.url, { forwardEvents: { events: ['Retry Me'] } })
    await track('Retry Me')
    await until(() => r.received.length >= 2, 5_000)
    const [first, second] = r.received
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950)
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key'])
    await new Promise((res) => setTimeout(res, 300))
    expect(r.received).toHaveLength(2)
  })

  it('waits for a vendor quota without using attempts: more 429s than maxAttempts, then delivered', async () => {
    const r = await receiver()
    // maxAttempts is 3 here: four quota refusals would dead-letter an ordinary retry.
    r.handler = (_req, n) =>
      n <= 4 ? { status: 429, headers: { 'retry-after': '0.2' }, body: '{"message":"quota"}' } : {}
    const d = await createWebhook(r.url, { forwardEvents: { events: ['Quota Me'] } })
    await track('Quota Me')
    await until(() => r.received.length >= 5, 10_000)
    const log = await until(async () => {
      const l = await deliveries(d.id)
      return l.some((x) => x.status === 'success') ? l : undefined
    })
    expect(log.filter((l) => l.status === 'retry')).toHaveLength(4)
    // Every quota wait gave its attempt back: the delivery is the job's first counted attempt.
    expect(log.map((l) => l.attempt)).toEqual([1, 1, 1, 1, 1])
    const state = (await (await k.admin(`/api/v1/destinations/${d.id}`)).json()) as {
      jobs: Record<string, number>
    }
    expect(state.jobs).toMatchObject({ dead: 0, succeeded: 1 })
  })

  it('fails fast on a 400 with the vendor message', async () => {
    const r = await receiver()
    r.handler = () => ({ status: 400, body: '{"message":"field x is required"}' })
    const d = await createWebhook(r.url, { forwardEvents: { events: ['Bad Request'] } })
    await track('Bad Request')
    const dead = await until(async () => {
      const res = await k.admin(`/api/v1/destinations/${d.id}/dead-letters`)
      const list = ((await res.json()) as { data: { lastError: string; attempts: number }[] }).data
      return list.length > 0 ? list : undefined
    })
    expect(dead[0]?.attempts).toBe(1)
    expect(dead[0]?.lastError).toContain('field x is required')
    expect(r.received).toHaveLength(1)
  })

  it('dead-letters after the retry budget, marks the destination degraded, and replays', async () => {
    const r = await receiver()
    let healthy = false
    r.handler = () => (healthy ? {} : { status: 500, body: 'boom' })
    const d = await createWebhook(r.url, { forwardEvents: { events: ['Flaky'] } })
    await track('Flaky')
    const dead = await until(async () => {
      const res = await k.admin(`/api/v1/destinations/${d.id}/dead-letters`)
      const list = ((await res.json()) as { data: { id: string; attempts: number }[] }).data
      return list.length > 0 ? list : undefined
    })
    expect(dead[0]?.attempts).toBe(3)
    expect(r.received).toHaveLength(3)
    const state = (await (await k.admin(`/api/v1/destinations/${d.id}`)).json()) as {
      status: string
      consecutiveFailures: number
      jobs: Record<string, number>
    }
    expect(state.status).toBe('degraded')
    expect(state.consecutiveFailures).toBe(3)
    expect(state.jobs).toMatchObject({ dead: 1, pending: 0 })
    const log = await deliveries(d.id)
    expect(log.map((l) => l.status)).toEqual(['retry', 'retry', 'retry'])
    // Every attempt of the job that gave up says so: the console labels them dead letters.
    const jobId = dead[0]?.id
    expect(log.map((l) => (l as Delivery & { deadJobIds: string[] }).deadJobIds)).toEqual([
      [jobId],
      [jobId],
      [jobId],
    ])
    // What each attempt carried, and the body it sent (an admin sees it).
    const first = log[0] as Delivery & {
      jobs: Array<{ id: string; kind: string; profileId: string | null }>
      payload: string | null
    }
    expect(first.jobs).toEqual([
      expect.objectContaining({ id: jobId, kind: 'event', profileId: expect.any(String) }),
    ])
    expect(first.payload).toContain('"Flaky"')

    healthy = true
    const replay = await k.admin(`/api/v1/destinations/${d.id}/replay`, { body: {} })
    expect(await replay.json()).toEqual({ replayed: 1 })
    await until(() => r.received.length >= 4)
    await until(async () => {
      const s = (await (await k.admin(`/api/v1/destinations/${d.id}`)).json()) as { status: string }
      return s.status === 'healthy'
    })
    const after = await k.admin(`/api/v1/destinations/${d.id}/dead-letters`)
    expect(((await after.json()) as { data: unknown[] }).data).toHaveLength(0)
    const relabelled = (await deliveries(d.id)) as Array<Delivery & { deadJobIds: string[] }>
    expect(relabelled.every((l) => l.deadJobIds.length === 0)).toBe(true)
  })

  it('alerts the workspace’s alert destination once when another gives up and turns degraded', async () => {
    const alerts = await receiver()
    const alertHook = await createWebhook(alerts.url, { forwardEvents: { events: ['Nothing'] } })
    const set = await k.admin('/api/v1/workspace/settings', {
      method: 'PUT',
      body: { alertDestinationId: alertHook.id },
    })
    expect(set.status).toBe(200)
    expect(
      (
        await k.admin('/api/v1/workspace/settings', {
          method: 'PUT',
          body: { alertDestinationId: 'dst_missing' },
        })
      ).status,
    ).toBe(400)
    try {
      const r = await receiver()
      r.handler = () => ({ status: 500, body: 'boom' })
      const d = await createWebhook(r.url, { forwardEvents: { events: ['Alerting'] } })
      await track('Alerting')
      await track('Alerting')
      const got = await until(() => (alerts.received.length >= 2 ? alerts.received : undefined))
      await new Promise((res) => setTimeout(res, 600))
      const events = alerts.received.map(
        (x) => (x.json as { event: { event: string; properties: Record<string, unknown> } }).event,
      )
      expect(events.every((e) => e.event === 'Destination Alert')).toBe(true)
      // Two dead letters, one alert of each kind (the hour's key holds the second back).
      expect(events.map((e) => e.properties.kind).sort()).toEqual(['dead_letters', 'degraded'])
      expect(events[0]?.properties.destinationId).toBe(d.id)
      expect(got).toHaveLength(2)
    } finally {
      await k.admin('/api/v1/workspace/settings', {
        method: 'PUT',
        body: { alertDestinationId: null },
      })
    }
  })

  it('keeps a destination’s own retry time, validated, and the default when unset', async () => {
    const r = await receiver()
    const d = await createWebhook(r.url, { forwardEvents: {} }, { retryHours: 4 })
    const read = async () =>
      ((await (await k.admin(`/api/v1/destinations/${d.id}`)).json()) as { retryHours: unknown })
        .retryHours
    expect(await read()).toBe(4)
    const put = (retryHours: unknown) =>
      k.admin(`/api/v1/destinations/${d.id}`, { method: 'PUT', body: { retryHours } })
    expect((await put(0)).status).toBe(400)
    expect((await put(500)).status).toBe(400)
    expect((await put(72)).status).toBe(200)
    expect(await read()).toBe(72)
    expect((await put(null)).status).toBe(200)
    expect(await read()).toBeNull()
  })

  it('bisects a rejected batch to isolate the bad record', async () => {
    const r = await receiver()
    r.handler = (req) => {
      const batch = (req.json as { batch: { event: { properties: { bad?: boolean } } }[] }).batch
      return batch.some((i) => i.event.properties.bad)
        ? { status: 422, body: '{"message":"bad record"}' }
        : {}
    }
    const d = await createWebhook(
      r.url,
      { forwardEvents: { events: ['Batched'] } },
      {},
      { batch: true },
    )
    const res = await k.track(writeKey, '/v1/batch', {
      batch: [0, 1, 2, 3].map((i) => ({
        type: 'track',
        userId: `b-${i}`,
        event: 'Batched',
        properties: { i, bad: i === 2 },
      })),
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
    const dead = await until(async () => {
      const x = await k.admin(`/api/v1/destinations/${d.id}/dead-letters`)
      const list = (
        (await x.json()) as { data: { input: { event: { properties: { i: number } } } }[] }
      ).data
      return list.length > 0 ? list : undefined
    })
    expect(dead.map((x) => x.input.event.properties.i)).toEqual([2])
    const delivered = r.received
      .filter(
        (x) =>
          x.at &&
          !(x.json as { batch: { event: { properties: { bad: boolean } } }[] }).batch.some(
            (i) => i.event.properties.bad,
          ),
      )
      .flatMap((x) =>
        (x.json as { batch: { event: { properties: { i: number } } }[] }).batch.map(
          (i) => i.event.properties.i,
        ),
      )
    expect(delivered.sort()).toEqual([0, 1, 3])
  })

  it('does not bisect a batch refused for the whole request (401)', async () => {
    const r = await receiver()
    r.handler = () => ({ status: 401, body: '{"message":"invalid token"}' })
    const d = await createWebhook(
      r.url,
      { forwardEvents: { events: ['Unauthorized'] } },
      {},
      { batch: true },
    )
    const res = await k.track(writeKey, '/v1/batch', {
      batch: [0, 1, 2].map((i) => ({ type: 'track', userId: `x-${i}`, event: 'Unauthorized' })),
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
    const dead = await until(async () => {
      const x = await k.admin(`/api/v1/destinations/${d.id}/dead-letters`)
      const list = ((await x.json()) as { data: { lastError: string }[] }).data
      return list.length === 3 ? list : undefined
    })
    expect(dead.every((x) => x.lastError.includes('invalid token'))).toBe(true)
    expect(r.received).toHaveLength(1)
  })

  it('keeps serving other destinations while one is slow', async () => {
    const slow = await receiver()
    slow.handler = () => ({ delayMs: 2_000 })
    const fast = await receiver()
    await createWebhook(slow.url, { forwardEvents: { events: ['Slow One'] } })
    await createWebhook(fast.url, { forwardEvents: { events: ['Fast One'] } })
    await track('Slow One')
    // The slow vendor holds its request open…
    await until(() => slow.received.length >= 1)
    await track('Fast One')
    // …and the other destination is served meanwhile.
    await until(() => fast.received.length >= 1)
    const slowAnswers = (slow.received[0]?.at ?? 0) + 2_000
    expect(fast.received[0]?.at).toBeLessThan(slowAnswers)
  })

  it('spreads requests with the per-destination rate limit', async () => {
    const r = await receiver()
    await createWebhook(r.url, { forwardEvents: { events: ['Limited'] } }, { rateLimit: 2 })
    const res = await k.track(writeKey, '/v1/batch', {
      batch: Array.from({ length: 8 }, (_, i) => ({
        type: 'track',
        userId: `r-${i}`,
        event: 'Limited',
      })),
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
    await until(() => r.received.length >= 8, 15_000)
    const ats = r.received.map((x) => x.at)
    // A burst of 2, then 6 more at 2/s: 3 s from the first token to the last (network jitter
    // under load can delay the first arrivals, hence the slack).
    expect(Math.max(...ats) - Math.min(...ats)).toBeGreaterThanOrEqual(2_000)
  })

  it('upserts profiles only when their traits change', async () => {
    const r = await receiver()
    await createWebhook(r.url, { upsertProfiles: true })
    const identify = async (traits: Record<string, unknown>) => {
      const res = await k.track(writeKey, '/v1/identify', { userId: 'trait-user', traits })
      expect(res.status).toBe(200)
      await k.kindred.processor?.drain()
    }
    await identify({ email: 'ada@example.com', plan: 'free' })
    await until(() => r.received.length >= 1)
    await identify({ email: 'ada@example.com', plan: 'free' })
    await identify({ email: 'ada@example.com', plan: 'pro' })
    await until(() => r.received.length >= 2)
    await new Promise((res) => setTimeout(res, 200))
    expect(r.received).toHaveLength(2)
    const second = r.received[1]?.json as {
      kind: string
      changedTraits: string[]
      profile: { traits: Record<string, unknown>; identities: { type: string; value: string }[] }
    }
    expect(second.kind).toBe('profile')
    expect(second.changedTraits).toEqual(['plan'])
    expect(second.profile.traits).toMatchObject({ plan: 'pro', email: 'ada@example.com' })
    expect(second.profile.identities).toContainEqual({ type: 'user_id', value: 'trait-user' })
  })

  it('syncs audiences: initial members, then outbox segment.entered/exited (mirror)', async () => {
    const r = await receiver()
    await track('Seed', {}, 'aud-1')
    await track('Seed', {}, 'aud-2')
    const profiles = await k.kindred.store.db.query<{ profile_id: string; value: string }>(
      `SELECT profile_id, value FROM identities WHERE value IN ('aud-1', 'aud-2') ORDER BY value`,
    )
    const [p1, p2] = profiles.rows.map((x) => x.profile_id) as [string, string]
    await k.kindred.store.db.query(
      `INSERT INTO segment_members (workspace_id, segment_id, profile_id, entered_at)
       VALUES ('default', 'seg_vip', $1, now())`,
      [p1],
    )
    await createWebhook(r.url, { syncAudience: { segmentIds: ['seg_vip'] } })
    await until(() => r.received.length >= 1)
    expect(r.received[0]?.json).toMatchObject({
      kind: 'audience',
      action: 'add',
      audience: { id: 'seg_vip', key: 'seg_vip' },
      profile: { id: p1 },
    })
    await k.kindred.store.db.query(
      `INSERT INTO outbox (workspace_id, kind, profile_id, payload) VALUES
       ('default', 'segment.entered', $1, '{"segmentId":"seg_vip","segmentName":"VIP","at":"2026-01-01T00:00:00Z"}'),
       ('default', 'segment.entered', $1, '{"segmentId":"seg_other","segmentName":"Other","at":"2026-01-01T00:00:00Z"}'),
       ('default', 'segment.exited', $2, '{"segmentId":"seg_vip","segmentName":"VIP","at":"2026-01-01T00:00:01Z"}')`,
      [p2, p1],
    )
    await until(() => r.received.length >= 3)
    await new Promise((res) => setTimeout(res, 200))
    expect(r.received).toHaveLength(3)
    const rest = r.received
      .slice(1)
      .map((x) => x.json as { action: string; profile: { id: string }; audience: { name: string } })
    expect(rest.map((x) => [x.action, x.profile.id, x.audience.name])).toEqual([
      ['add', p2, 'VIP'],
      ['remove', p1, 'VIP'],
    ])
  })
})

describe('dispatcher: outbound policy at send time', () => {
  it('refuses a non-public address stored before the save-time check, once, as a failure', async () => {
    const r = await receiver()
    const d = await createWebhook(r.url, { forwardEvents: { events: ['Metadata Probe'] } })
    // A row written before URLs were checked at save (or by hand): the send-time check decides.
    await k.kindred.store.db.query(
      `UPDATE destinations SET settings = jsonb_set(settings, '{url}', $2::jsonb) WHERE id = $1`,
      [d.id, JSON.stringify('http://169.254.169.254/latest/meta-data/')],
    )
    await track('Metadata Probe')
    const dead = await until(async () => {
      const res = await k.admin(`/api/v1/destinations/${d.id}/dead-letters`)
      const list = ((await res.json()) as { data: { lastError: string; attempts: number }[] }).data
      return list.length > 0 ? list : undefined
    })
    expect(dead[0]?.attempts).toBe(1)
    expect(dead[0]?.lastError).toMatch(
      /^OUTBOUND_ADDRESS_REFUSED: 169\.254\.169\.254 is a link-local/,
    )
    const log = await deliveries(d.id)
    expect(log[0]).toMatchObject({ status: 'failed', responseStatus: null })
    expect(r.received).toHaveLength(0)
  })

  it('never retries an unsupported scheme', async () => {
    const r = await receiver()
    const d = await createWebhook(r.url, { forwardEvents: { events: ['File Probe'] } })
    await k.kindred.store.db.query(
      `UPDATE destinations SET settings = jsonb_set(settings, '{url}', $2::jsonb) WHERE id = $1`,
      [d.id, JSON.stringify('file:///etc/passwd')],
    )
    await track('File Probe')
    const dead = await until(async () => {
      const res = await k.admin(`/api/v1/destinations/${d.id}/dead-letters`)
      const list = ((await res.json()) as { data: { lastError: string; attempts: number }[] }).data
      return list.length > 0 ? list : undefined
    })
    expect(dead[0]).toMatchObject({ attempts: 1 })
    expect(dead[0]?.lastError).toMatch(/^OUTBOUND_SCHEME_REFUSED: file: URLs are not supported/)
  })
})

describe('dispatcher: invalid stored configuration', () => {
  it('dead-letters at once, with the reason, and marks the destination degraded', async () => {
    const r = await receiver()
    const d = await createWebhook(r.url, { forwardEvents: { events: ['Broken Settings'] } })
    // A row that no longer validates (hand-edited, or written by an older version).
    await k.kindred.store.db.query(
      `UPDATE destinations SET settings = settings - 'url' WHERE id = $1`,
      [d.id],
    )
    await track('Broken Settings')
    const dead = await until(async () => {
      const res = await k.admin(`/api/v1/destinations/${d.id}/dead-letters`)
      const list = ((await res.json()) as { data: { lastError: string; attempts: number }[] }).data
      return list.length > 0 ? list : undefined
    })
    expect(dead[0]?.attempts).toBe(1)
    expect(dead[0]?.lastError).toMatch(/^INVALID_SETTINGS: .*fix it, then replay/)
    const state = (await (await k.admin(`/api/v1/destinations/${d.id}`)).json()) as {
      status: string
      lastError: string
    }
    expect(state.status).toBe('degraded')
    expect(state.lastError).toMatch(/^INVALID_SETTINGS: /)
    expect(r.received).toHaveLength(0)
  })

  it('dead-letters the jobs of a destination whose stored actions do not parse', async () => {
    const db = k.kindred.store.db
    const r = await receiver()
    const d = await createWebhook(r.url, { forwardEvents: { events: ['Never Sent'] } })
    await db.query('UPDATE destinations SET enabled = false WHERE id = $1', [d.id])
    // Inserted by hand: with actions that do not parse, the stage would not enqueue anything.
    await db.query(
      `INSERT INTO delivery_jobs (workspace_id, destination_id, kind, profile_id, input,
         idempotency_key, next_attempt_at, created_at, updated_at)
       VALUES ('default', $1, 'event', NULL, '{"kind":"event","event":{}}', 'broken-actions', now(), now(), now())`,
      [d.id],
    )
    await db.query(
      `UPDATE destinations SET enabled = true, actions = '{"forwardEvents":{"events":5}}' WHERE id = $1`,
      [d.id],
    )
    try {
      const job = await until(async () => {
        const x = await db.query<{ state: string; attempts: number; last_error: string }>(
          `SELECT state, attempts, last_error FROM delivery_jobs WHERE destination_id = $1`,
          [d.id],
        )
        return x.rows[0]?.state === 'dead' ? x.rows[0] : undefined
      })
      expect(job.attempts).toBe(1)
      expect(job.last_error).toMatch(/^INVALID_CONFIG: the stored actions do not parse/)
      const dest = await db.query<{ status: string; last_error: string }>(
        'SELECT status, last_error FROM destinations WHERE id = $1',
        [d.id],
      )
      expect(dest.rows[0]).toMatchObject({ status: 'degraded' })
      expect(dest.rows[0]?.last_error).toMatch(/^INVALID_CONFIG: /)
    } finally {
      // The routes cannot read it any more: put it back so that afterEach can delete it.
      await db.query(`UPDATE destinations SET actions = '{}' WHERE id = $1`, [d.id])
    }
  })
})
