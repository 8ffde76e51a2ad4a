import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nestsDeeperThan, scanJson } from './json-scan.js'
import { stringifyTotal } from './json-text.js'
import { MAX_JSON_DEPTH } from './limits.js'
import { serializeEvent } from './serialize-event.js'
import { isStorableTimestamp } from './timestamps.js'
import type { KindredEvent } from './event-schema.js'

const scan = (text: string) => scanJson(Buffer.from(text, 'utf8'))
const deep = (n: number, leaf = '1') => '{"a":'.repeat(n) + leaf + '}'.repeat(n)

describe('scanJson', () => {
  it('accepts ordinary bodies, pairs of surrogates and exact numbers', () => {
    expect(
      scan('{"a":[1,2.5,-3e10,0.1,1e-300,9007199254740991,1152921504606847000],"b":"x"}'),
    ).toBe(undefined)
    expect(scan('{"emoji":"\\ud83d\\ude00 😀","é":"ü","n":null,"t":true}')).toBe(undefined)
    expect(scan(deep(MAX_JSON_DEPTH))).toBe(undefined)
    expect(scan('"a string with \\" and \\\\ud800 typed literally"')).toBe(undefined)
  })

  it('refuses nesting past the limit at any depth, without recursion', () => {
    expect(scan(deep(MAX_JSON_DEPTH + 1))).toMatchObject({ code: 'json_too_deep' })
    const r = scan(deep(1_000_000))
    expect(r?.code).toBe('json_too_deep')
    expect(r?.path).toHaveLength(MAX_JSON_DEPTH)
    expect(scan('['.repeat(100) + ']'.repeat(100))?.message).toContain('64')
  })

  it('refuses lone surrogates in values and keys, escaped or encoded, with their path', () => {
    expect(scan('{"properties":{"s":"\\ud800"}}')).toMatchObject({
      code: 'lone_surrogate',
      path: ['properties', 's'],
    })
    expect(scan('{"batch":[{},{"p":{"\\udc00x":1}}]}')).toMatchObject({
      code: 'lone_surrogate',
      path: ['batch', 1, 'p', '\\udc00x'],
    })
    expect(scan('["\\ud800\\u0041"]')?.code).toBe('lone_surrogate')
    expect(scan('["\\uDBFF"]')?.code).toBe('lone_surrogate')
    // A surrogate encoded as UTF-8 bytes (CESU-8) is not UTF-8 at all.
    expect(scanJson(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))?.code).toBe('invalid_utf8')
  })

  it('refuses bytes that are not UTF-8', () => {
    expect(
      scanJson(
        Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]),
      ),
    ).toMatchObject({
      code: 'invalid_utf8',
      path: ['a'],
    })
    expect(scanJson(Buffer.from([0x22, 0xc3, 0x22]))?.code).toBe('invalid_utf8')
    expect(scanJson(Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]))?.code).toBe('invalid_utf8')
  })

  it('refuses numbers a double would silently change', () => {
    for (const n of [
      '1e400',
      '-1e400',
      '1e-400',
      '123456789012345678901234567890',
      '12345678901234567',
      '0.' + '0'.repeat(400) + '1',
    ]) {
      expect(scan(`{"v":${n}}`), n).toMatchObject({ code: 'number_out_of_range', path: ['v'] })
    }
    expect(scan('{"v":0e400}')).toBe(undefined)
    expect(scan('{"v":-0.0000000000000000000}')).toBe(undefined)
    expect(scan('{"v":5e-324}')).toBe(undefined)
  })

  it('never throws on a truncated body (an unterminated string, escape or number)', () => {
    for (const text of ['{" ', '{"a', '["x', '"\\', '"\\u12', '{"a":"\\ud800', '[1.5e']) {
      expect(() => scan(text), text).not.toThrow()
    }
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(), (v, cut) => {
        const bytes = Buffer.from(JSON.stringify(v) ?? 'null', 'utf8')
        expect(() => scanJson(bytes.subarray(0, cut % (bytes.length + 1)))).not.toThrow()
      }),
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(() => scanJson(bytes)).not.toThrow()
      }),
    )
  })

  it('finds nothing in what JSON.stringify makes from well-formed data', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        expect(scan(JSON.stringify(v))).toBe(undefined)
      }),
      { numRuns: 300 },
    )
  })
})

it('nestsDeeperThan measures parsed values without recursion', () => {
  expect(nestsDeeperThan(JSON.parse(deep(64)))).toBe(false)
  expect(nestsDeeperThan(JSON.parse(deep(65)))).toBe(true)
  expect(nestsDeeperThan(JSON.parse(deep(200_000)))).toBe(true)
})

it('stringifyTotal writes any depth and matches JSON.stringify where that works', () => {
  const v = JSON.parse(deep(50_000)) as unknown
  expect(() => JSON.stringify(v)).toThrow(RangeError)
  expect(stringifyTotal(v)).toBe(deep(50_000))
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (x) => {
      expect(stringifyTotal(x)).toBe(JSON.stringify(x))
    }),
    { numRuns: 200 },
  )
})

describe('serializeEvent never throws on content', () => {
  const base = {
    messageId: 'm',
    type: 'track',
    properties: {},
    traits: {},
    context: {},
    integrations: {},
  }
  it('refuses a too-deep event instead of throwing RangeError', () => {
    const e = { ...base, properties: JSON.parse(deep(20_000)) } as unknown as KindredEvent
    expect(serializeEvent(e)).toMatchObject({ ok: false, issues: [{ code: 'json_too_deep' }] })
  })
  it('refuses a lone surrogate and keeps a literal backslash-u', () => {
    const bad = { ...base, properties: { s: '\ud800' } } as unknown as KindredEvent
    expect(serializeEvent(bad)).toMatchObject({
      ok: false,
      issues: [{ code: 'lone_surrogate', path: 'properties.s' }],
    })
    const literal = { ...base, properties: { s: '\\ud800' } } as unknown as KindredEvent
    expect(serializeEvent(literal).ok).toBe(true)
  })
  it('finds NUL at any depth', () => {
    const props = JSON.parse(deep(3_000, '"x\\u0000"')) as unknown
    const e = { ...base, properties: props } as unknown as KindredEvent
    expect(serializeEvent(e)).toMatchObject({ ok: false })
  })
})

it('refuses dates that do not exist instead of rolling them over', () => {
  expect(isStorableTimestamp('2020-02-30T00:00:00Z')).toBe(false)
  expect(isStorableTimestamp('2021-02-29T00:00:00.000Z')).toBe(false)
  expect(isStorableTimestamp('2021-04-31T10:00:00Z')).toBe(false)
  expect(isStorableTimestamp('2020-02-29T00:00:00Z')).toBe(true)
  expect(isStorableTimestamp('2000-02-29T00:00:00Z')).toBe(true)
  expect(isStorableTimestamp('1900-02-29T00:00:00Z')).toBe(false)
  expect(isStorableTimestamp('2021-12-31T23:59:59.999Z')).toBe(true)
})
