import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { dedupeRecords } from './identity/linkage/index.js'
import { PROFILE_ID_COLUMN, inContentOrder, scoredPairs, usedColumns } from './matching-records.js'

const record = fc.record({
  [PROFILE_ID_COLUMN]: fc.string({ minLength: 1, maxLength: 8 }),
  given_name: fc.constantFrom('jonathan', 'jonathon', 'maria', ''),
  surname: fc.constantFrom('smith', 'garcia'),
  postcode: fc.constantFrom('3121', '3186'),
})

describe('inContentOrder', () => {
  it('orders the same records the same way whatever order, and whatever ids, they come in', () => {
    fc.assert(
      fc.property(
        fc
          .array(record, { maxLength: 12 })
          .chain((rs) =>
            fc.tuple(fc.constant(rs), fc.shuffledSubarray(rs, { minLength: rs.length })),
          ),
        ([records, shuffled]) => {
          expect(inContentOrder(shuffled)).toEqual(inContentOrder(records))
        },
      ),
    )
  })

  it('puts content first and uses the profile id only between identical records', () => {
    const r = (id: string, given: string) => ({ [PROFILE_ID_COLUMN]: id, given_name: given })
    const ordered = inContentOrder([r('p_1', 'maria'), r('p_9', 'jonathan'), r('p_0', 'maria')])
    expect(ordered.map((x) => x[PROFILE_ID_COLUMN])).toEqual(['p_9', 'p_0', 'p_1'])
  })
})

describe('scoredPairs', () => {
  // A household at one address and landline, a true duplicate of its first member, and a
  // renamed record of the second that keeps her birth date.
  const base = {
    surname: 'wright',
    address: '103 north street',
    postcode: 'sw1 1ha',
    phone: '01632 380202',
  }
  const rows: Record<string, string>[] = [
    { [PROFILE_ID_COLUMN]: 'p_ava', given_name: 'ava', email: 'ava.w@example.org', ...base },
    { [PROFILE_ID_COLUMN]: 'p_james', given_name: 'james', date_of_birth: '1970-01-02', ...base },
    { [PROFILE_ID_COLUMN]: 'p_amelia', given_name: 'amelia', ...base },
    { [PROFILE_ID_COLUMN]: 'p_ava2', given_name: 'eva', email: 'AVA.W@example.org ', ...base },
    { [PROFILE_ID_COLUMN]: 'p_jim', given_name: 'jim', date_of_birth: '1970-01-02', ...base },
    { [PROFILE_ID_COLUMN]: 'p_emily', given_name: 'emily', ...base },
  ].map((r) => ({ email: '', date_of_birth: '', ...r }))
  for (let i = 0; i < 30; i++)
    rows.push({
      [PROFILE_ID_COLUMN]: `p_x${i}`,
      given_name: `n${i}`,
      surname: `s${i % 7}`,
      address: `${i} high street`,
      postcode: `m${i % 3}`,
      phone: `07700 90${String(i).padStart(4, '0')}`,
      email: `x${i}@example.org`,
      date_of_birth: '',
    })
  const records = inContentOrder(rows)
  const run = dedupeRecords(records, {
    idColumn: PROFILE_ID_COLUMN,
    columns: usedColumns(records),
  })
  const pairs = scoredPairs(run, records, 0)
  const find = (x: string, y: string) =>
    pairs.find((p) => (p.a === x && p.b === y) || (p.a === y && p.b === x))

  it('orders the profile ids and swaps the explanation with them', () => {
    for (const p of pairs) expect(p.a < p.b).toBe(true)
    const p = find('p_ava', 'p_james')!
    const given = p.explanation.fields.find((f) => f.field === 'given_name')!
    expect([given.left, given.right]).toEqual(['ava', 'james'])
  })

  it('holds back first names that differ where nothing of the person agrees', () => {
    // "emily" / "amelia" sound alike: two people at one landline all the same.
    for (const [x, y] of [
      ['p_ava', 'p_james'],
      ['p_amelia', 'p_emily'],
    ] as const) {
      expect(find(x, y)?.against).toMatchObject({ code: 'different_names' })
    }
    expect(find('p_amelia', 'p_emily')?.against?.reason).toContain('amelia ≠ emily')
    // An email or a birth date of the person agrees: a typo or a nickname, not a household.
    for (const [x, y] of [
      ['p_ava', 'p_ava2'],
      ['p_james', 'p_jim'],
    ] as const) {
      expect(find(x, y)).toBeDefined()
      expect(find(x, y)?.against).toBeUndefined()
    }
  })
})
