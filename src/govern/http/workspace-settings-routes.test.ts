/**
 * The workspace's time zone, set through the API, is the zone insights bucket days in: a daily
 * trend across the end of summer time in Berlin (26 October 2025, a 25-hour day) counts the
 * events of that local day, which no UTC day holds. Bad zones are 400s naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

const trend = {
  kind: 'trends',
  series: [{ event: 'Viewed' }],
  interval: 'day',
  range: { kind: 'between', from: '2025-10-25', to: '2025-10-27' },
}

describe.each(testStores())('workspace settings on %s', (store) => {
  let k: TestKindred

  beforeAll(async () => {
    k = await startTestKindred({ store })
    const { writeKey } = await k.createSource()
    const at = (timestamp: string) => ({ type: 'track', userId: 'u1', event: 'Viewed', timestamp })
    const res = await k.track(writeKey, '/v1/batch', {
      batch: [
        // 00:30 on 26 October in Berlin (still CEST, UTC+2), 25 October in UTC.
        at('2025-10-25T22:30:00Z'),
        // 23:30 on 26 October in Berlin (CET, UTC+1 since 03:00 CEST): 24 h after the first
        // event and still the same local day.
        at('2025-10-26T22:30:00Z'),
        // 00:30 on 27 October in Berlin, 26 October in UTC.
        at('2025-10-26T23:30:00Z'),
      ],
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
  })
  afterAll(() => k.close())

  const daily = async () => {
    const res = await k.admin('/api/v1/insights/query', { body: { definition: trend } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      result: { lines: Array<{ buckets: Array<{ start: string; value: number }> }> }
      meta: { timeZone: string }
    }
    return {
      zone: body.meta.timeZone,
      days: body.result.lines[0]?.buckets.map((v) => [v.start, v.value]),
    }
  }

  it('is UTC until set, and insights bucket days in the zone once it is', async () => {
    expect(await (await k.admin('/api/v1/workspace/settings')).json()).toEqual({
      timeZone: 'UTC',
      alertDestinationId: null,
    })
    expect(await daily()).toEqual({
      zone: 'UTC',
      days: [
        ['2025-10-25', 1],
        ['2025-10-26', 2],
        ['2025-10-27', 0],
      ],
    })

    const put = await k.admin('/api/v1/workspace/settings', {
      method: 'PUT',
      body: { timeZone: 'Europe/Berlin' },
    })
    expect(put.status).toBe(200)
    expect(await put.json()).toEqual({ timeZone: 'Europe/Berlin', alertDestinationId: null })
    expect(await (await k.admin('/api/v1/workspace/settings')).json()).toEqual({
      timeZone: 'Europe/Berlin',
      alertDestinationId: null,
    })
    expect(await daily()).toEqual({
      zone: 'Europe/Berlin',
      days: [
        ['2025-10-25', 0],
        ['2025-10-26', 2],
        ['2025-10-27', 1],
      ],
    })
  })

  it('refuses what is not a zone name, naming the field, and keeps the zone', async () => {
    for (const timeZone of ['+01:00', 'Mars/Olympus_Mons', '', 42]) {
      const res = await k.admin('/api/v1/workspace/settings', {
        method: 'PUT',
        body: { timeZone },
      })
      expect(res.status).toBe(400)
      const body = (await res.json()) as { error: { code: string; details: unknown } }
      expect(body.error.code).toBe('VALIDATION_FAILED')
      expect(JSON.stringify(body.error.details)).toContain('timeZone')
    }
    const unknownKey = await k.admin('/api/v1/workspace/settings', {
      method: 'PUT',
      body: { timeZone: 'UTC', pii: {} },
    })
    expect(unknownKey.status).toBe(400)
    expect(await (await k.admin('/api/v1/workspace/settings')).json()).toEqual({
      timeZone: 'Europe/Berlin',
      alertDestinationId: null,
    })
  })

  it('leaves the other settings of the workspace as they were', async () => {
    const { rows } = await k.kindred.store.db.query<{ settings: Record<string, unknown> }>(
      `SELECT settings FROM workspaces WHERE id = 'default'`,
    )
    await k.kindred.store.db.query(
      `UPDATE workspaces SET settings = settings || '{"pii": {"mode": "x"}}'::jsonb WHERE id = 'default'`,
    )
    await k.admin('/api/v1/workspace/settings', { method: 'PUT', body: { timeZone: 'UTC' } })
    const after = await k.kindred.store.db.query<{ settings: Record<string, unknown> }>(
      `SELECT settings FROM workspaces WHERE id = 'default'`,
    )
    expect(after.rows[0]?.settings).toEqual({
      ...rows[0]?.settings,
      pii: { mode: 'x' },
      timeZone: 'UTC',
      alertDestinationId: null,
    })
  })
})
