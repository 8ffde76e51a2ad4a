import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scanJson } from '../../protocol/json-scan.js'
import { startTestKindred, TEST_ADMIN_TOKEN, type TestKindred } from '../../testing/test-server.js'
import type { ProcessorStage } from './processor.js'

/**
 * Nothing in the event log halts processing: events the store cannot hold (written before ingest
 * refused them, or by a future bug) are set aside with their reason, replayable, and every event
 * behind them, of any workspace, is applied within a bounded time.
 */
const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
const T = '2026-01-05T10:00:00.000Z'
const canonical = (messageId: string, userId: string, properties: string) =>
  `{"messageId":"${messageId}","type":"track","event":"Bad","userId":"${userId}","anonymousId":null,` +
  `"properties":${properties},"traits":{},"context":{},"integrations":{},"timestamp":"${T}",` +
  `"originalTimestamp":"${T}","receivedAt":"${T}"}`

let broken = false
const fragile: ProcessorStage = async () => {
  if (broken) throw new Error('stage down')
}

let k: TestKindred
let sourceA: string
let writeKeyB: string
beforeAll(async () => {
  k = await startTestKindred({ stages: [fragile] })
  sourceA = (await k.createSource('a')).id
  await k.admin('/api/v1/workspaces', { body: { id: 'ws-b', name: 'B' } })
  const res = await k.admin('/api/v1/sources', {
    body: { name: 'b', settings: { rateLimit: { eventsPerSecond: 100_000, burst: 100_000 } } },
    headers: { 'x-kindred-workspace': 'ws-b' },
  })
  writeKeyB = ((await res.json()) as { writeKey: string }).writeKey
})
afterAll(() => k.close())

const db = () => k.kindred.store.db
async function applied(messageId: string, withinMs: number): Promise<boolean> {
  const until = Date.now() + withinMs
  for (;;) {
    const r = await db().query('SELECT 1 FROM events WHERE message_id = $1', [messageId])
    if (r.rows.length > 0) return true
    if (Date.now() > until) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Appends canonical events as old data would be: straight into the log, past ingest. */
async function appendRaw(json: string): Promise<void> {
  await k.kindred.eventLog.append({
    workspaceId: 'default',
    sourceId: sourceA,
    receivedAt: T,
    events: JSON.parse(json) as never,
    eventsJson: json,
  })
}

it('sets a lone-surrogate and a 5,000-deep event aside and applies the next event of another workspace', async () => {
  await appendRaw(`[${canonical('bad-surrogate', 'sur', '{"s":"\\ud800"}')}]`)
  await appendRaw(`[${canonical('bad-deep', 'deep', deep(5_000))}]`)
  const ok = await k.track(writeKeyB, '/v1/track', {
    userId: 'b1',
    event: 'Fine',
    messageId: 'good-b',
  })
  expect(ok.status).toBe(200)
  expect(await applied('good-b', 15_000)).toBe(true)

  const q = await k.admin(`/api/v1/sources/${sourceA}/quarantine`)
  expect(q.status).toBe(200)
  const rows = ((await q.json()) as { data: Array<Record<string, unknown>> }).data
  expect(rows.map((r) => [r.messageId, r.reason]).sort()).toEqual([
    ['bad-deep', 'poison'],
    ['bad-surrogate', 'poison'],
  ])
  for (const r of rows) expect(String(r.error)).not.toBe('')
  const surrogate = rows.find((r) => r.messageId === 'bad-surrogate')
  expect((surrogate?.payload as { properties: { s: string } }).properties.s).toBe('\ud800')
  const stored = await db().query<{ payload_text: string }>(
    "SELECT payload_text FROM quarantined_events WHERE message_id = 'bad-deep'",
  )
  expect(stored.rows[0]?.payload_text).toContain(deep(5_000))

  // Replayable: a replay that fails again goes back to quarantine (attempts counted) and the log
  // keeps flowing behind it.
  const replay = await k.admin(`/api/v1/sources/${sourceA}/quarantine/replay`, { body: {} })
  expect(await replay.json()).toMatchObject({ replayed: 2 })
  await k.track(writeKeyB, '/v1/track', { userId: 'b1', event: 'Fine', messageId: 'good-b2' })
  expect(await applied('good-b2', 15_000)).toBe(true)
  const attempts = await db().query<{ attempts: number }>(
    "SELECT attempts FROM quarantined_events WHERE message_id LIKE 'bad-%'",
  )
  expect(attempts.rows.map((r) => Number(r.attempts))).toEqual([2, 2])
  const once = await db().query("SELECT 1 FROM events WHERE message_id IN ('good-b', 'good-b2')")
  expect(once.rows).toHaveLength(2)
}, 60_000)

it('sets aside an event of the log that no longer validates (written by older rules)', async () => {
  // The fast path kept raw bodies: one with a date that is now refused at ingest.
  const log = k.kindred.eventLog as unknown as { append: typeof k.kindred.eventLog.append }
  await log.append({
    workspaceId: 'default',
    sourceId: sourceA,
    receivedAt: T,
    events: [{}] as never,
    eventsJson: JSON.stringify([
      JSON.parse(canonical('bad-date', 'd', '{}').replace(T, '2020-02-30T00:00:00.000Z')),
    ]),
  })
  await k.track(writeKeyB, '/v1/track', { userId: 'b1', event: 'Fine', messageId: 'good-b3' })
  expect(await applied('good-b3', 15_000)).toBe(true)
}, 30_000)

it('applies the next valid event whatever JSON ingest accepted before it', async () => {
  let n = 0
  await fc.assert(
    fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
      const body = JSON.stringify({ userId: 'p', event: 'Any', properties: { v: value } })
      if (scanJson(Buffer.from(body)) !== undefined) return
      const res = await k.track(writeKeyB, '/v1/track', body)
      expect([200, 400]).toContain(res.status)
      const id = `next-${n++}`
      await k.track(writeKeyB, '/v1/track', { userId: 'p', event: 'Next', messageId: id })
      expect(await applied(id, 10_000)).toBe(true)
    }),
    { numRuns: 8 },
  )
}, 120_000)

describe('stalls are visible', () => {
  const metric = async (name: string) => {
    const text = await (await fetch(`${k.url}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`${name} `))
    return Number(line?.split(' ')[1])
  }

  it('degrades /healthz and raises metrics while a batch keeps failing, and recovers', async () => {
    expect((await fetch(`${k.url}/healthz`)).status).toBe(200)
    broken = true
    await k.track(writeKeyB, '/v1/track', { userId: 's', event: 'Stuck', messageId: 'stuck-1' })
    const until = Date.now() + 15_000
    let res = await fetch(`${k.url}/healthz`)
    while (res.status === 200 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      res = await fetch(`${k.url}/healthz`)
    }
    expect(res.status).toBe(503)
    const body = (await res.json()) as { status: string; reason: string; error: { code: string } }
    expect(body.status).toBe('degraded')
    expect(body.reason).toContain('stage down')
    expect(await metric('kindred_processor_stalled')).toBe(1)
    expect(await metric('kindred_processor_lag_events')).toBeGreaterThan(0)
    expect(await metric('kindred_processor_consecutive_failures')).toBeGreaterThanOrEqual(3)

    broken = false
    expect(await applied('stuck-1', 15_000)).toBe(true)
    expect((await fetch(`${k.url}/healthz`)).status).toBe(200)
    expect(await metric('kindred_processor_stalled')).toBe(0)
  }, 40_000)
})

it('healthz writes to the store', async () => {
  await fetch(`${k.url}/healthz`)
  const r = await db().query('SELECT checked_at FROM store_health')
  expect(r.rows.length).toBeGreaterThan(0)
  expect(TEST_ADMIN_TOKEN).toBeTruthy()
})

it('skips and reports an event that can be neither applied nor kept aside', async () => {
  const { setPoisonAside } = await import('./poison.js')
  const tx = { query: () => Promise.resolve({ rows: [] }) } as never
  const e = (id: string, bad: boolean) => ({
    workspaceId: 'w',
    sourceId: 's',
    seq: 1,
    profileId: null,
    event: { messageId: id, properties: { bad } } as never,
  })
  const batch = [e('fine', false), e('bad', true)]
  const skipped: string[] = []
  const kept = await setPoisonAside(
    tx,
    batch,
    async (_tx, events) => {
      for (const x of events)
        if ((x.event.properties as { bad: boolean }).bad) throw new RangeError('deep')
    },
    () => Promise.reject(new Error('quarantine down')),
    (p) => skipped.push(p.event.event.messageId),
  )
  expect(kept.map((x) => x.event.messageId)).toEqual(['fine'])
  expect(skipped).toEqual(['bad'])
})
