import { describe, expect, it } from 'vitest'
import type { DestinationInput, HttpEffect } from '../contract.js'
import { SAMPLE_NOW, ada, sampleInputs } from '../../../testing/destinations/samples.js'
import { brazeSettings } from './manifest.js'
import { classifyResponse, transform } from './transform.js'

const settings = brazeSettings.parse({
  restEndpoint: 'https://rest.fra-01.braze.eu/',
  apiKey: 'key-123456789',
})
const run = (inputs: DestinationInput[]) =>
  transform(inputs, { settings, destinationId: 'd', now: SAMPLE_NOW })

describe('braze transform', () => {
  it('keeps at most 75 objects per /users/track request', () => {
    const many = Array.from({ length: 80 }, (_, i) => ({ ...sampleInputs.profile, id: `j${i}` }))
    const { effects } = run(many)
    expect(effects.map((e) => e.itemIds.length)).toEqual([75, 5])
    expect((effects[0] as HttpEffect).url).toBe('https://rest.fra-01.braze.eu/users/track')
  })

  it('tracks anonymous events under a user alias and skips page calls', () => {
    const anon = {
      ...sampleInputs.event,
      id: 'ja',
      profile: null,
      event: {
        ...(sampleInputs.event.kind === 'event' ? sampleInputs.event.event : ({} as never)),
        userId: null,
        anonymousId: 'anon_9',
      },
    } as DestinationInput
    const page = {
      ...sampleInputs.identify,
      id: 'jp',
      event: {
        ...(sampleInputs.identify as Extract<DestinationInput, { kind: 'event' }>).event,
        type: 'page',
      },
    } as DestinationInput
    const { effects, skipped } = run([anon, page])
    expect(JSON.parse((effects[0] as HttpEffect).body!).events[0]).toMatchObject({
      user_alias: { alias_name: 'anon_9', alias_label: 'anonymous_id' },
      name: 'Order Completed',
    })
    expect(skipped).toEqual([
      {
        itemId: 'jp',
        code: 'UNSUPPORTED_EVENT_TYPE',
        message: 'Braze receives track and identify events, not page',
      },
    ])
  })

  it('adds and removes the audience key on an array attribute, and deletes by external id', () => {
    const { effects } = run([
      sampleInputs.audienceAdd,
      sampleInputs.audienceRemove,
      sampleInputs.delete,
    ])
    expect(JSON.parse((effects[0] as HttpEffect).body!).attributes).toEqual([
      { external_id: 'u_1', kindred_audiences: { add: ['vip_customers'] } },
      { external_id: 'prof_grace', kindred_audiences: { remove: ['vip_customers'] } },
    ])
    expect((effects[1] as HttpEffect).url).toBe('https://rest.fra-01.braze.eu/users/delete')
    expect(JSON.parse((effects[1] as HttpEffect).body!)).toEqual({ external_ids: ['prof_grace'] })
  })
})

// Field by field against Braze's documented schema:
// - https://www.braze.com/docs/api/objects_filters/user_attributes_object/ (profile field `phone`,
//   `email`; email validation: https://www.braze.com/docs/user_guide/message_building_by_channel/email/email_setup/email_validation/
//   "whitespaces will result in a 400 error")
// - https://www.braze.com/docs/api/objects_filters/event_object/ (property names non-empty, at
//   most 255 characters, no leading `$`; string values at most 255 characters; with a
//   `user_alias`, "Update Only" mode is always true)
// - https://www.braze.com/docs/api/endpoints/user_data/post_user_track/ (`_update_existing_only:
//   false` creates an alias-only user; MAU CY 24-25 contracts: up to 50 updates combined)
// - https://www.braze.com/docs/api/api_limits/ (X-RateLimit-Reset, UTC epoch seconds)
describe('braze vendor conformance', () => {
  type Body = { attributes?: Record<string, unknown>[]; events?: Record<string, unknown>[] }
  const body = (e: unknown) => JSON.parse((e as HttpEffect).body ?? '{}') as Body

  it('sends the email trimmed and lower-cased (Braze answers 400 for whitespace)', () => {
    const { effects } = run([sampleInputs.profile])
    expect(body(effects[0]).attributes?.[0]?.email).toBe('ada.lovelace@example.com')
  })

  it('sends a phone_number trait as the phone profile field', () => {
    const profile = { ...ada, traits: { phone_number: '+14155550100', first_name: 'P' } }
    const { effects } = run([{ kind: 'profile', id: 'jp', profile, changedTraits: [] }])
    expect(body(effects[0]).attributes?.[0]).toMatchObject({ phone: '+14155550100' })
    expect(body(effects[0]).attributes?.[0]).not.toHaveProperty('phone_number')
  })

  it('creates the alias-only user for anonymous events and identifies (_update_existing_only: false)', () => {
    const event = sampleInputs.event.kind === 'event' ? sampleInputs.event.event : ({} as never)
    const anonEvent: DestinationInput = {
      kind: 'event',
      id: 'ja',
      profile: null,
      event: { ...event, userId: null, anonymousId: 'anon_9' },
    }
    const anonIdentify: DestinationInput = {
      kind: 'event',
      id: 'ji',
      profile: null,
      event: { ...event, type: 'identify', userId: null, anonymousId: 'anon_8', traits: { a: 1 } },
    }
    const b = body(run([anonEvent, anonIdentify]).effects[0])
    const alias = (name: string) => ({ alias_name: name, alias_label: 'anonymous_id' })
    expect(b.attributes).toEqual([
      { user_alias: alias('anon_9'), _update_existing_only: false },
      { user_alias: alias('anon_8'), _update_existing_only: false, a: 1 },
    ])
    expect(b.events?.[0]).toMatchObject({ user_alias: alias('anon_9') })
  })

  it('drops leading $ from event property names and caps names and strings at 255', () => {
    const event = sampleInputs.event.kind === 'event' ? sampleInputs.event.event : ({} as never)
    const long = 'x'.repeat(300)
    const input: DestinationInput = {
      kind: 'event',
      id: 'jd',
      profile: ada,
      event: { ...event, properties: { $source: 'web', $$: 'gone', [long]: 1, note: long, n: 2 } },
    }
    const props = body(run([input]).effects[0]).events?.[0]?.properties as Record<string, unknown>
    expect(props).toEqual({ source: 'web', note: 'x'.repeat(255), n: 2 })
  })

  it('caps objects per request at the maxObjectsPerRequest setting (50 for MAU contracts)', () => {
    const s50 = brazeSettings.parse({ ...settings, maxObjectsPerRequest: 50 })
    const many = Array.from({ length: 120 }, (_, i) => ({ ...sampleInputs.profile, id: `j${i}` }))
    const r = transform(many, { settings: s50, destinationId: 'd', now: SAMPLE_NOW })
    expect(r.effects.map((e) => e.itemIds.length)).toEqual([50, 50, 20])
    expect(() => brazeSettings.parse({ ...settings, maxObjectsPerRequest: 76 })).toThrow()
  })

  it('a 429 waits until X-RateLimit-Reset, as a quota wait', () => {
    const now = Date.parse('2026-11-25T10:00:00Z')
    const c = classifyResponse(
      {
        status: 429,
        headers: { 'x-ratelimit-reset': String(now / 1000 + 90), 'x-ratelimit-remaining': '0' },
        body: '{"message":"Too many requests"}',
      },
      { effect: run([sampleInputs.profile]).effects[0] as HttpEffect, now },
    )
    expect(c).toMatchObject({ outcome: 'retry', retryAfterMs: 90_000, quota: true })
  })
})
