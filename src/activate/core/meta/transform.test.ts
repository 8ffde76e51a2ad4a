import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { DestinationInput, HttpEffect } from '../contract.js'
import { SAMPLE_NOW, ada, sampleInputs } from '../../../testing/destinations/samples.js'
import { metaSettings } from './manifest.js'
import { classifyResponse, metaRow, transform } from './transform.js'

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

// Meta's Custom Audience users edge answers 200 with num_received, num_invalid_entries and
// invalid_entry_samples (invalid value → reason):
// https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users
describe('meta vendor conformance', () => {
  const two: DestinationInput[] = [
    sampleInputs.audienceAdd,
    {
      ...sampleInputs.audienceAdd,
      id: 'j2',
      profile: { ...ada, traits: { email: 'b@example.com' }, identities: [] },
    },
  ]
  const effect = transform(two, { settings, destinationId: 'd', now: SAMPLE_NOW })
    .effects[0] as HttpEffect
  const answer = (body: unknown) =>
    classifyResponse(
      { status: 200, headers: {}, body: JSON.stringify(body) },
      { effect, now: SAMPLE_NOW },
    )

  it('a 200 reporting invalid entries fails the rows Meta names, with its reason', () => {
    expect(
      answer({
        audience_id: '2385',
        num_received: 2,
        num_invalid_entries: 1,
        invalid_entry_samples: { [sha('b@example.com')]: 'Invalid format for EMAIL' },
      }),
    ).toEqual({
      outcome: 'partial',
      failed: [
        {
          itemId: 'j2',
          message: 'Meta refused the entry: Invalid format for EMAIL',
          retryable: false,
        },
      ],
    })
  })

  it('invalid entries it cannot attribute fail the request, so the dispatcher isolates them', () => {
    expect(
      answer({ num_received: 2, num_invalid_entries: 1, invalid_entry_samples: {} }).outcome,
    ).toBe('fail')
    expect(answer({ num_received: 2, num_invalid_entries: 0 }).outcome).toBe('success')
  })
})
