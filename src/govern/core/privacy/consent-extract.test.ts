import { describe, expect, it } from 'vitest'
import { carriesConsent, extractConsent } from './consent-extract.js'
import {
  consentSettingsSchema,
  defaultConsentSettings,
  type ConsentSettings,
} from './consent-settings.js'

const defaults = defaultConsentSettings()
const oneTrust: ConsentSettings = consentSettingsSchema.parse({
  purposes: ['analytics', 'marketing', 'advertising', 'personalization'],
  categories: {
    C0002: 'analytics',
    C0003: 'personalization',
    C0004: 'advertising',
    C0005: 'advertising',
  },
})
const lenient: ConsentSettings = { ...defaults, missingCategories: 'ignore' }

type Ev = Parameters<typeof extractConsent>[0]
const track = (context: Record<string, unknown>): Ev => ({ type: 'track', traits: {}, context })
const identify = (traits: Record<string, unknown>, context = {}): Ev => ({
  type: 'identify',
  traits,
  context,
})

describe('extractConsent', () => {
  it.each<[string, Ev, ConsentSettings, Record<string, string>]>([
    ['no consent object', track({}), defaults, {}],
    ['empty consent object changes nothing', track({ consent: {} }), defaults, {}],
    [
      "Segment's example: named categories map to purposes by name, unaddressed are denied",
      track({
        consent: {
          categoryPreferences: {
            Advertising: true,
            Analytics: false,
            Functional: true,
            DataSharing: false,
          },
        },
      }),
      defaults,
      {
        analytics: 'denied',
        marketing: 'denied',
        advertising: 'granted',
        personalization: 'denied',
      },
    ],
    [
      'an empty categoryPreferences denies every purpose (Segment)',
      track({ consent: { categoryPreferences: {} } }),
      defaults,
      {
        analytics: 'denied',
        marketing: 'denied',
        advertising: 'denied',
        personalization: 'denied',
      },
    ],
    [
      'missingCategories ignore: only addressed purposes change',
      track({ consent: { categoryPreferences: { Marketing: true, Other: false } } }),
      lenient,
      { marketing: 'granted' },
    ],
    [
      'mapped ids; a purpose fed by two categories needs both',
      track({
        consent: { categoryPreferences: { C0002: true, C0003: true, C0004: true, C0005: false } },
      }),
      oneTrust,
      {
        analytics: 'granted',
        personalization: 'granted',
        advertising: 'denied',
        marketing: 'denied',
      },
    ],
    [
      'a mapped purpose no longer matches its bare name',
      track({ consent: { categoryPreferences: { Advertising: true, C0002: true } } }),
      oneTrust,
      {
        analytics: 'granted',
        personalization: 'denied',
        advertising: 'denied',
        marketing: 'denied',
      },
    ],
    [
      'non-boolean category values count as unaddressed',
      track({ consent: { categoryPreferences: { Marketing: 'yes' } } }),
      lenient,
      {},
    ],
    [
      'identify traits.consent with booleans and words; unknown purposes ignored',
      identify({
        consent: { marketing: true, analytics: 'denied', sms: true, advertising: 'maybe' },
      }),
      defaults,
      { marketing: 'granted', analytics: 'denied' },
    ],
    [
      'traits.consent of a track event is not consent (only identify traits are)',
      { type: 'track', traits: { consent: { marketing: true } }, context: {} },
      defaults,
      {},
    ],
    [
      'context.traits.consent counts on any event',
      track({ traits: { consent: { marketing: false } } }),
      defaults,
      { marketing: 'denied' },
    ],
    [
      'context.consent.purposes wins over traits, traits over categories',
      {
        type: 'identify',
        traits: { consent: { marketing: true, analytics: true } },
        context: {
          consent: {
            categoryPreferences: { Analytics: false, Marketing: false },
            purposes: { marketing: 'denied' },
          },
        },
      },
      lenient,
      { analytics: 'granted', marketing: 'denied' },
    ],
  ])('%s', (_name, event, settings, expected) => {
    expect(Object.fromEntries(extractConsent(event, settings))).toEqual(expected)
  })
})

describe('carriesConsent', () => {
  it.each<[Ev, boolean]>([
    [track({}), false],
    [track({ consent: {} }), false],
    [track({ consent: { categoryPreferences: {} } }), true],
    [track({ consent: { purposes: { marketing: 'granted' } } }), true],
    [track({ traits: { consent: { marketing: true } } }), true],
    [identify({ consent: { marketing: true } }), true],
    [identify({ consent: 'yes' }), false],
  ])('%j → %s', (event, expected) => {
    expect(carriesConsent(event)).toBe(expected)
  })
})
