/**
 * A source's schema, its stored history and the workspace's names, from events sent through the
 * tracking API: counts and value types as sent, newest-first history that searches by person and
 * event name and pages through events that arrived in one request without losing or repeating
 * any, and the names the segment builder suggests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

interface Recent {
  messageId: string
  type: string
  event: string | null
  userId: string | null
}

describe('source schema, history and catalogue', () => {
  let k: TestKindred
  let sourceId: string
  let writeKey: string
  beforeAll(async () => {
    k = await startTestKindred()
    ;({ id: sourceId, writeKey } = await k.createSource('web'))
    const batch = [
      {
        type: 'identify',
        userId: 'u1',
        messageId: 'm1',
        traits: { email: 'u1@example.com', plan: 'pro' },
      },
      {
        type: 'track',
        userId: 'u1',
        messageId: 'm2',
        event: 'Product Viewed',
        properties: { sku: 'a', price: 10 },
      },
      {
        type: 'track',
        userId: 'u2',
        messageId: 'm3',
        event: 'Product Viewed',
        properties: { sku: 'b', price: '12.50' },
      },
      {
        type: 'track',
        userId: 'u2',
        messageId: 'm4',
        event: 'Order Completed',
        properties: { revenue: 22.5 },
      },
      {
        type: 'page',
        anonymousId: 'anon-9',
        messageId: 'm5',
        name: 'Home',
        properties: { path: '/' },
      },
    ]
    expect((await k.track(writeKey, '/v1/batch', { batch })).status).toBe(200)
    expect(
      (
        await k.track(writeKey, '/v1/track', {
          userId: 'u3',
          messageId: 'm6',
          event: 'Product Viewed',
          properties: { sku: 'c' },
        })
      ).status,
    ).toBe(200)
    await k.kindred.processor?.drain()
  }, 60_000)
  afterAll(async () => k?.close())

  const get = async <T>(path: string) => {
    const res = await k.admin(path)
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as T
  }

  it('lists each call with its volume and fields by value type', async () => {
    const { data } = await get<{
      data: Array<{
        type: string
        event: string
        count: number
        fields: Array<{ field: string; valueTypes: string[]; count: number }>
      }>
    }>(`/api/v1/sources/${sourceId}/schema`)
    expect(data[0]).toMatchObject({ type: 'track', event: 'Product Viewed', count: 3 })
    const price = data[0]?.fields.find((f) => f.field === 'properties.price')
    expect(price?.valueTypes.sort()).toEqual(['number', 'string'])
    expect(price?.count).toBe(2)
    expect(data.map((d) => `${d.type}:${d.event}:${d.count}`).sort()).toEqual([
      'identify::1',
      'page:Home:1',
      'track:Order Completed:1',
      'track:Product Viewed:3',
    ])
  })

  it('gives the stored history newest first, searchable, paged without loss or repeats', async () => {
    const all = await get<{ data: Recent[]; nextCursor: string | null }>(
      `/api/v1/sources/${sourceId}/events`,
    )
    expect(all.data.map((e) => e.messageId)[0]).toBe('m6')
    expect(all.data).toHaveLength(6)
    expect(all.nextCursor).toBeNull()

    const seen: string[] = []
    let cursor: string | null = null
    for (let page = 0; page < 10; page++) {
      const qs: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''
      const r: { data: Recent[]; nextCursor: string | null } = await get(
        `/api/v1/sources/${sourceId}/events?limit=2${qs}`,
      )
      seen.push(...r.data.map((e) => e.messageId))
      cursor = r.nextCursor
      if (!cursor) break
    }
    expect(seen.sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])

    const byUser = await get<{ data: Recent[] }>(`/api/v1/sources/${sourceId}/events?q=u2`)
    expect(byUser.data.map((e) => e.messageId).sort()).toEqual(['m3', 'm4'])
    const byName = await get<{ data: Recent[] }>(`/api/v1/sources/${sourceId}/events?q=product`)
    expect(byName.data.map((e) => e.messageId).sort()).toEqual(['m2', 'm3', 'm6'])
    const pages = await get<{ data: Recent[] }>(`/api/v1/sources/${sourceId}/events?type=page`)
    expect(pages.data.map((e) => e.messageId)).toEqual(['m5'])
    // A LIKE wildcard is a character, not a pattern.
    const wild = await get<{ data: Recent[] }>(`/api/v1/sources/${sourceId}/events?q=%25`)
    expect(wild.data).toEqual([])
  })

  it('answers the names the segment builder suggests', async () => {
    const c = await get<{
      events: Array<{ name: string; count: number }>
      properties: Record<string, string[]>
      traits: Array<{ name: string }>
    }>('/api/v1/catalog')
    expect(c.events).toEqual([
      { name: 'Product Viewed', count: 3 },
      { name: 'Order Completed', count: 1 },
    ])
    expect(c.properties['Product Viewed']?.sort()).toEqual(['price', 'sku'])
    expect(c.traits.map((t) => t.name).sort()).toEqual(['email', 'plan'])
  })

  it('refuses bad queries with a clear error', async () => {
    expect((await k.admin(`/api/v1/sources/${sourceId}/events?limit=0`)).status).toBe(400)
    expect((await k.admin(`/api/v1/sources/${sourceId}/events?cursor=nonsense`)).status).toBe(400)
    // A cursor made by hand with a sequence the store cannot cast: refused, not a 500.
    for (const forged of [
      [1.5, 'm1'],
      [1e300, 'm1'],
    ]) {
      const c = Buffer.from(JSON.stringify(forged)).toString('base64url')
      expect((await k.admin(`/api/v1/sources/${sourceId}/events?cursor=${c}`)).status).toBe(400)
    }
    expect((await k.admin('/api/v1/sources/src_nope/schema')).status).toBe(404)
  })
})
