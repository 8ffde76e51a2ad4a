import { describe, expect, it } from 'vitest'
import { IdentityError } from './identity-errors.js'
import { z } from 'zod'
import {
  compileIdentityRules,
  DEFAULT_IDENTITY_RULES,
  identityRulesSchema,
  parseIdentityRules,
} from './rules.js'

describe('identity rules', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_IDENTITY_RULES).toEqual({
      priority: ['user_id', 'email', 'phone', '*', 'device_id', 'anonymous_id'],
      limits: { user_id: 1, email: 5, phone: 5, anonymous_id: 100 },
      caps: { maxMergesPerProfile: 100, maxIdentifiersPerProfile: 1000 },
      blockedValues: ['', 'null', 'undefined', 'anonymous', '0', '-1', '[object Object]'],
      blockedPatterns: [],
      traitIdentifiers: [],
      maxIdentifierLength: 256,
      aliasBypassesLimits: true,
      normalization: {
        text: {},
        traits: {},
        identifiers: {},
        phoneCountry: { traits: ['country', 'country_code'], profile: true },
      },
    })
  })

  it('ranks custom types at the * slot and unlimited unless set', () => {
    const rules = compileIdentityRules(DEFAULT_IDENTITY_RULES)
    expect(
      ['user_id', 'email', 'phone', 'loyalty_id', 'device_id', 'anonymous_id'].map(rules.rank),
    ).toEqual([0, 1, 2, 3, 4, 5])
    expect(rules.limit('device_id')).toBeUndefined()
    expect(rules.limit('loyalty_id')).toBeUndefined()
  })

  it('merges limits over the defaults; null removes one', () => {
    const rules = parseIdentityRules({ limits: { email: 2, user_id: null, crm_id: 1 } })
    expect(rules.limits).toEqual({
      user_id: null,
      email: 2,
      phone: 5,
      anonymous_id: 100,
      crm_id: 1,
    })
    expect(compileIdentityRules(rules).limit('user_id')).toBeUndefined()
    expect(compileIdentityRules(rules).limit('crm_id')).toBe(1)
  })

  it.each([
    {},
    { limits: { user_id: null, email: 2 } },
    {
      traitIdentifiers: ['loyalty_id', { trait: 'crm.id', type: 'crm_id' }],
      phoneDefaultRegion: 'GB',
    },
    {
      priority: ['email', '*'],
      blockedValues: [],
      blockedPatterns: ['^x'],
      caps: { maxMergesPerProfile: 0 },
    },
  ])('parses its own output to the same rules (%j)', (input) => {
    const rules = parseIdentityRules(input)
    expect(parseIdentityRules(JSON.parse(JSON.stringify(rules)))).toEqual(rules)
  })

  it('describes its input as JSON Schema for the API docs', () => {
    const schema = z.toJSONSchema(identityRulesSchema, { io: 'input' }) as { properties: object }
    expect(Object.keys(schema.properties)).toContain('limits')
  })

  it.each([
    [{ priority: ['user_id', 'user_id'] }, 'priority'],
    [{ limits: { email: 0 } }, 'limits.email'],
    [{ limits: { 'Bad Type': 1 } }, 'limits.Bad Type'],
    [{ blockedPatterns: ['(unclosed'] }, 'blockedPatterns.0'],
    [{ phoneDefaultRegion: 'XX' }, 'phoneDefaultRegion'],
    [{ caps: { maxMergesPerProfile: -1 } }, 'caps.maxMergesPerProfile'],
    [{ unknownField: true }, ''],
  ])('rejects %j with INVALID_IDENTITY_RULES at %j', (input, path) => {
    try {
      parseIdentityRules(input)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(IdentityError)
      expect((error as IdentityError).code).toBe('INVALID_IDENTITY_RULES')
      expect((error as IdentityError).details).toContainEqual(expect.objectContaining({ path }))
    }
  })
})
