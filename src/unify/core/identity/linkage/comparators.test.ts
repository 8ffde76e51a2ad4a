import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  charMask,
  dateDistanceDays,
  dayNumber,
  exact,
  isDayMonthSwap,
  jaro,
  jaroUpperBound,
  jaroWinkler,
  jaroWinklerUpperBound,
  levenshtein,
  numericDistance,
  osaDistance,
  parseDate,
  phoneticCodes,
  phoneticMatch,
  relativeDistance,
  tokenize,
  tokenSetSimilarity,
  tokenSetSimilarityOf,
} from './comparators.js'

describe('exact', () => {
  it('is 1 only for identical strings', () => {
    expect(exact('smith', 'smith')).toBe(1)
    expect(exact('smith', 'Smith')).toBe(0)
  })
})

describe('jaro and jaroWinkler', () => {
  it.each([
    ['martha', 'marhta', 0.9444, 0.9611],
    ['dwayne', 'duane', 0.8222, 0.84],
    ['dixon', 'dicksonx', 0.7667, 0.8133],
    ['jellyfish', 'smellyfish', 0.8963, 0.8963],
  ])('%s / %s', (a, b, j, jw) => {
    expect(jaro(a, b)).toBeCloseTo(j, 3)
    expect(jaroWinkler(a, b)).toBeCloseTo(jw, 3)
  })

  it('handles empty and disjoint strings', () => {
    expect(jaro('', '')).toBe(1)
    expect(jaro('abc', '')).toBe(0)
    expect(jaro('abc', 'xyz')).toBe(0)
    expect(jaroWinkler('abc', 'abc')).toBe(1)
  })

  it('is symmetric and within [0, 1]', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const x = jaroWinkler(a, b)
        expect(x).toBeGreaterThanOrEqual(0)
        expect(x).toBeLessThanOrEqual(1 + 1e-12)
        expect(x).toBeCloseTo(jaroWinkler(b, a), 10)
      }),
    )
  })

  it('gives long strings (beyond the scratch buffers) the right answer', () => {
    const a = 'a'.repeat(200) + 'b'
    expect(jaro(a, a + 'c')).toBeGreaterThan(0.99)
  })
})

describe('levenshtein and osaDistance', () => {
  it.each([
    ['kitten', 'sitting', 3, 3],
    ['flaw', 'lawn', 2, 2],
    ['', 'abc', 3, 3],
    ['ab', 'ba', 2, 1],
    ['smith', 'smiht', 2, 1],
    ['ca', 'abc', 3, 3],
  ])('%s / %s', (a, b, lev, osa) => {
    expect(levenshtein(a, b)).toBe(lev)
    expect(osaDistance(a, b)).toBe(osa)
  })

  it('are metrics-like: zero iff equal, symmetric, OSA never above Levenshtein', () => {
    const s = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 9 })
    fc.assert(
      fc.property(s, s, s, (a, b, c) => {
        const d = levenshtein(a, b)
        expect(d === 0).toBe(a === b)
        expect(d).toBe(levenshtein(b, a))
        expect(levenshtein(a, c)).toBeLessThanOrEqual(d + levenshtein(b, c))
        expect(osaDistance(a, b)).toBeLessThanOrEqual(d)
        expect(osaDistance(a, b)).toBe(osaDistance(b, a))
      }),
    )
  })

  it('works on strings longer than the scratch rows', () => {
    expect(levenshtein('x'.repeat(150), 'y'.repeat(150))).toBe(150)
    expect(osaDistance('x'.repeat(150), 'x'.repeat(149))).toBe(1)
  })
})

describe('numeric distances', () => {
  it('computes absolute and relative distance, NaN for non-numbers', () => {
    expect(numericDistance(3, 7.5)).toBe(4.5)
    expect(numericDistance(Number.NaN, 1)).toBeNaN()
    expect(relativeDistance(90, 100)).toBeCloseTo(0.1)
    expect(relativeDistance(0, 0)).toBe(0)
  })
})

describe('dates', () => {
  it('parses the common formats and rejects impossible dates', () => {
    expect(parseDate('19081209')).toEqual({ year: 1908, month: 12, day: 9 })
    expect(parseDate('2001-02-03')).toEqual({ year: 2001, month: 2, day: 3 })
    expect(parseDate('03/02/2001')).toEqual({ year: 2001, month: 2, day: 3 })
    expect(parseDate('03/02/2001', false)).toEqual({ year: 2001, month: 3, day: 2 })
    expect(parseDate('19991309')).toBeNull()
    expect(parseDate('yesterday')).toBeNull()
  })

  it('counts days, leap years included', () => {
    expect(dayNumber({ year: 1970, month: 1, day: 1 })).toBe(0)
    expect(dayNumber({ year: 2000, month: 3, day: 1 })).toBe(11017)
    const a = parseDate('2000-01-01')!
    const b = parseDate('2000-03-01')!
    expect(dateDistanceDays(a, b)).toBe(60)
    expect(dateDistanceDays(b, a)).toBe(60)
  })

  it('detects swapped day and month', () => {
    expect(isDayMonthSwap(parseDate('20000307')!, parseDate('20000703')!)).toBe(true)
    expect(isDayMonthSwap(parseDate('20000303')!, parseDate('20000303')!)).toBe(false)
    expect(isDayMonthSwap(parseDate('20000307')!, parseDate('20010703')!)).toBe(false)
  })
})

describe('phonetic', () => {
  it('matches names that sound alike', () => {
    expect(phoneticCodes('catherine')).toEqual(['K0RN', 'KTRN'])
    expect(phoneticMatch('smith', 'smyth')).toBe(true)
    expect(phoneticMatch('catherine', 'kathryn')).toBe(true)
    expect(phoneticMatch('smith', 'jones')).toBe(false)
  })
})

describe('token-set similarity', () => {
  it('ignores order and repeated tokens', () => {
    expect(tokenize('12 High St, high st')).toEqual(['12', 'High', 'St', 'high', 'st'])
    expect(tokenSetSimilarityOf('12 high street', 'high street 12')).toBe(1)
    expect(tokenSetSimilarityOf('high high street', 'high street')).toBe(1)
  })

  it('tolerates typos inside tokens but not in numbers', () => {
    const typo = tokenSetSimilarityOf('tullaroop street', 'tullarop street')
    expect(typo).toBeGreaterThan(0.9)
    expect(typo).toBeLessThan(1)
    expect(tokenSetSimilarityOf('12 high street', '21 high street')).toBeCloseTo(2 / 3)
    expect(tokenSetSimilarityOf('goldfinch circuit', 'maltby road')).toBe(0)
  })

  it('treats two empty token sets as equal and one empty as different', () => {
    expect(tokenSetSimilarity([], [])).toBe(1)
    expect(tokenSetSimilarity(['a'], [])).toBe(0)
  })
})

describe('Jaro upper bounds', () => {
  it('never underestimate Jaro or Jaro–Winkler', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const bound = jaroUpperBound(a, b, charMask(a), charMask(b))
        expect(bound + 1e-12).toBeGreaterThanOrEqual(jaro(a, b))
        expect(jaroWinklerUpperBound(a, b, bound) + 1e-12).toBeGreaterThanOrEqual(jaroWinkler(a, b))
      }),
    )
    expect(jaroUpperBound('smith', 'jones', charMask('smith'), charMask('jones'))).toBeLessThan(0.8)
  })
})
