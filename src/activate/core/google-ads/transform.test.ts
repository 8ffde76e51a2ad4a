import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { HttpEffect } from '../contract.js'
import {
  SAMPLE_NOW,
  anonymous,
  grace,
  sampleInputs,
} from '../../../testing/destinations/samples.js'
import { googleAdsSettings } from './manifest.js'
import { transform, userIdentifiers } from './transform.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const settings = googleAdsSettings.parse({
  customerId: '1234567890',
  userListId: '42',
  developerToken: 'dev-12345678',
  accessToken: 'tok-12345678',
})

describe('google-ads transform', () => {
  it('hashes normalised email (gmail dots dropped) and E.164 phone', () => {
    expect(userIdentifiers(grace, 'US')).toEqual([
      { hashedEmail: sha('gracehopper@gmail.com') },
      { hashedPhoneNumber: sha('+14155550100') },
    ])
  })

  it('builds one create → addOperations → run chain per batch, skipping profiles without identifiers', () => {
    const noIds = { ...sampleInputs.audienceAdd, id: 'j_anon', profile: anonymous }
    const r = transform([sampleInputs.audienceAdd, noIds], {
      settings,
      destinationId: 'd',
      now: SAMPLE_NOW,
    })
    expect(r.skipped.map((s) => [s.itemId, s.code])).toEqual([['j_anon', 'MISSING_IDENTIFIER']])
    const urls = (r.effects as HttpEffect[]).map((e) => e.url)
    expect(urls).toEqual([
      'https://googleads.googleapis.com/v26/customers/1234567890/offlineUserDataJobs:create',
      'https://googleads.googleapis.com/v26/${job}:addOperations',
      'https://googleads.googleapis.com/v26/${job}:run',
    ])
    expect(new Set(r.effects.map((e) => e.chain)).size).toBe(1)
    expect((r.effects[0] as HttpEffect).headers).not.toHaveProperty('login-customer-id')
  })
})

// Google's OfflineUserDataJobService reference and error protos:
// https://developers.google.com/google-ads/api/reference/rpc/latest/OfflineUserDataJobError
// (CONFLICTING_OPERATION: "Mixing creation and removal of offline data in the same job is not
// allowed.") and https://developers.google.com/google-ads/api/docs/best-practices/partial-failures
describe('google-ads vendor conformance', () => {
  const ctx = { settings, destinationId: 'd', now: SAMPLE_NOW }
  const ops = (e: HttpEffect) =>
    (JSON.parse(e.body ?? '{}') as { operations: Record<string, unknown>[] }).operations

  it('never mixes create and remove operations in one job: one chain per action', () => {
    const r = transform([sampleInputs.audienceAdd, sampleInputs.audienceRemove], ctx)
    const effects = r.effects as HttpEffect[]
    const chains = [...new Set(effects.map((e) => e.chain))]
    expect(chains).toHaveLength(2)
    for (const chain of chains) {
      const add = effects.find((e) => e.chain === chain && e.url.endsWith(':addOperations'))
      expect(add).toBeDefined()
      const kinds = new Set(ops(add as HttpEffect).flatMap((o) => Object.keys(o)))
      expect(kinds.size).toBe(1)
    }
    const byItem = Object.fromEntries(
      effects
        .filter((e) => e.url.endsWith(':addOperations'))
        .map((e) => [e.itemIds.join(','), Object.keys(ops(e)[0] ?? {})[0]]),
    )
    expect(byItem).toEqual({ job_4: 'create', job_5: 'remove' })
  })

  it('maps operation indexes to items, so partialFailureError can be attributed', () => {
    const r = transform([sampleInputs.audienceAdd, { ...sampleInputs.audienceAdd, id: 'j2' }], ctx)
    const add = (r.effects as HttpEffect[]).find((e) => e.url.endsWith(':addOperations'))
    expect(add?.itemKeys).toEqual({ 'operations:0': 'job_4', 'operations:1': 'j2' })
  })
})
