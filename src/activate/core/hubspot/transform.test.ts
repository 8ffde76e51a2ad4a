import { describe, expect, it } from 'vitest'
import type { DestinationInput, HttpEffect } from '../contract.js'
import { SAMPLE_NOW, ada, sampleInputs } from '../../../testing/destinations/samples.js'
import { hubspotSettings, manifest } from './manifest.js'
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
      propertiesWithHistory: [],
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

// HubSpot's public spec (HubSpot-public-api-spec-collection, CRM/Contacts v3 contacts.json):
// BatchReadInputSimplePublicObjectId requires inputs, properties and propertiesWithHistory;
// batch/read needs crm.objects.contacts.read, lists add-and-remove needs crm.lists.read and
// crm.lists.write (CRM/Lists v3 lists.json). A unique-property batch upsert may not name one
// record twice. Rate limits: https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
describe('hubspot vendor conformance', () => {
  const twice: DestinationInput[] = [
    {
      kind: 'profile',
      id: 'ja',
      profile: { ...ada, traits: { email: 'Same@Example.com', first_name: 'Old', company: 'C' } },
      changedTraits: [],
    },
    {
      kind: 'profile',
      id: 'jb',
      profile: { ...ada, traits: { email: 'same@example.com ', first_name: 'New' } },
      changedTraits: [],
    },
  ]

  it('sends one input per email in a batch (later jobs win), attributed to every job', () => {
    const [e] = run(twice).effects as HttpEffect[]
    const body = JSON.parse(e?.body ?? '{}') as { inputs: { id: string; properties: object }[] }
    expect(body.inputs).toEqual([
      {
        id: 'same@example.com',
        idProperty: 'email',
        properties: { firstname: 'New', company: 'C', email: 'same@example.com' },
      },
    ])
    expect(e?.itemIds).toEqual(['ja', 'jb'])
    expect(e?.itemKeys).toEqual({ 'same@example.com': ['ja', 'jb'] })
    const c = classifyResponse(
      {
        status: 207,
        headers: {},
        body: JSON.stringify({
          status: 'COMPLETE',
          results: [],
          errors: [
            {
              category: 'VALIDATION_ERROR',
              message: 'bad',
              context: { ids: ['same@example.com'] },
            },
          ],
        }),
      },
      { effect: e as HttpEffect, now: SAMPLE_NOW },
    )
    expect(c).toEqual({
      outcome: 'partial',
      failed: [
        { itemId: 'ja', message: 'bad', retryable: false },
        { itemId: 'jb', message: 'bad', retryable: false },
      ],
    })
  })

  it('does not read or add one email twice in a list chain either', () => {
    const adds: DestinationInput[] = twice.map((t) => ({
      kind: 'audience',
      id: t.id,
      action: 'add',
      audience: { id: 's', name: 'S', key: 's' },
      profile: t.kind === 'profile' ? t.profile : ada,
    }))
    const [upsert] = run(adds).effects as HttpEffect[]
    expect((JSON.parse(upsert?.body ?? '{}') as { inputs: unknown[] }).inputs).toHaveLength(1)
    const [read] = run(adds.map((a) => ({ ...a, action: 'remove' }) as DestinationInput))
      .effects as HttpEffect[]
    expect(JSON.parse(read?.body ?? '{}')).toMatchObject({ inputs: [{ id: 'same@example.com' }] })
  })

  it('asks for every scope the calls need', () => {
    const text = (hubspotSettings.shape.accessToken.description ?? '') + manifest.description
    for (const scope of [
      'crm.objects.contacts.read',
      'crm.objects.contacts.write',
      'crm.lists.read',
      'crm.lists.write',
    ])
      expect(text).toContain(scope)
  })

  const limited = (policyName: string, headers: Record<string, string> = {}) =>
    classifyResponse(
      {
        status: 429,
        headers,
        body: JSON.stringify({
          status: 'error',
          message: 'You have reached your daily limit.',
          errorType: 'RATE_LIMIT',
          policyName,
        }),
      },
      {
        effect: run(profiles(1)).effects[0] as HttpEffect,
        now: Date.parse('2026-11-25T10:07:30Z'),
      },
    )

  it('a DAILY 429 waits for the reset (next quarter hour: midnight in the account time zone), as a quota wait', () => {
    expect(limited('DAILY', { 'x-hubspot-ratelimit-daily-remaining': '0' })).toMatchObject({
      outcome: 'retry',
      retryAfterMs: 7.5 * 60_000,
      quota: true,
    })
  })

  it('a secondly 429 waits the rolling interval HubSpot states, as a quota wait', () => {
    expect(
      limited('TEN_SECONDLY_ROLLING', {
        'x-hubspot-ratelimit-interval-milliseconds': '10000',
        'x-hubspot-ratelimit-remaining': '0',
        'x-hubspot-ratelimit-max': '100',
      }),
    ).toMatchObject({ outcome: 'retry', retryAfterMs: 10_000, quota: true })
  })
})
