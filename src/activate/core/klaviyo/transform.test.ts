import { describe, expect, it } from 'vitest'
import { SAMPLE_NOW, ada, sampleInputs } from '../../../testing/destinations/samples.js'
import { klaviyoSettings } from './manifest.js'
import { klaviyoProfile, transform } from './transform.js'

const run = (over: Record<string, unknown>, inputs: Parameters<typeof transform>[0]) =>
  transform(inputs, {
    settings: klaviyoSettings.parse({ privateApiKey: 'pk_test_123456', ...over }),
    destinationId: 'd',
    now: SAMPLE_NOW,
  })

describe('klaviyo transform', () => {
  it('maps standard attributes and puts the other traits in properties', () => {
    expect(klaviyoProfile(ada, 'ada.lovelace@example.com')).toEqual({
      type: 'profile',
      attributes: {
        email: 'ada.lovelace@example.com',
        phone_number: '+442079460958',
        external_id: 'u_1',
        first_name: 'Ada',
        last_name: 'Lovelace',
        properties: { plan: 'pro', company: 'Analytical Engines', kindred_profile_id: 'prof_ada' },
      },
    })
  })

  it('upserts all profiles of a batch in one bulk import job', () => {
    const second = {
      ...sampleInputs.profile,
      id: 'job_x',
      profile: { ...ada, id: 'p2', traits: { email: 'b@example.com' } },
    }
    const { effects } = run({}, [sampleInputs.profile, second])
    expect(effects).toHaveLength(1)
    const e = effects[0]!
    expect(e.type === 'http' && JSON.parse(e.body!).data.attributes.profiles.data).toHaveLength(2)
    expect(e.itemIds).toEqual(['job_3', 'job_x'])
  })

  it('uses the per-audience list mapping, and skips audiences without a list', () => {
    const mapped = run({ listIdsByAudience: { vip_customers: 'VIPLIST' } }, [
      sampleInputs.audienceAdd,
    ]).effects[0]
    expect(
      mapped?.type === 'http' && JSON.parse(mapped.body!).data.relationships.lists.data[0].id,
    ).toBe('VIPLIST')
    const none = run({}, [sampleInputs.audienceAdd])
    expect(none.effects).toEqual([])
    expect(none.skipped[0]?.code).toBe('NO_LIST_CONFIGURED')
  })

  it('requests a privacy deletion by email', () => {
    const e = run({}, [sampleInputs.delete]).effects[0]
    expect(e?.type === 'http' && [e.url, JSON.parse(e.body!)]).toEqual([
      'https://a.klaviyo.com/api/data-privacy-deletion-jobs',
      {
        data: {
          type: 'data-privacy-deletion-job',
          attributes: {
            profile: { data: { type: 'profile', attributes: { email: 'grace.hopper@gmail.com' } } },
          },
        },
      },
    ])
  })
})
