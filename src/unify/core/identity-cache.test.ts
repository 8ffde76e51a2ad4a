import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'
import { openStore, type Store } from '../../platform/store/open-store.js'
import { createIdentityCache } from './identity-cache.js'
import { createIdentitySettingsCache } from '../engine/identity-settings.js'
import { createIdentityStage } from '../engine/identity-stage.js'
import type { ProcessedEvent } from '../../platform/pipeline/processor.js'

describe('identity cache (bounded map)', () => {
  it('evicts the least recently used entry and counts hits and misses', () => {
    const cache = createIdentityCache(2)
    cache.set('w', 'user_id', 'a', { profileId: 'p1', version: '1' })
    cache.set('w', 'user_id', 'b', { profileId: 'p2', version: '2' })
    expect(cache.get('w', 'user_id', 'a')?.profileId).toBe('p1')
    cache.set('w', 'user_id', 'c', { profileId: 'p3', version: '3' })
    expect(cache.get('w', 'user_id', 'b')).toBeUndefined()
    expect(cache.get('w', 'user_id', 'a')?.profileId).toBe('p1')
    expect(cache.get('other', 'user_id', 'a')).toBeUndefined()
    expect(cache.stats()).toEqual({ hits: 2, misses: 2, stale: 0, size: 2 })
  })
})

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `))
  return line === undefined ? Number.NaN : Number(line.split(' ')[1])
}

for (const store of testStores()) {
  describe(`identity cache in the processor (${store})`, () => {
    let k: TestKindred
    let writeKey: string
    beforeAll(async () => {
      k = await startTestKindred({ store })
      writeKey = (await k.createSource()).writeKey
    })
    afterAll(() => k.close())

    const send = async (body: Record<string, unknown>) => {
      const res = await k.track(writeKey, '/v1/track', { event: 'Viewed', ...body })
      expect(res.status).toBe(200)
      await k.kindred.processor?.drain()
    }
    const profileOfEvent = async (messageId: string) =>
      (
        await k.kindred.store.db.query<{ profile_id: string }>(
          'SELECT profile_id FROM events WHERE message_id = $1',
          [messageId],
        )
      ).rows[0]?.profile_id
    const cacheMetrics = async () => {
      const text = await (await fetch(`${k.url}/metrics`)).text()
      const lookups = 'kindred_identity_cache_lookups_total'
      return {
        hit: metric(text, lookups, '{result="hit"}'),
        stale: metric(text, lookups, '{result="stale"}'),
        entries: metric(text, 'kindred_identity_cache_entries'),
      }
    }

    it('serves returning identifiers from the cache, and never a stale entry after a split', async () => {
      await send({ userId: 'ada', anonymousId: 'ada-laptop', messageId: 'c1' })
      await send({ anonymousId: 'ada-laptop', messageId: 'c2' })
      const first = await cacheMetrics()
      expect(first.entries).toBeGreaterThanOrEqual(2)
      expect(first.hit).toBeGreaterThanOrEqual(1)
      const ada = await profileOfEvent('c1')
      expect(await profileOfEvent('c2')).toBe(ada)

      // Another writer (here the split route; on other nodes, merges and erasures) moves the
      // cached identifier to a new profile behind the processor's back.
      const res = await k.admin(`/api/v1/profiles/${ada}/split`, {
        body: { identifiers: [{ type: 'anonymous_id', value: 'ada-laptop' }] },
      })
      expect(res.status).toBe(200)
      const { newProfileId } = (await res.json()) as { newProfileId: string }

      await send({ anonymousId: 'ada-laptop', messageId: 'c3' })
      expect(await profileOfEvent('c3')).toBe(newProfileId)
      expect((await cacheMetrics()).stale).toBeGreaterThanOrEqual(1)
      // The entry was relearnt: the next event is a hit on the new profile.
      const before = await cacheMetrics()
      await send({ anonymousId: 'ada-laptop', messageId: 'c4' })
      expect(await profileOfEvent('c4')).toBe(newProfileId)
      expect((await cacheMetrics()).hit).toBeGreaterThan(before.hit)
    })

    it('notices an identifier moved or deleted by plain SQL from another node', async () => {
      await send({ userId: 'bo', anonymousId: 'bo-phone', messageId: 'd1' })
      await send({ userId: 'cy', anonymousId: 'cy-phone', messageId: 'd2' })
      const bo = await profileOfEvent('d1')
      const cy = await profileOfEvent('d2')
      const db = k.kindred.store.db
      await db.query(
        "UPDATE identities SET profile_id = $1 WHERE type = 'anonymous_id' AND value = 'bo-phone'",
        [cy],
      )
      await send({ anonymousId: 'bo-phone', messageId: 'd3' })
      expect(await profileOfEvent('d3')).toBe(cy)
      await db.query("DELETE FROM identities WHERE type = 'anonymous_id' AND value = 'cy-phone'")
      await send({ anonymousId: 'cy-phone', messageId: 'd4' })
      const d4 = await profileOfEvent('d4')
      expect(d4).not.toBe(cy)
      expect(d4).not.toBe(bo)
    })
  })
}

describe('identity stage cache and transactions', () => {
  let store: Store
  beforeAll(async () => {
    store = await openStore({})
  })
  afterAll(() => store.close())

  const batch = (messageId: string, event: Record<string, unknown>): ProcessedEvent[] => [
    {
      workspaceId: 'default',
      sourceId: 'src',
      seq: 1,
      profileId: null,
      event: {
        type: 'track',
        event: 'Viewed',
        messageId,
        timestamp: '2026-01-01T00:00:00.000Z',
        receivedAt: '2026-01-01T00:00:00.000Z',
        properties: {},
        context: {},
        ...event,
      } as ProcessedEvent['event'],
    },
  ]

  it('learns only from batches whose transaction committed', async () => {
    const cache = createIdentityCache()
    const stage = createIdentityStage(
      createIdentitySettingsCache(() => 0, 0),
      { cache },
    )
    await expect(
      store.db.transaction(async (tx) => {
        await stage(tx, batch('r1', { userId: 'dee', anonymousId: 'dee-tab' }))
        throw new Error('the rest of the batch failed')
      }),
    ).rejects.toThrow(/rest of the batch/)
    stage.rolledBack()
    stage.committed()
    expect(cache.stats().size).toBe(0)

    const events = batch('r2', { userId: 'dee', anonymousId: 'dee-tab' })
    await store.db.transaction((tx) => stage(tx, events))
    stage.committed()
    expect(cache.get('default', 'user_id', 'dee')?.profileId).toBe(events[0]?.profileId)
    expect(cache.get('default', 'anonymous_id', 'dee-tab')?.profileId).toBe(events[0]?.profileId)
  })
})
