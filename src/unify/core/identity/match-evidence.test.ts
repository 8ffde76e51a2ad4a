import { describe, expect, it } from 'vitest'
import {
  describeConflicts,
  exclusiveIdentifierTypes,
  exclusiveValues,
  identifierAgreements,
  identifierConflicts,
  toldApart,
  unionValues,
} from './match-evidence.js'
import { DEFAULT_IDENTITY_RULES, parseIdentityRules } from './rules.js'

const types = exclusiveIdentifierTypes(DEFAULT_IDENTITY_RULES)

describe('exclusiveIdentifierTypes', () => {
  it('are user id, email, phone, the trait identifiers and the types limited to one', () => {
    expect([...types].sort()).toEqual(['email', 'phone', 'user_id'])
    const rules = parseIdentityRules({
      traitIdentifiers: ['loyalty_id', { trait: 'crm.id', type: 'crm_id' }],
      limits: { device_id: 1, email: null },
    })
    expect([...exclusiveIdentifierTypes(rules)].sort()).toEqual([
      'crm_id',
      'device_id',
      'email',
      'loyalty_id',
      'phone',
      'user_id',
    ])
  })
})

describe('exclusiveValues', () => {
  it('joins identities and compared traits in one key form per type', () => {
    const v = exclusiveValues(
      [
        { type: 'email', value: 'chloe@example.org' },
        { type: 'phone', value: '+447700900123' },
        { type: 'anonymous_id', value: 'a1' },
      ],
      { profile_id: 'p1', email: ' Chloe@Example.org ', phone: '07700 900123', surname: 'k' },
      types,
    )
    expect(v).toEqual({ email: ['chloe@example.org'], phone: ['700900123'] })
    expect(exclusiveValues([], { profile_id: 'p', email: '', phone: '' }, types)).toEqual({})
  })
})

describe('identifierConflicts', () => {
  it('is a type both hold values of and share none', () => {
    const a = { email: ['chloe.kowalski.crm39@example.org'], phone: ['700900123'] }
    const b = { email: ['chloe.kowalski.crm148@example.org'], phone: ['700900123'] }
    expect(identifierConflicts(a, b)).toEqual([
      {
        type: 'email',
        a: ['chloe.kowalski.crm39@example.org'],
        b: ['chloe.kowalski.crm148@example.org'],
      },
    ])
    // One shared value is agreement, whatever else either side holds.
    expect(identifierConflicts({ email: ['x@a.org', 'y@a.org'] }, { email: ['y@a.org'] })).toEqual(
      [],
    )
    // A missing value says nothing.
    expect(identifierConflicts({ email: ['x@a.org'] }, { phone: ['1'] })).toEqual([])
    expect(identifierConflicts({}, {})).toEqual([])
  })

  it('works on groups through unionValues, and reads as a reason', () => {
    const group = unionValues({ email: ['a@x.org'] }, { phone: ['1'] })
    expect(group).toEqual({ email: ['a@x.org'], phone: ['1'] })
    const c = identifierConflicts(group, { phone: ['2'] })
    expect(c.map((x) => x.type)).toEqual(['phone'])
    expect(describeConflicts(c)).toBe(
      'different identifiers (phone 1 ≠ 2): two people unless a reviewer accepts the pair',
    )
    expect(
      describeConflicts([{ type: 'email', a: ['1', '2', '3', '4', '5'], b: ['6'] }]),
    ).toContain('email 1, 2, 3 and 2 more ≠ 6')
  })
})

describe('toldApart', () => {
  it('is a conflict with nothing shared; one shared identifier keeps the pair for a person', () => {
    const crm39 = { email: ['chloe.kowalski.crm39@example.org'], phone: ['1'] }
    const crm148 = { email: ['chloe.kowalski.crm148@example.org'], phone: ['2'] }
    expect(toldApart(crm39, crm148)).toBe(true)
    const household = { email: ['ava@x.org'], phone: ['1'] }
    expect(identifierAgreements(crm39, household)).toEqual(['phone'])
    expect(toldApart(crm39, household)).toBe(false)
    expect(toldApart(crm39, {})).toBe(false)
  })
})
