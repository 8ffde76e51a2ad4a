import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { batchElementRanges } from './batch-slices.js'

const slices = (body: string, n: number) =>
  batchElementRanges(Buffer.from(body), n)?.map(([s, e]) => Buffer.from(body).subarray(s, e))

describe('batchElementRanges', () => {
  it('finds each element of any batch, however the body is formatted', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { minLength: 1, maxLength: 6 }),
        fc.dictionary(
          // Keys that need an escape make the scan unsure (tested below).
          fc.string().filter((k) => k !== 'batch' && JSON.stringify(k) === `"${k}"`),
          fc.jsonValue(),
          { maxKeys: 3 },
        ),
        fc.constantFrom(undefined, 1, 2, '\t'),
        fc.boolean(),
        (batch, extra, indent, batchFirst) => {
          const body = JSON.stringify(
            batchFirst ? { batch, ...extra } : { ...extra, batch },
            null,
            indent,
          )
          const ranges = slices(body, batch.length)
          expect(ranges).toBeDefined()
          expect(ranges?.map((b) => JSON.parse(b.toString('utf8')) as unknown)).toEqual(
            JSON.parse(JSON.stringify(batch)),
          )
        },
      ),
      { numRuns: 300 },
    )
  })

  it('measures elements in bytes as sent', () => {
    const body = '{"batch":[ {"a":"é\\"]}"} , "x\\\\" ,[1,{"b":[]}]\n]}'
    expect(slices(body, 3)?.map((b) => b.toString('utf8'))).toEqual([
      '{"a":"é\\"]}"}',
      '"x\\\\"',
      '[1,{"b":[]}]',
    ])
    expect(slices(body, 3)?.[0]?.length).toBe(14)
  })

  it('is unsure (undefined) rather than wrong', () => {
    // JSON.parse keeps the last of repeated keys, and decodes escapes in keys.
    expect(slices('{"batch":[1],"batch":[2]}', 1)).toBeUndefined()
    expect(slices('{"b\\u0061tch":[1]}', 1)).toBeUndefined()
    expect(slices('[1]', 1)).toBeUndefined()
    expect(slices('{"batch":[1,2]}', 3)).toBeUndefined()
    expect(slices('{"x":{"batch":[1]},"batch":[2]}', 1)?.[0]?.toString()).toBe('2')
  })
})
