/**
 * Normalisation rules through the API, and applied to tracked events: identify `traits` and
 * `context.traits` reach the profile (and segments) normalised like import rows do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

describe.each(testStores())('normalisation through the API on %s', (store) => {
  let k: TestKindred
  let source: { id: string; writeKey: string }
  const send = async (path: string, body: Record<string, unknown>) => {
    const res = await k.track(source.writeKey, path, body)
    expect(res.status).toBe(200)
  }
  const profile = async (userId: string) => {
    const res = await k.admin(`/api/v1/profiles/lookup?type=user_id&value=${userId}`)
    expect(res.status).toBe(200)
    return (await res.json()) as { traits: Record<string, unknown>; identities: unknown[] }
  }

  beforeAll(async () => {
    k = await startTestKindred({ store })
    source = await k.createSource('app')
  })
  afterAll(() => k.close())

  it('shows the effective rules, changes them alone, and validates them', async () => {
    const initial = await k.admin('/api/v1/identity/normalization')
    expect(initial.status).toBe(200)
    expect(await initial.json()).toMatchObject({
      text: { trim: true, unicode: 'nfc', case: 'as_is' },
      traits: { email: { kind: 'email', case: 'lower' }, phone: { kind: 'phone' } },
      identifiers: { email: { case: 'lower' }, '*': { unicode: 'none' } },
    })
    const put = await k.admin('/api/v1/identity/normalization', {
      method: 'PUT',
      body: {
        traits: { loyalty_tier: { case: 'upper' }, birthday: { kind: 'date', dateOrder: 'dmy' } },
      },
    })
    expect(put.status).toBe(200)
    expect(((await put.json()) as { traits: Record<string, unknown> }).traits).toMatchObject({
      loyalty_tier: { kind: 'text', case: 'upper' },
      birthday: { kind: 'date', dateOrder: 'dmy' },
    })
    const bad = await k.admin('/api/v1/identity/normalization', {
      method: 'PUT',
      body: { traits: { loyalty_tier: { case: 'shouting' } } },
    })
    expect(bad.status).toBe(400)
    const error = ((await bad.json()) as { error: { code: string; details: unknown } }).error
    expect(error.code).toBe('VALIDATION_FAILED')
    expect(error.details).toMatchObject({
      code: 'INVALID_IDENTITY_RULES',
      details: [{ path: 'normalization.traits.loyalty_tier.case' }],
    })
    // The rules answer carries the stored form and the effective one; sent back, it changes nothing.
    const rules = await k.admin('/api/v1/identity/rules')
    const body = (await rules.json()) as {
      rules: { normalization: unknown }
      effectiveNormalization: { traits: Record<string, unknown> }
    }
    expect(body.rules.normalization).toMatchObject({
      traits: { loyalty_tier: { case: 'upper' } },
    })
    expect(body.effectiveNormalization.traits.loyalty_tier).toMatchObject({ case: 'upper' })
    const again = await k.admin('/api/v1/identity/rules', { method: 'PUT', body })
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({
      rules: body.rules,
      effectiveNormalization: body.effectiveNormalization,
    })
  })

  it('normalises identify traits and context.traits of tracked events', async () => {
    await send('/v1/identify', {
      userId: 'norm-1',
      traits: {
        email: ' Norm.One@Example.COM\t',
        loyalty_tier: ' gold',
        birthday: '04.03.1990',
        address: { city: ' Lyon ' },
      },
      messageId: 'norm-1-identify',
    })
    await send('/v1/track', {
      userId: 'norm-1',
      event: 'Plan Changed',
      context: { traits: { plan: ' pro ', phone: '06 12 34 56 78', country: 'fr' } },
      messageId: 'norm-1-track',
    })
    await k.kindred.processor?.drain()
    const p = await profile('norm-1')
    expect(p.traits).toEqual({
      email: 'norm.one@example.com',
      loyalty_tier: 'GOLD',
      birthday: '1990-03-04',
      address: { city: 'Lyon' },
      plan: 'pro',
      phone: '+33612345678',
      country: 'FR',
    })
    expect(p.identities).toEqual(
      expect.arrayContaining([
        { type: 'email', value: 'norm.one@example.com' },
        { type: 'phone', value: '+33612345678' },
      ]),
    )
    const segment = await k.admin('/api/v1/segments/preview', {
      body: {
        definition: {
          kind: 'trait',
          trait: 'loyalty_tier',
          condition: { op: 'eq', value: 'GOLD' },
        },
      },
    })
    expect(segment.status).toBe(200)
    expect(await segment.json()).toMatchObject({ count: 1 })
  })

  it("reads a national phone in the profile's country when the event names none", async () => {
    await send('/v1/identify', {
      userId: 'norm-2',
      traits: { country: 'DE' },
      messageId: 'norm-2-a',
    })
    await k.kindred.processor?.drain()
    await send('/v1/identify', {
      userId: 'norm-2',
      traits: { phone: '030 12345678' },
      messageId: 'norm-2-b',
    })
    await k.kindred.processor?.drain()
    const p = await profile('norm-2')
    expect(p.traits.phone).toBe('+493012345678')
    expect(p.identities).toContainEqual({ type: 'phone', value: '+493012345678' })
  })
})
