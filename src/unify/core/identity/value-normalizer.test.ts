import { describe, expect, it } from 'vitest'
import { extractIdentifiers, normalizeIdentifier } from './identifiers.js'
import { describeNormalization } from './normalization-rules.js'
import { compileIdentityRules, parseIdentityRules, type IdentityRulesInput } from './rules.js'
import { dateToIso, normalizeText, normalizeTraits, normalizeValue } from './value-normalizer.js'

const compiled = (input: IdentityRulesInput = {}) =>
  compileIdentityRules(parseIdentityRules(input)).normalization

describe('normalizeText', () => {
  it.each([
    [
      '\tTara.Muller3@ShopMail.example ',
      { trim: true, unicode: 'none', case: 'lower' },
      'tara.muller3@shopmail.example',
    ],
    [' GOLD', { trim: true, unicode: 'nfc', case: 'lower' }, 'gold'],
    ['gold ', { trim: true, unicode: 'nfc', case: 'upper' }, 'GOLD'],
    [' Gold ', { trim: false, unicode: 'nfc', case: 'as_is' }, ' Gold '],
    // e + combining acute → é (one code point) under NFC; the full-width letters stay.
    ['Mu\u0308ller', { trim: true, unicode: 'nfc', case: 'as_is' }, 'Müller'],
    ['\uff21\uff22\uff23', { trim: true, unicode: 'nfc', case: 'as_is' }, '\uff21\uff22\uff23'],
    // NFKC folds full-width forms; the ideographic space it leaves is trimmed.
    ['\u3000\uff21\uff22\uff23', { trim: true, unicode: 'nfkc', case: 'lower' }, 'abc'],
  ] as const)('%j under %j → %j', (raw, rule, expected) => {
    expect(normalizeText(raw, rule)).toBe(expected)
  })
})

describe('dateToIso', () => {
  it.each([
    ['1990-03-04', 'ymd', '1990-03-04'],
    [' 1990/3/4 ', 'ymd', '1990-03-04'],
    ['03/04/1990', 'ymd', undefined],
    ['03/04/1990', 'dmy', '1990-04-03'],
    ['03/04/1990', 'mdy', '1990-03-04'],
    ['04.03.1990', 'dmy', '1990-03-04'],
    ['2024-02-30', 'ymd', undefined],
    ['2024-02-29', 'ymd', '2024-02-29'],
    ['2024-01-02 10:00', 'ymd', '2024-01-02T10:00:00.000Z'],
    ['2024-01-02T10:00:00+0100', 'ymd', '2024-01-02T09:00:00.000Z'],
    ['2024-01-02T10:00:00.5-02:00', 'ymd', '2024-01-02T12:00:00.500Z'],
    [1_700_000_000, 'ymd', '2023-11-14T22:13:20.000Z'],
    [1_700_000_000_000, 'ymd', '2023-11-14T22:13:20.000Z'],
    ['next tuesday', 'ymd', undefined],
    ['0050-01-01', 'ymd', '0050-01-01'],
  ] as const)('%j (%s) → %j', (raw, order, expected) => {
    expect(dateToIso(raw, order)).toBe(expected)
  })
})

describe('normalizeTraits', () => {
  const rules = compiled({
    phoneDefaultRegion: 'US',
    normalization: {
      traits: {
        loyalty_tier: { case: 'lower' },
        plan: { case: 'upper' },
        nickname: { trim: false },
        birthday: { kind: 'date', dateOrder: 'dmy' },
        mobile: { kind: 'phone' },
      },
    },
  })
  it.each([
    [{ email: '\tTara.Muller3@ShopMail.example ' }, { email: 'tara.muller3@shopmail.example' }],
    [{ loyalty_tier: ' GOLD' }, { loyalty_tier: 'gold' }],
    [{ loyalty_tier: 'gold ' }, { loyalty_tier: 'gold' }],
    [{ plan: ' pro ' }, { plan: 'PRO' }],
    [{ nickname: ' Ty ' }, { nickname: ' Ty ' }],
    // Strings of traits without a rule: the workspace text rule, nested values too.
    [
      { city: ' Berlin ', address: { street: ' Hauptstr. 1 ', zip: 10115 } },
      { city: 'Berlin', address: { street: 'Hauptstr. 1', zip: 10115 } },
    ],
    [{ tags: [' a ', 'b '] }, { tags: ['a', 'b'] }],
    [{ birthday: '04.03.1990' }, { birthday: '1990-03-04' }],
    [{ birthday: 'unknown ' }, { birthday: 'unknown' }],
    // Phones: the row's country first, then the workspace region.
    [
      { phone: '030 12345678', country: 'de ' },
      { phone: '+493012345678', country: 'DE' },
    ],
    [{ phone: '(415) 555-2671' }, { phone: '+14155552671' }],
    [
      { mobile: '020 7946 0958', country_code: 'gb' },
      { mobile: '+442079460958', country_code: 'GB' },
    ],
    [{ phone: 'call me' }, { phone: 'call me' }],
    [{ country: 'Germany ' }, { country: 'Germany' }],
    [
      { age: 41, vip: true, gone: null },
      { age: 41, vip: true, gone: null },
    ],
  ])('%j → %j', (traits, expected) => {
    expect(normalizeTraits(traits, rules)).toEqual(expected)
  })

  it("reads a national phone in the profile's country when the event has none", () => {
    const noRegion = compiled()
    expect(normalizeTraits({ phone: '030 12345678' }, noRegion)).toEqual({ phone: '030 12345678' })
    expect(normalizeTraits({ phone: '030 12345678' }, noRegion, { profileCountry: 'DE' })).toEqual({
      phone: '+493012345678',
    })
    // The event's own country wins over the profile's.
    expect(
      normalizeTraits({ phone: '020 7946 0958', country: 'GB' }, noRegion, {
        profileCountry: 'DE',
      }),
    ).toEqual({ phone: '+442079460958', country: 'GB' })
    const notFromProfile = compiled({ normalization: { phoneCountry: { profile: false } } })
    expect(
      normalizeTraits({ phone: '030 12345678' }, notFromProfile, { profileCountry: 'DE' }),
    ).toEqual({
      phone: '030 12345678',
    })
  })

  it('keeps __proto__ keys as data and never touches Object.prototype', () => {
    const traits = JSON.parse(
      '{"__proto__": {"polluted": " x "}, "a": {"__proto__": " y "}}',
    ) as Record<string, unknown>
    const out = normalizeTraits(traits, rules)
    expect(Object.hasOwn(out, '__proto__')).toBe(true)
    expect(Object.hasOwn(out.a as object, '__proto__')).toBe(true)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('removes a default rule with null, and case-folds what is configured only', () => {
    const off = compiled({ normalization: { traits: { email: null }, text: { trim: false } } })
    expect(normalizeTraits({ email: ' Ann@X.example ', loyalty_tier: ' GOLD' }, off)).toEqual({
      email: ' Ann@X.example ',
      loyalty_tier: ' GOLD',
    })
  })

  it('normalizeValue reads numbers as phones and dates only under those rules', () => {
    const us = compiled({ phoneDefaultRegion: 'US' })
    expect(normalizeValue(4155552671, us.trait('phone'), { country: 'US' })).toBe('+14155552671')
    expect(normalizeValue(4155552671, us.trait('amount'))).toBe(4155552671)
  })
})

describe('identifiers share the rules', () => {
  it("reads a national phone in the event's country trait, identify traits first", () => {
    const rules = parseIdentityRules({ phoneDefaultRegion: 'US' })
    const ids = (event: Record<string, unknown>) =>
      extractIdentifiers({ type: 'identify', ...event }, rules).identifiers.map((i) => i.value)
    expect(ids({ traits: { phone: '030 12345678', country: 'DE' } })).toEqual(['+493012345678'])
    expect(
      ids({ traits: { phone: '030 12345678' }, context: { traits: { country_code: 'de' } } }),
    ).toEqual(['+493012345678'])
    expect(ids({ traits: { phone: '(415) 555-2671', country: 'XX' } })).toEqual(['+14155552671'])
  })

  it('says when a phone might read in the profile country, and reads it when hinted', () => {
    const rules = parseIdentityRules({})
    const event = { type: 'identify', userId: 'u1', traits: { phone: '030 12345678' } }
    const first = extractIdentifiers(event, rules)
    expect(first.identifiers).toEqual([{ type: 'user_id', value: 'u1' }])
    expect(first.phoneNeedsCountry).toBe(true)
    const again = extractIdentifiers(event, rules, { profileCountry: 'DE' })
    expect(again.identifiers.map((i) => i.value)).toEqual(['u1', '+493012345678'])
    expect(again.phoneNeedsCountry).toBeUndefined()
    // Read in the workspace region, but the profile's country would come first: asked too.
    const us = parseIdentityRules({ phoneDefaultRegion: 'US' })
    expect(
      extractIdentifiers({ ...event, traits: { phone: '(415) 555-2671' } }, us).phoneNeedsCountry,
    ).toBe(true)
    expect(
      extractIdentifiers({ ...event, traits: { phone: '+1 415 555 2671' } }, us).phoneNeedsCountry,
    ).toBeUndefined()
    const withOwn = extractIdentifiers(
      { ...event, traits: { phone: 'nope', country: 'DE' } },
      rules,
    )
    expect(withOwn.phoneNeedsCountry).toBeUndefined()
  })

  it('folds full-width emails under NFKC and lets a workspace fold user ids too', () => {
    const rules = parseIdentityRules({
      normalization: { identifiers: { user_id: { case: 'lower' } } },
    })
    const email = normalizeIdentifier('email', '\uff21nn@Example.com', rules)
    expect(email).toEqual({ ok: true, identifier: { type: 'email', value: 'ann@example.com' } })
    const user = normalizeIdentifier('user_id', ' U-42 ', rules)
    expect(user).toEqual({ ok: true, identifier: { type: 'user_id', value: 'u-42' } })
    const kept = normalizeIdentifier('user_id', ' U-42 ', parseIdentityRules({}))
    expect(kept).toEqual({ ok: true, identifier: { type: 'user_id', value: 'U-42' } })
  })
})

describe('normalization rules', () => {
  it('refuse unknown fields and unsafe keys', () => {
    expect(() => parseIdentityRules({ normalization: { trait: {} } })).toThrow()
    expect(() =>
      parseIdentityRules({ normalization: { traits: { tier: { case: 'title' } } } }),
    ).toThrow()
    expect(() =>
      parseIdentityRules({ normalization: { traits: { constructor: { case: 'lower' } } } }),
    ).toThrow()
  })

  it('parse their own output to the same rules', () => {
    const once = parseIdentityRules({
      normalization: { traits: { email: null, tier: { case: 'lower' } } },
    })
    expect(parseIdentityRules(once)).toEqual(once)
  })

  it('describe the effective rules, defaults applied', () => {
    const view = describeNormalization(
      compiled({
        phoneDefaultRegion: 'US',
        normalization: { traits: { loyalty_tier: { case: 'lower' } } },
      }),
    )
    expect(view.text).toEqual({ trim: true, unicode: 'nfc', case: 'as_is' })
    expect(view.traits.loyalty_tier).toEqual({
      kind: 'text',
      trim: true,
      unicode: 'nfc',
      case: 'lower',
    })
    expect(view.traits.email).toMatchObject({ kind: 'email', case: 'lower', unicode: 'nfkc' })
    expect(view.identifiers).toMatchObject({
      email: { case: 'lower' },
      '*': { trim: true, unicode: 'none', case: 'as_is' },
    })
    expect(view.phoneCountry).toEqual({
      order: [
        'event traits.country',
        'event traits.country_code',
        'profile traits.country',
        'profile traits.country_code',
        'workspace phoneDefaultRegion',
      ],
      traits: ['country', 'country_code'],
      profile: true,
      defaultRegion: 'US',
    })
  })
})
