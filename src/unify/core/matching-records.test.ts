import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PROFILE_ID_COLUMN, inContentOrder } from './matching-records.js'

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
