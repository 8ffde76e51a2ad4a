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
