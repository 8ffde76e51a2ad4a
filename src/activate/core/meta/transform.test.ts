import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { DestinationInput, HttpEffect } from '../contract.js'
import { SAMPLE_NOW, ada, sampleInputs } from '../../../testing/destinations/samples.js'
import { metaSettings } from './manifest.js'
import { metaRow, transform } from './transform.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')
const settings = metaSettings.parse({ audienceId: '2385', accessToken: 'EAAB-123456789' })

describe('meta transform', () => {
  it('hashes lower-cased email and phone digits without "+"', () => {
    expect(metaRow(ada, 'US')).toEqual([sha('ada.lovelace@example.com'), sha('442079460958')])
    expect(metaRow({ ...ada, traits: { phone: '+1 415 555 0100' }, identities: [] }, 'US')).toEqual(
      ['', sha('14155550100')],
    )
  })

  it('splits at 10,000 rows per request', () => {
    const inputs: DestinationInput[] = Array.from({ length: 10_001 }, (_, i) => ({
      ...sampleInputs.audienceAdd,
      id: `j${i}`,
      profile: { ...ada, traits: { email: `u${i}@example.com` } },
    })) as DestinationInput[]
    const { effects } = transform(inputs, { settings, destinationId: 'd', now: SAMPLE_NOW })
    expect(effects.map((e) => e.itemIds.length)).toEqual([10_000, 1])
    expect((effects[0] as HttpEffect).url).toBe('https://graph.facebook.com/v25.0/2385/users')
  })
})
