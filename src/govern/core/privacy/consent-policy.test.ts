import { describe, expect, it } from 'vitest'
import {
  allowed,
  consentKey,
  defaultFlips,
  latestDecisions,
  planConsent,
  type ConsentObservation,
  type CurrentConsent,
} from './consent-policy.js'
import { consentSettingsSchema } from './consent-settings.js'

describe('allowed', () => {
  const allowAll = { unknown: 'allow' as const, unknownByPurpose: {} }
  const denyAds = { unknown: 'allow' as const, unknownByPurpose: { advertising: 'deny' as const } }
  const denyAll = { unknown: 'deny' as const, unknownByPurpose: { analytics: 'allow' as const } }
  it.each([
    [
      'granted wins over a deny default',
      { marketing: { status: 'granted' as const } },
      'marketing',
      denyAll,
      true,
    ],
    [
      'denied wins over an allow default',
      { marketing: { status: 'denied' as const } },
      'marketing',
      allowAll,
      false,
    ],
    ['unknown follows the global default (allow)', {}, 'marketing', allowAll, true],
    ['unknown follows the global default (deny)', {}, 'marketing', denyAll, false],
    ['a per-purpose default beats the global one (deny)', {}, 'advertising', denyAds, false],
    ['a per-purpose default beats the global one (allow)', {}, 'analytics', denyAll, true],
    [
      'another purpose answered says nothing of this one',
      { analytics: { status: 'granted' as const } },
      'marketing',
      denyAll,
      false,
    ],
    ['inherited object keys are not consent', {}, 'toString', denyAll, false],
  ])('%s', (_n, state, purpose, policy, expected) => {
    expect(allowed(state, purpose, policy)).toBe(expected)
  })
})

describe('defaultFlips', () => {
  const allow = { unknown: 'allow' as const, unknownByPurpose: {} }
  const purposes = ['analytics', 'advertising', 'marketing']
  it('a global default turned to deny removes every purpose; back to allow re-adds', () => {
    const deny = { unknown: 'deny' as const, unknownByPurpose: {} }
    expect(defaultFlips(allow, deny, purposes)).toEqual(
      purposes.map((purpose) => ({ purpose, action: 'remove' })),
    )
    expect(defaultFlips(deny, allow, purposes)).toEqual(
      purposes.map((purpose) => ({ purpose, action: 'add' })),
    )
  })
  it('a per-purpose override flips that purpose only', () => {
    const denyAds = {
      unknown: 'allow' as const,
      unknownByPurpose: { advertising: 'deny' as const },
    }
    expect(defaultFlips(allow, denyAds, purposes)).toEqual([
      { purpose: 'advertising', action: 'remove' },
    ])
  })
  it('an override that restates the global default, or no change, flips nothing', () => {
    const same = { unknown: 'allow' as const, unknownByPurpose: { advertising: 'allow' as const } }
    expect(defaultFlips(allow, same, purposes)).toEqual([])
    expect(defaultFlips(allow, allow, purposes)).toEqual([])
  })
  it('a global change hidden by an override flips only the others', () => {
    const before = { unknown: 'allow' as const, unknownByPurpose: { analytics: 'allow' as const } }
    const after = { unknown: 'deny' as const, unknownByPurpose: { analytics: 'allow' as const } }
    expect(defaultFlips(before, after, [...purposes, 'analytics'])).toEqual([
      { purpose: 'advertising', action: 'remove' },
      { purpose: 'marketing', action: 'remove' },
    ])
  })
})

const obs = (
  purpose: string,
  status: 'granted' | 'denied',
  occurredAt: number,
  source: ConsentObservation['source'] = 'event',
  profileId = 'p1',
): ConsentObservation => ({
  profileId,
  purpose,
  status,
  source,
  sourceId: 'src',
  proof: `m${occurredAt}`,
  occurredAt,
})

describe('planConsent', () => {
  const current = (entries: Array<[string, string, CurrentConsent]>) =>
    new Map(entries.map(([p, purpose, c]) => [consentKey(p, purpose), c]))

  it.each<{
    name: string
    current: Array<[string, string, CurrentConsent]>
    observations: ConsentObservation[]
    history: string[]
    upserts: string[]
    transitions: string[]
  }>([
    {
      name: 'a first decision: history, state and a transition from unknown',
      current: [],
      observations: [obs('marketing', 'granted', 10)],
      history: ['marketing granted 10'],
      upserts: ['p1 marketing granted 10'],
      transitions: ['p1 marketing undefined→granted'],
    },
    {
      name: 'an event repeating the status is not history but advances the time',
      current: [['p1', 'marketing', { status: 'granted', updatedAt: 10 }]],
      observations: [obs('marketing', 'granted', 20)],
      history: [],
      upserts: ['p1 marketing granted 20'],
      transitions: [],
    },
    {
      name: 'an older event arriving late does not override a newer decision',
      current: [['p1', 'marketing', { status: 'denied', updatedAt: 100 }]],
      observations: [obs('marketing', 'granted', 50)],
      history: ['marketing granted 50'],
      upserts: [],
      transitions: [],
    },
    {
      name: 'within a batch the latest by time wins, whatever the arrival order',
      current: [],
      observations: [
        obs('ads', 'denied', 30),
        obs('ads', 'granted', 10),
        obs('ads', 'granted', 20),
      ],
      history: ['ads granted 10', 'ads denied 30'],
      upserts: ['p1 ads denied 30'],
      transitions: ['p1 ads undefined→denied'],
    },
    {
      name: 'a batch is applied in time order: a contrary decision, then a newer confirmation',
      current: [['p1', 'ads', { status: 'granted', updatedAt: 10 }]],
      observations: [obs('ads', 'granted', 30), obs('ads', 'denied', 20)],
      history: ['ads denied 20', 'ads granted 30'],
      upserts: ['p1 ads granted 30'],
      transitions: [],
    },
    {
      name: 'API decisions are always recorded, even when they repeat',
      current: [['p1', 'marketing', { status: 'granted', updatedAt: 10 }]],
      observations: [obs('marketing', 'granted', 20, 'api')],
      history: ['marketing granted 20'],
      upserts: ['p1 marketing granted 20'],
      transitions: [],
    },
    {
      name: 'equal times: the later observation in the batch wins',
      current: [],
      observations: [obs('marketing', 'granted', 10), obs('marketing', 'denied', 10)],
      history: ['marketing granted 10', 'marketing denied 10'],
      upserts: ['p1 marketing denied 10'],
      transitions: ['p1 marketing undefined→denied'],
    },
    {
      name: 'profiles and purposes are independent',
      current: [['p2', 'marketing', { status: 'granted', updatedAt: 5 }]],
      observations: [
        obs('marketing', 'denied', 10, 'event', 'p2'),
        obs('marketing', 'granted', 10),
      ],
      history: ['marketing denied 10', 'marketing granted 10'],
      upserts: ['p2 marketing denied 10', 'p1 marketing granted 10'],
      transitions: ['p2 marketing granted→denied', 'p1 marketing undefined→granted'],
    },
  ])('$name', (c) => {
    const plan = planConsent(current(c.current), c.observations)
    expect(plan.history.map((h) => `${h.purpose} ${h.status} ${h.occurredAt}`)).toEqual(c.history)
    expect(
      plan.upserts.map((u) => `${u.profileId} ${u.purpose} ${u.status} ${u.updatedAt}`),
    ).toEqual(c.upserts)
    expect(
      plan.transitions.map((t) => `${t.profileId} ${t.purpose} ${String(t.before)}→${t.after}`),
    ).toEqual(c.transitions)
  })

  it('latestDecisions rebuilds the state from a history in any order', () => {
    const state = latestDecisions([
      { purpose: 'ads', status: 'denied', occurredAt: 30 },
      { purpose: 'ads', status: 'granted', occurredAt: 10 },
      { purpose: 'marketing', status: 'granted', occurredAt: 5 },
    ])
    expect(Object.fromEntries(state)).toEqual({
      ads: { status: 'denied', updatedAt: 30 },
      marketing: { status: 'granted', updatedAt: 5 },
    })
  })
})

describe('consentSettingsSchema', () => {
  it.each([
    [{ purposes: ['marketing'] }, true],
    [{ purposes: [] }, false],
    [{ purposes: ['Marketing'] }, false],
    [{ purposes: ['a', 'a'] }, false],
    [{ purposes: ['ads'], categories: { C0004: 'ads' } }, true],
    [{ purposes: ['ads'], categories: { C0004: 'marketing' } }, false],
    [{ purposes: ['ads'], unknownByPurpose: { sms: 'deny' } }, false],
    [{ purposes: ['ads'], unknown: 'maybe' }, false],
  ])('%j valid: %s', (input, ok) => {
    expect(consentSettingsSchema.safeParse(input).success).toBe(ok)
  })

  it('fills defaults', () => {
    expect(consentSettingsSchema.parse({ purposes: ['ads'] })).toEqual({
      purposes: ['ads'],
      categories: {},
      unknown: 'allow',
      unknownByPurpose: {},
      missingCategories: 'deny',
    })
  })
})
