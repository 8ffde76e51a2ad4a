import { describe, expect, it } from 'vitest'
import type { DestinationInput, HttpEffect } from '../contract.js'
import { SAMPLE_NOW, ada, sampleInputs } from '../../../testing/destinations/samples.js'
import { hubspotSettings } from './manifest.js'
import { classifyResponse, transform } from './transform.js'

const settings = hubspotSettings.parse({ accessToken: 'pat-123456789', listId: '77' })
const run = (inputs: DestinationInput[]) =>
  transform(inputs, { settings, destinationId: 'd', now: SAMPLE_NOW })
const profiles = (n: number): DestinationInput[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'profile',
    id: `j${i}`,
    profile: { ...ada, id: `p${i}`, traits: { email: `u${i}@example.com` } },
    changedTraits: [],
  }))

describe('hubspot transform', () => {
  it('chunks upserts at 100 inputs and maps emails to item ids', () => {
    const { effects } = run(profiles(150))
    expect(effects.map((e) => e.itemIds.length)).toEqual([100, 50])
    const e = effects[1] as HttpEffect
    expect(e.itemKeys?.['u100@example.com']).toBe('j100')
  })

  it('removes via batch read (never creating contacts) then add-and-remove', () => {
    const { effects } = run([sampleInputs.audienceRemove])
    expect(effects.map((e) => e.type === 'http' && e.url)).toEqual([
      'https://api.hubapi.com/crm/v3/objects/contacts/batch/read',
      'https://api.hubapi.com/crm/v3/lists/77/memberships/add-and-remove',
    ])
    const [read, members] = effects as HttpEffect[]
    expect(JSON.parse(read!.body!)).toEqual({
      idProperty: 'email',
      inputs: [{ id: 'grace.hopper@gmail.com' }],
      properties: ['email'],
    })
    expect(read!.captures).toEqual([{ name: 'recordIds', pointer: '/results/*/id' }])
    expect(members!.body).toBe('{"recordIdsToAdd":[],"recordIdsToRemove":"${recordIds}"}')
    expect(read!.chain).toBe(members!.chain)
  })

  it('fails a whole 207 when an error names none of the records (so the dispatcher bisects)', () => {
    const effect = run(profiles(2))[`effects`][0] as HttpEffect
    const c = classifyResponse(
      {
        status: 207,
        headers: {},
        body: JSON.stringify({ errors: [{ message: 'something odd', context: {} }] }),
      },
      { effect, now: SAMPLE_NOW },
    )
    expect(c).toEqual({ outcome: 'fail', message: 'HTTP 207: something odd' })
  })
})
