import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { dedupeCandidatePairs, linkCandidatePairs } from './blocking.js'
import { blockingKeyIds, columnDictionary } from './features.js'

/** Brute force: every pair sharing a non-missing key under any rule. */
function bruteForce(left: Int32Array[], right: Int32Array[], same: boolean): Set<string> {
  const out = new Set<string>()
  const nl = left[0]?.length ?? 0
  const nr = right[0]?.length ?? 0
  for (let i = 0; i < nl; i++) {
    for (let j = same ? i + 1 : 0; j < nr; j++) {
      if (left.some((k, r) => k[i]! >= 0 && k[i] === right[r]![j])) out.add(`${i},${j}`)
    }
  }
  return out
}

const keyArrays = (records: number, rules: number) =>
  fc.array(fc.array(fc.integer({ min: -1, max: 4 }), { minLength: records, maxLength: records }), {
    minLength: rules,
    maxLength: rules,
  })

describe('dedupeCandidatePairs', () => {
  it('finds exactly the pairs sharing a key under some rule, each once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 25 }).chain((n) => keyArrays(n, 3)),
        (rules) => {
          const keys = rules.map((r) => Int32Array.from(r))
          const pairs = dedupeCandidatePairs(keys)
          const got = new Set<string>()
          for (let p = 0; p < pairs.count; p++) {
            expect(pairs.left[p]!).toBeLessThan(pairs.right[p]!)
            got.add(`${pairs.left[p]},${pairs.right[p]}`)
          }
          expect(got.size).toBe(pairs.count) // no duplicates
          expect(got).toEqual(bruteForce(keys, keys, true))
          expect(pairs.perRule.reduce((a, b) => a + b, 0)).toBe(pairs.count)
        },
      ),
    )
  })

  it('skips blocks above maxBlockSize and counts them', () => {
    const keys = [Int32Array.from([0, 0, 0, 1, 1])]
    const pairs = dedupeCandidatePairs(keys, 2)
    expect(pairs.count).toBe(1)
    expect(pairs.skippedBlocks).toBe(1)
    expect([pairs.left[0], pairs.right[0]]).toEqual([3, 4])
  })
})

describe('linkCandidatePairs', () => {
  it('finds exactly the cross pairs sharing a key under some rule, each once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 1000 }),
        (nl, nr, seed) => {
          const gen = (n: number, s: number): Int32Array =>
            Int32Array.from({ length: n }, (_, i) => (((i + 1) * 7919 * (s + 3)) % 6) - 1)
          const left = [gen(nl, seed), gen(nl, seed + 1)]
          const right = [gen(nr, seed + 2), gen(nr, seed + 3)]
          const pairs = linkCandidatePairs(left, right)
          const got = new Set<string>()
          for (let p = 0; p < pairs.count; p++) got.add(`${pairs.left[p]},${pairs.right[p]}`)
          expect(got.size).toBe(pairs.count)
          expect(got).toEqual(bruteForce(left, right, false))
        },
      ),
    )
  })

  it('rejects sides with different rule counts', () => {
    expect(() => linkCandidatePairs([new Int32Array(1)], [])).toThrow(/same blocking rules/)
  })
})

describe('blockingKeyIds', () => {
  const rows = [
    { given: 'smith', surname: 'john', dob: '19900101', pc: '2000' },
    { given: 'john', surname: 'smyth', dob: '19900101', pc: '2000' },
    { given: 'jon', surname: 'smith', dob: '1990-01-01', pc: '2001' },
    { given: 'mary', surname: '', dob: '19900101', pc: '2000' },
  ]
  const dictionaryOf = (c: string) => columnDictionary(c, [rows])

  it('matches names phonetically in either order and skips records missing a part', () => {
    const [keys] = blockingKeyIds(
      { keys: [{ column: 'given', transform: 'sortedNames', with: 'surname' }] },
      [rows],
      dictionaryOf,
    )
    expect(keys![0]).toBe(keys![1])
    expect(keys![0]).toBe(keys![2])
    expect(keys![3]).toBe(-1)
  })

  it('combines several parts: equal keys exactly when every part is equal', () => {
    const [keys] = blockingKeyIds(
      {
        keys: [
          { column: 'dob', transform: 'year' },
          { column: 'pc', transform: 'exact' },
        ],
      },
      [rows],
      (c) => columnDictionary(c, [rows], c === 'dob' ? 'dateOfBirth' : 'postcode'),
    )
    expect(keys![0]).toBe(keys![1])
    expect(keys![0]).toBe(keys![3])
    expect(keys![2]).not.toBe(keys![0])
  })

  it('stays exact when the combined key no longer fits a number', () => {
    // 4 parts over ~20k distinct values: radix⁴ > 2⁵³, so keys fall back to strings.
    const many = Array.from({ length: 20_000 }, (_, i) => ({
      a: `a${i}`,
      b: `b${i % 7}`,
      c: `c${i % 11}`,
      d: `d${i % 13}`,
    }))
    many.push({ ...many[12_345]! })
    const [keys] = blockingKeyIds(
      { keys: ['a', 'b', 'c', 'd'].map((column) => ({ column, transform: 'exact' as const })) },
      [many],
      (c) => columnDictionary(c, [many]),
    )
    expect(keys![20_000]).toBe(keys![12_345])
    expect(new Set(keys).size).toBe(20_000)
  })
})
