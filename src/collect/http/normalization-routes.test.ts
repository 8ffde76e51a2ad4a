/** The normalisation a source's tracking plan gets, next to the plan. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

describe('GET /api/v1/sources/:id/tracking-plan/normalization', () => {
  let k: TestKindred
  let source: { id: string; writeKey: string }
  beforeAll(async () => {
    k = await startTestKindred()
    source = await k.createSource('app')
    const put = await k.admin('/api/v1/identity/normalization', {
      method: 'PUT',
      body: { traits: { loyalty_tier: { case: 'upper' } } },
    })
    expect(put.status).toBe(200)
  })
  afterAll(() => k.close())

  it('answers, per trait the plan names, the rule its values get', async () => {
    const plan = await k.admin(`/api/v1/sources/${source.id}/tracking-plan`, {
      method: 'PUT',
      body: {
        mode: 'flag',
        identify: { type: 'object', properties: { loyalty_tier: { type: 'string' }, age: {} } },
      },
    })
    expect(plan.status).toBe(200)
    const res = await k.admin(`/api/v1/sources/${source.id}/tracking-plan/normalization`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      sourceId: source.id,
      planVersion: 1,
      traits: {
        loyalty_tier: { kind: 'text', case: 'upper' },
        age: { kind: 'text', case: 'as_is' },
      },
      normalization: { traits: { email: { kind: 'email' } } },
    })
    expect((await k.admin('/api/v1/sources/src_nope/tracking-plan/normalization')).status).toBe(404)
  })
})
