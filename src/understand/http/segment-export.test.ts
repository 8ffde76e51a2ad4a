/**
 * The segment page's server side through the real server: the members CSV export (header, main
 * identifiers, joined at; every member exactly once across cursor pages) and the destinations
 * list filtered to those whose audience sync includes the segment.
 */
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { segmentMembersCsv } from '../engine/segments/member-export.js'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

let k: TestKindred
let segmentId = ''

async function csvOf(chunks: AsyncIterable<string>): Promise<string> {
  let out = ''
  for await (const c of chunks) out += c
  return out
}

describe.each(testStores())('segment members export on %s', (store) => {
  beforeAll(async () => {
    k = await startTestKindred({ store })
    const { writeKey } = await k.createSource('shop', {
      rateLimit: { eventsPerSecond: 1e6, burst: 1e6 },
    })
    for (let i = 0; i < 7; i++) {
      const res = await k.track(writeKey, '/v1/identify', {
        userId: `u-${i}`,
        anonymousId: `anon-${i}`,
        traits: { plan: i < 5 ? 'pro' : 'free', email: `shopper${i}@example.org` },
      })
      expect(res.status).toBe(200)
    }
    await k.kindred.processor?.drain()
    const seg = await k.admin('/api/v1/segments', {
      body: {
        name: 'Pro',
        definition: { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } },
      },
    })
    expect(seg.status).toBe(201)
    segmentId = ((await seg.json()) as { id: string }).id
  })
  afterAll(async () => {
    await k.close()
  })

  it('streams every member once with the main identifiers as CSV', async () => {
    const res = await k.admin(`/api/v1/segments/${segmentId}/members/export`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(res.headers.get('content-disposition')).toContain('attachment')
    const rows = parse(await res.text(), { columns: true }) as Array<Record<string, string>>
    expect(rows).toHaveLength(5)
    expect(rows.map((r) => r.user_id).sort()).toEqual(['u-0', 'u-1', 'u-2', 'u-3', 'u-4'])
    for (const r of rows) {
      const n = (r.user_id as string).slice(2)
      expect(r.anonymous_id).toBe(`anon-${n}`)
      expect(Number.isNaN(Date.parse(r.joined_at as string))).toBe(false)
      expect(r.profile_id).toMatch(/.+/)
    }
    const members = await k.admin(`/api/v1/segments/${segmentId}/members?limit=100`)
    const ids = ((await members.json()) as { data: Array<{ profileId: string }> }).data
      .map((m) => m.profileId)
      .sort()
    expect(rows.map((r) => r.profile_id).sort()).toEqual(ids)
  })

  it('pages through members on the cursor without losing or repeating one', async () => {
    const whole = await csvOf(segmentMembersCsv(k.kindred.store.db, 'default', segmentId, 500))
    const paged = await csvOf(segmentMembersCsv(k.kindred.store.db, 'default', segmentId, 2))
    expect(paged).toBe(whole)
    expect(paged.trim().split('\n')).toHaveLength(6)
  })

  it('answers 404 for an unknown segment', async () => {
    const res = await k.admin('/api/v1/segments/nope/members/export')
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/.+/)
  })

  it('lists only the destinations whose audience sync includes the segment', async () => {
    const make = async (name: string, segmentIds: string[]) => {
      const res = await k.admin('/api/v1/destinations', {
        body: {
          type: 'builtin.webhook',
          name,
          enabled: false,
          settings: { url: 'https://hooks.example.com/in', signingSecret: 's'.repeat(32) },
          actions: { syncAudience: { segmentIds } },
        },
      })
      expect(res.status).toBe(201)
    }
    await make('syncs-it', [segmentId])
    await make('syncs-other', ['seg_other'])
    const res = await k.admin(`/api/v1/destinations?segment=${segmentId}`)
    expect(res.status).toBe(200)
    const names = ((await res.json()) as { data: Array<{ name: string }> }).data.map((d) => d.name)
    expect(names).toEqual(['syncs-it'])
    const all = await k.admin('/api/v1/destinations')
    expect(((await all.json()) as { data: unknown[] }).data).toHaveLength(2)
  })
})
