import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'
import { ensureEventPartitions } from '../../platform/store/partitions.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import { workspacesRepository } from '../../platform/store/repositories/workspaces-repository.js'
import { hashSecret, secretPrefix } from '../../platform/store/ids.js'
import { createQualityModule } from '../../collect/quality-module.js'
import { segmentsModule } from '../../understand/segments-module.js'
import type { RetentionScheduler } from './retention.js'
import { applyRetention } from './retention.js'

/** The injected clock: retention never reads the wall clock. */
const NOW = new Date('2030-06-15T12:00:00Z')

let k: TestKindred
let scheduler: RetentionScheduler | undefined
beforeAll(async () => {
  k = await startTestKindred({
    modules: [segmentsModule, createQualityModule({ onRetention: (s) => (scheduler = s) })],
  })
})
afterAll(() => k.close())

const db = () => k.kindred.store.db
const count = async (sql: string, params: unknown[] = []) =>
  Number((await db().query<{ n: string }>(sql, params)).rows[0]?.n)
const track = (userId: string, timestamp: string) => ({
  type: 'track',
  userId,
  event: 'Old',
  messageId: `${userId}-${timestamp}`,
  timestamp,
})

it('drops fully expired months, deletes the rest in bounded chunks, keeps other workspaces', async () => {
  // Monthly partitions for Jan and Feb 2030 (the scheduler makes them ahead of time in real life).
  await ensureEventPartitions(db(), new Date('2030-01-15T00:00:00Z'), 0, 1)
  const mine = await k.createSource('retained')
  await workspacesRepository.create(db(), 'ws_other', 'Other')
  const otherKey = 'wk_other_workspace_key_0123456789'
  await sourcesRepository.insert(db(), {
    id: 'src_other',
    workspaceId: 'ws_other',
    name: 'other',
    writeKeyHash: hashSecret(otherKey),
    writeKeyPrefix: secretPrefix(otherKey),
    settings: {},
  })
  await k.track(mine.writeKey, '/v1/import', {
    batch: [
      track('jan', '2030-01-10T00:00:00Z'), // events_2030_01: only this workspace → dropped
      track('feb', '2030-02-10T00:00:00Z'), // events_2030_02: shared → chunked delete
      track('old', '2019-05-01T00:00:00Z'), // default partition → chunked delete
      track('new', '2030-06-01T00:00:00Z'), // within 30 days of NOW → kept
    ],
  })
  await k.track(otherKey, '/v1/import', { batch: [track('other', '2030-02-11T00:00:00Z')] })
  await k.kindred.processor?.drain()
  expect(await count('SELECT count(*) AS n FROM events')).toBe(5)
  await db().query(
    `INSERT INTO quarantined_events (workspace_id, source_id, message_id, reason, type, payload,
       quarantined_at) VALUES ('default', $1, 'q-old', 'plan', 'track', '{}', '2030-01-01'),
       ('default', $1, 'q-new', 'plan', 'track', '{}', '2030-06-10')`,
    [mine.id],
  )
  const put = await k.admin('/api/v1/privacy/pii', { method: 'PUT', body: { retentionDays: 30 } })
  expect(put.status).toBe(200)

  // One row per statement, one statement per run: the backlog is worked off over runs.
  const first = await applyRetention(db(), NOW, { chunk: 1, maxChunks: 1 })
  expect(first).toMatchObject({
    workspaces: 1,
    partitionsDropped: ['events_2030_01'],
    eventsDeleted: 1,
    quarantinedDeleted: 1,
  })
  expect(await count("SELECT count(*) AS n FROM pg_class WHERE relname = 'events_2030_01'")).toBe(0)
  expect(await count("SELECT count(*) AS n FROM pg_class WHERE relname = 'events_2030_02'")).toBe(1)
  const second = await scheduler?.tick(NOW)
  expect(second).toMatchObject({ partitionsDropped: [], eventsDeleted: 1 })
  expect((await scheduler?.tick(NOW))?.eventsDeleted).toBe(0)

  const left = await db().query<{ user_id: string }>('SELECT user_id FROM events ORDER BY user_id')
  expect(left.rows.map((r) => r.user_id)).toEqual(['new', 'other'])
  expect(
    await count("SELECT count(*) AS n FROM quarantined_events WHERE message_id = 'q-new'"),
  ).toBe(1)
  // New events for a dropped month still land (in the default partition), nothing is refused.
  await k.track(mine.writeKey, '/v1/import', { batch: [track('late', '2030-01-20T00:00:00Z')] })
  await k.kindred.processor?.drain()
  expect(await count("SELECT count(*) AS n FROM events WHERE user_id = 'late'")).toBe(1)
})

it('does nothing for workspaces without a retention', async () => {
  await k.admin('/api/v1/privacy/pii', { method: 'PUT', body: { retentionDays: null } })
  const before = await count('SELECT count(*) AS n FROM events')
  expect(await applyRetention(db(), new Date('2099-01-01T00:00:00Z'))).toMatchObject({
    workspaces: 0,
    eventsDeleted: 0,
  })
  expect(await count('SELECT count(*) AS n FROM events')).toBe(before)
})
