import { describe, expect, it } from 'vitest'
import type { Identifier } from './identifiers.js'
import {
  extractIdentifiers,
  identifierKey,
  normalizeIdentifier,
  normalizeIdentifierType,
  parseIdentifierKey,
} from './identifiers.js'
import { DEFAULT_IDENTITY_RULES, parseIdentityRules } from './rules.js'

const value = (type: string, raw: unknown, rules = DEFAULT_IDENTITY_RULES) => {
  const result = normalizeIdentifier(type, raw, rules)
  return result.ok ? result.identifier.value : `!${result.reason}`
}

describe('normalizeIdentifier: email', () => {
  it.each([
    ['ann@example.com', 'ann@example.com'],
    ['  Ann@Example.COM ', 'ann@example.com'],
    ['ANN.O+tag@sub.example.co.uk', 'ann.o+tag@sub.example.co.uk'],
    ['ann@example', '!invalid'],
    ['ann example@x.com', '!invalid'],
    ['@example.com', '!invalid'],
    ['ann@@example.com', '!invalid'],
    ['ann@example..com', '!invalid'],
    [`${'a'.repeat(250)}@x.com`, '!too_long'],
    ['null', '!blocked'],
  ])('%j → %j', (raw, expected) => {
    expect(value('email', raw)).toBe(expected)
  })
})

describe('normalizeIdentifier: phone', () => {
  const us = parseIdentityRules({ phoneDefaultRegion: 'US' })
  const gb = parseIdentityRules({ phoneDefaultRegion: 'GB' })
  const fr = parseIdentityRules({ phoneDefaultRegion: 'FR' })
  it.each([
    ['+1 (415) 555-2671', DEFAULT_IDENTITY_RULES, '+14155552671'],
    ['+14155552671', DEFAULT_IDENTITY_RULES, '+14155552671'],
    ['(415) 555-2671', us, '+14155552671'],
    ['415.555.2671', us, '+14155552671'],
    ['(415) 555-2671', DEFAULT_IDENTITY_RULES, '!invalid'],
    ['020 7946 0958', gb, '+442079460958'],
    ['07911 123456', gb, '+447911123456'],
    ['+44 7911 123456', us, '+447911123456'],
    ['06 12 34 56 78', fr, '+33612345678'],
    ['00 44 7911 123456', fr, '+447911123456'],
    ['12', us, '!invalid'],
    ['not a phone', us, '!invalid'],
    [14155552671, us, '+14155552671'],
  ])('%j (%#) → %j', (raw, rules, expected) => {
    expect(value('phone', raw, rules)).toBe(expected)
  })
})

describe('normalizeIdentifier: blocked values and junk', () => {
  it.each([
    ['user_id', '', '!blocked'],
    ['user_id', '   ', '!blocked'],
    ['user_id', 'null', '!blocked'],
    ['user_id', 'NULL', '!blocked'],
    ['user_id', 'Undefined', '!blocked'],
    ['anonymous_id', 'anonymous', '!blocked'],
    ['user_id', '0', '!blocked'],
    ['user_id', 0, '!blocked'],
    ['user_id', -1, '!blocked'],
    ['user_id', '[object Object]', '!blocked'],
    ['user_id', '[OBJECT OBJECT]', '!blocked'],
    ['user_id', null, '!blocked'],
    ['user_id', { id: 1 }, '!invalid'],
    ['user_id', true, '!invalid'],
    ['user_id', 'a\u0000b', '!invalid'],
    ['user_id', 'x'.repeat(257), '!too_long'],
    ['user_id', ' U-42 ', 'U-42'],
    ['user_id', 42, '42'],
    ['device_id', 'Dev-ABC', 'Dev-ABC'],
  ])('%s %j → %j', (type, raw, expected) => {
    expect(value(type, raw)).toBe(expected)
  })

  it('applies configured values and patterns, case-insensitively', () => {
    const rules = parseIdentityRules({
      blockedValues: ['guest'],
      blockedPatterns: ['^test-', '@example\\.com$'],
      maxIdentifierLength: 10,
    })
    expect(value('user_id', 'GUEST', rules)).toBe('!blocked')
    expect(value('user_id', 'null', rules)).toBe('null') // the list replaces the defaults
    expect(value('user_id', 'TEST-1', rules)).toBe('!blocked')
    expect(value('email', 'a@EXAMPLE.com', rules)).toBe('!blocked')
    expect(value('user_id', 'abcdefghijk', rules)).toBe('!too_long')
  })
})

describe('identifier keys and types', () => {
  it('round-trips keys whose value contains colons', () => {
    const id: Identifier = { type: 'user_id', value: 'urn:x:1' }
    expect(identifierKey(id)).toBe('user_id:urn:x:1')
    expect(parseIdentifierKey(identifierKey(id))).toEqual(id)
  })
  it.each([
    ['GA Client ID', 'ga_client_id'],
    ['braze-id', 'braze_id'],
    ['  email ', 'email'],
    ['1abc', undefined],
    ['!!!', undefined],
  ])('type %j → %j', (raw, expected) => {
    expect(normalizeIdentifierType(raw)).toBe(expected)
  })
})

describe('extractIdentifiers', () => {
  const rules = parseIdentityRules({
    traitIdentifiers: ['loyalty_id', { trait: 'crm.id', type: 'crm_id' }],
    phoneDefaultRegion: 'US',
  })
  const keys = (event: Parameters<typeof extractIdentifiers>[0], r = rules) =>
    extractIdentifiers(event, r).identifiers.map(identifierKey)

  it('reads every kind of identifier from an identify call', () => {
    const extracted = extractIdentifiers(
      {
        type: 'identify',
        userId: 'u1',
        anonymousId: 'a1',
        traits: {
          email: ' Ann@X.com',
          phone: '(415) 555-2671',
          loyalty_id: 'L-1',
          crm: { id: 'C9' },
        },
        context: {
          device: { id: 'dev-1' },
          traits: { email: 'ann@x.com', phone: 'anonymous' },
          externalIds: [
            { id: 'g-1', type: 'GA Client ID', collection: 'users', encoding: 'none' },
            { id: 'acc-1', type: 'account_id', collection: 'accounts' },
            { id: 'ABC123', type: 'email', encoding: 'sha256' },
            { id: 'x', type: '???' },
          ],
        },
      },
      rules,
    )
    expect(extracted.identifiers.map(identifierKey)).toEqual([
      'user_id:u1',
      'anonymous_id:a1',
      'email:ann@x.com',
      'phone:+14155552671',
      'loyalty_id:L-1',
      'crm_id:C9',
      'device_id:dev-1',
      'ga_client_id:g-1',
      'email_sha256:ABC123',
    ])
    expect(extracted.rejected).toEqual([
      { type: 'phone', raw: 'anonymous', reason: 'blocked', field: 'context.traits.phone' },
      { type: '???', raw: 'x', reason: 'invalid_type', field: 'context.externalIds[3]' },
    ])
    expect(extracted.previousId).toBeUndefined()
  })

  it('reads context.traits on any event but not group traits', () => {
    expect(
      keys({ type: 'track', anonymousId: 'a1', context: { traits: { email: 'b@x.io' } } }),
    ).toEqual(['anonymous_id:a1', 'email:b@x.io'])
    expect(keys({ type: 'group', userId: 'u1', traits: { email: 'company@x.io' } })).toEqual([
      'user_id:u1',
    ])
  })

  it('reads only userId and previousId from alias calls', () => {
    const extracted = extractIdentifiers(
      {
        type: 'alias',
        userId: 'new',
        previousId: ' old ',
        anonymousId: 'a1',
        context: { device: { id: 'd' } },
      },
      rules,
    )
    expect(extracted.identifiers).toEqual([{ type: 'user_id', value: 'new' }])
    expect(extracted.previousId).toBe('old')
    expect(
      extractIdentifiers({ type: 'alias', userId: 'u', previousId: 'u' }, rules).previousId,
    ).toBeUndefined()
    expect(
      extractIdentifiers({ type: 'alias', userId: 'u', previousId: 'null' }, rules).previousId,
    ).toBeUndefined()
  })

  it('yields nothing for an anonymous event with blocked ids', () => {
    const extracted = extractIdentifiers(
      { type: 'page', userId: 'undefined', anonymousId: '' },
      rules,
    )
    expect(extracted.identifiers).toEqual([])
    expect(extracted.rejected.map((r) => r.reason)).toEqual(['blocked', 'blocked'])
  })
})
