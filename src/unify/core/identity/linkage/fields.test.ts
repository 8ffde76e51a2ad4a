import { describe, expect, it } from 'vitest'
import { defaultBlockingRules, detectFieldKind, detectFields, normalizeValue } from './fields.js'
import { buildComparator, prepareField } from './features.js'
import type { FieldKind } from './model-config.js'

describe('detectFieldKind', () => {
  it.each([
    ['given_name', 'givenName'],
    ['First Name', 'givenName'],
    ['surname', 'surname'],
    ['last_name', 'surname'],
    ['address_1', 'address'],
    ['Address Line 2', 'address'],
    ['suburb', 'city'],
    ['City', 'city'],
    ['postcode', 'postcode'],
    ['zip_code', 'postcode'],
    ['state', 'state'],
    ['date_of_birth', 'dateOfBirth'],
    ['DOB', 'dateOfBirth'],
    ['email', 'email'],
    ['phone_number', 'phone'],
    ['street_number', 'streetNumber'],
    ['soc_sec_id', 'identifier'],
    ['full_name', 'fullName'],
  ])('%s → %s', (column, kind) => {
    expect(detectFieldKind(column)).toBe(kind)
  })

  it('returns null for unknown columns, and detection skips the id column', () => {
    expect(detectFieldKind('favourite_colour')).toBeNull()
    const fields = detectFields(['rec_id', 'given_name', 'colour', 'email'], 'rec_id')
    expect(fields.map((f) => f.column)).toEqual(['given_name', 'email'])
  })
})

describe('normalizeValue', () => {
  it('treats empty values as missing', () => {
    expect(normalizeValue('surname', '   ')).toBeNull()
    expect(normalizeValue('surname', undefined)).toBeNull()
  })

  it('normalises names, addresses, dates, phones', () => {
    expect(normalizeValue('surname', " O'Brien ")).toBe('obrien')
    expect(normalizeValue('givenName', 'José')).toBe('jose')
    expect(normalizeValue('address', '12 High St.')).toBe('12 high street')
    expect(normalizeValue('dateOfBirth', '1990-07-03')).toBe('19900703')
    expect(normalizeValue('dateOfBirth', '3/7/1990')).toBe('19900703')
    expect(normalizeValue('phone', '+61 412 345 678')).toBe(normalizeValue('phone', '0412 345 678'))
    expect(normalizeValue('postcode', '2 600')).toBe('2600')
    expect(normalizeValue('email', ' Jon@Example.COM ')).toBe('jon@example.com')
  })
})

describe('comparison levels', () => {
  const levelOf = (kind: FieldKind, a: string, b: string): string => {
    const field = prepareField({ column: 'x', kind }, [[{ x: a }, { x: b }]])
    const ia = field.ids[0]![0]!
    const ib = field.ids[0]![1]!
    return ia < 0 || ib < 0 ? 'null' : field.levelLabels[field.compare(ia, ib)]!
  }

  it('grade names from exact to else', () => {
    expect(levelOf('surname', 'smith', 'Smith')).toBe('exact')
    expect(levelOf('surname', 'martha', 'marhta')).toBe('jaroWinkler >= 0.92')
    expect(levelOf('surname', 'smith', 'smyth')).toBe('phonetic')
    expect(levelOf('surname', 'catherine', 'kathryn')).toBe('phonetic')
    expect(levelOf('surname', 'dwayne', 'duane')).toBe('phonetic')
    expect(levelOf('surname', 'jellyfish', 'smellyfish')).toBe('jaroWinkler >= 0.8')
    expect(levelOf('surname', 'smith', 'jones')).toBe('else')
    expect(levelOf('surname', 'smith', '')).toBe('null')
  })

  it('compare emails exactly: near-identical addresses of two customers disagree', () => {
    expect(levelOf('email', ' Chloe.Kowalski@Example.org', 'chloe.kowalski@example.org')).toBe(
      'exact',
    )
    expect(
      levelOf('email', 'chloe.kowalski.crm39@example.org', 'chloe.kowalski.crm148@example.org'),
    ).toBe('else')
    expect(levelOf('email', 'ann.lee+shop@gmail.com', 'ann.lee+news@gmail.com')).toBe('else')
    expect(levelOf('email', 'ann.lee12@gmail.com', 'ann.lee13@gmail.com')).toBe('else')
  })

  it('grade dates, including swapped day and month', () => {
    expect(levelOf('dateOfBirth', '19900703', '1990-07-03')).toBe('exact')
    expect(levelOf('dateOfBirth', '19900703', '19900307')).toBe('dateDayMonthSwap')
    expect(levelOf('dateOfBirth', '19900703', '19900713')).toBe('damerauLevenshtein <= 1')
    expect(levelOf('dateOfBirth', '19900703', '19901225')).toBe('dateDays <= 365')
    expect(levelOf('dateOfBirth', '19900703', '19500101')).toBe('else')
  })

  it('grade addresses by token sets', () => {
    expect(levelOf('address', '12 High St', '12 high street')).toBe('exact')
    expect(levelOf('address', 'high street 12', '12 high street')).toBe('tokenSet >= 0.8')
    expect(levelOf('address', 'goldfinch circuit', 'maltby road')).toBe('else')
  })

  it('grade numbers by absolute and relative distance', () => {
    const values = ['100', '104', '130', 'n/a']
    const cmp = buildComparator(
      [
        { type: 'numericAbs', max: 5 },
        { type: 'numericRel', max: 0.25 },
      ],
      values,
    )
    expect(cmp(0, 1)).toBe(1)
    expect(cmp(0, 2)).toBe(2)
    expect(cmp(0, 3)).toBe(3)
  })
})

describe('defaultBlockingRules', () => {
  it('only uses columns that are present', () => {
    const rules = defaultBlockingRules([
      { column: 'first', kind: 'givenName' },
      { column: 'last', kind: 'surname' },
      { column: 'mail', kind: 'email' },
    ])
    const columns = new Set(
      rules.flatMap((r) => r.keys.flatMap((k) => [k.column, k.with ?? k.column])),
    )
    expect([...columns].sort()).toEqual(['first', 'last', 'mail'])
    expect(rules.length).toBeGreaterThanOrEqual(2)
  })
})
