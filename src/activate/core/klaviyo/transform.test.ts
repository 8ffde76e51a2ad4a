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

// Klaviyo's profile schema (openapi/stable.json, ProfileUpsertQueryResourceObject): phone_number is
// "Individual's phone number in E.164 format", and a profile needs one of email, phone_number or
// external_id: https://developers.klaviyo.com/en/reference/spawn_bulk_profile_import_job
describe('klaviyo vendor conformance', () => {
  const phoneOnly = (phone: string) => ({
    kind: 'profile' as const,
    id: 'jp',
    profile: { id: 'prof_p', traits: { phone_number: phone, first_name: 'P' }, identities: [] },
    changedTraits: [],
  })
  const profilesOf = (r: ReturnType<typeof run>) =>
    (
      JSON.parse(r.effects[0]?.type === 'http' ? (r.effects[0].body ?? '{}') : '{}') as {
        data: { attributes: { profiles: { data: { attributes: Record<string, unknown> }[] } } }
      }
    ).data.attributes.profiles.data.map((p) => p.attributes)

  it('reads national-format phones in the defaultCountry setting (US unless set)', () => {
    expect(profilesOf(run({}, [phoneOnly('(415) 555-0100')]))[0]?.phone_number).toBe('+14155550100')
    expect(
      profilesOf(run({ defaultCountry: 'DE' }, [phoneOnly('030 12345678')]))[0]?.phone_number,
    ).toBe('+493012345678')
  })

  it('skips a profile whose only phone is not a valid number instead of sending no identifier', () => {
    const r = run({}, [phoneOnly('12')])
    expect(r.effects).toEqual([])
    expect(r.skipped.map((s) => [s.itemId, s.code])).toEqual([['jp', 'MISSING_IDENTIFIER']])
  })

  it('every profile it sends carries an identifier', () => {
    const r = run({}, [phoneOnly('(415) 555-0100'), sampleInputs.profile, phoneOnly('nope')])
    for (const p of profilesOf(r))
      expect(p.email ?? p.phone_number ?? p.external_id, JSON.stringify(p)).toBeDefined()
  })
})
