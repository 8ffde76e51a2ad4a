import { describe, expect, it } from 'vitest'
import type { DestinationInput, HttpEffect } from '../contract.js'
import { SAMPLE_NOW, sampleInputs } from '../../../testing/destinations/samples.js'
import { brazeSettings } from './manifest.js'
import { transform } from './transform.js'

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
