import { describe, expect, it } from 'vitest'
import { compileIdentityRules, parseIdentityRules } from '../../unify/core/index.js'
import {
  describeImportMapping,
  identifierTypeOfTarget,
  rowIdentityIssues,
} from './import-identity.js'
import { createRowMapper, parseImportMapping, type ImportMapping } from './import-mapping.js'

const rules = compileIdentityRules(
  parseIdentityRules({
    traitIdentifiers: ['loyalty_id', { trait: 'crm.no', type: 'crm_no' }],
    normalization: { traits: { loyalty_tier: { case: 'lower' } } },
  }),
)
const T0 = '2026-01-01T00:00:00.000Z'

function mapping(input: unknown): ImportMapping {
  const m = parseImportMapping(input)
  if (!m.ok) throw new Error(m.message)
  return m.value
}

describe('identifierTypeOfTarget', () => {
  it.each([
    ['userId', 'profiles', 'user_id'],
    ['anonymousId', 'events', 'anonymous_id'],
    ['traits.email', 'profiles', 'email'],
    ['traits.email', 'events', 'email'],
    ['context.traits.phone', 'events', 'phone'],
    ['traits.loyalty_id', 'profiles', 'loyalty_id'],
    ['traits.crm.no', 'profiles', 'crm_no'],
    ['externalIds.Shopify Customer', 'profiles', 'shopify_customer'],
    ['context.device.id', 'events', 'device_id'],
    ['traits.first_name', 'profiles', undefined],
    ['properties.email', 'events', undefined],
    ['timestamp', 'events', undefined],
  ] as const)('%s (%s) → %s', (to, kind, expected) => {
    expect(identifierTypeOfTarget(to, kind, rules)).toBe(expected)
  })
})

describe('rowIdentityIssues: any identifier the rules know is enough', () => {
  const map = createRowMapper(mapping({}), { kind: 'profiles', defaultTimestamp: T0 })
  const issues = (row: Record<string, string>) => {
    const r = map(row)
    if (!r.ok) throw new Error('unmapped')
    return rowIdentityIssues(r.event, rules).map((i) => i.code)
  }
  it.each([
    [{ email: ' Ann@X.example ' }, []],
    [{ phone: '+49 30 12345678' }, []],
    [{ phone: '030 12345678', country: 'DE' }, []],
    [{ loyalty_id: 'L-1' }, []],
    [{ user_id: 'u1' }, []],
    [{ first_name: 'Ann' }, ['missing_identity']],
    [{ email: 'n/a', first_name: 'Ann' }, ['missing_identity']],
    // A national phone with no country anywhere: no identifier (the workspace has no region).
    [{ phone: '030 12345678' }, ['missing_identity']],
  ])('%j → %j', (row, expected) => {
    expect(issues(row)).toEqual(expected)
  })

  it('says which values were refused', () => {
    const r = map({ email: 'n/a', phone: '12' })
    if (!r.ok) throw new Error('unmapped')
    const [issue] = rowIdentityIssues(r.event, rules)
    expect(issue?.message).toContain(
      'refused: traits.email "n/a" (invalid), traits.phone "12" (invalid)',
    )
    expect(issue?.message).not.toContain('userId "null"')
  })
})

describe('describeImportMapping', () => {
  it('names identifier columns and how each column is normalised', () => {
    const d = describeImportMapping(
      mapping({
        columns: {
          mail: 'traits.email',
          tier: 'traits.loyalty_tier',
          crm: 'externalIds.crm_id',
          name: 'traits.first_name',
        },
      }),
      'profiles',
      rules,
    )
    expect(d.identity.columns).toEqual(['mail', 'crm'])
    expect(d.columns.find((c) => c.column === 'mail')).toMatchObject({
      identifier: 'email',
      normalization: {
        identifier: { trim: true, unicode: 'nfkc', case: 'lower' },
        trait: { kind: 'email', case: 'lower' },
      },
    })
    expect(d.columns.find((c) => c.column === 'tier')).toMatchObject({
      identifier: null,
      normalization: { trait: { kind: 'text', case: 'lower' } },
    })
    expect(d.columns.find((c) => c.column === 'crm')?.normalization).toEqual({
      identifier: { trim: true, unicode: 'none', case: 'as_is' },
    })
    // `unmapped: auto`: header names that become identifiers, the explicitly mapped ones aside.
    expect(d.identity.autoColumns).toEqual({
      userId: 'user_id',
      user_id: 'user_id',
      anonymousId: 'anonymous_id',
      anonymous_id: 'anonymous_id',
      email: 'email',
      phone: 'phone',
      loyalty_id: 'loyalty_id',
    })
  })

  it('in an event import, auto-mapped columns are properties: only ids identify', () => {
    const d = describeImportMapping(mapping({}), 'events', rules)
    expect(Object.values(d.identity.autoColumns).sort()).toEqual([
      'anonymous_id',
      'anonymous_id',
      'user_id',
      'user_id',
    ])
  })
})

describe('event imports keyed by email', () => {
  it('write traits.<name> into context.traits, where identity reads them', () => {
    const map = createRowMapper(
      mapping({ columns: { mail: 'traits.email' }, event: 'Order Completed' }),
      { kind: 'events', defaultTimestamp: T0 },
    )
    const r = map({ mail: 'ann@x.example', total: '9' })
    expect(r.ok && r.event).toMatchObject({
      type: 'track',
      properties: { total: '9' },
      context: { traits: { email: 'ann@x.example' }, import: { time: 'import' } },
    })
    if (r.ok) expect(rowIdentityIssues(r.event, rules)).toEqual([])
  })
})
