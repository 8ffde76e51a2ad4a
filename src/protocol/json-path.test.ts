import { describe, expect, it } from 'vitest'
import { getPath, setPath, unsafeSegment } from './json-path.js'

describe('getPath', () => {
  const doc = { a: { b: [10, { c: 'x' }], n: null }, tags: ['p', 'q'] }

  it('walks own keys and array indices, negative from the end', () => {
    expect(getPath(doc, ['a', 'b', '1', 'c'])).toBe('x')
    expect(getPath(doc, ['tags', '-1'])).toBe('q')
    expect(getPath(doc, ['tags', 'x'])).toBeUndefined()
    expect(getPath(doc, ['a', 'n'])).toBeNull()
    expect(getPath(doc, ['a', 'n', 'deeper'])).toBeUndefined()
    expect(getPath(doc, ['a', 'missing', 'c'])).toBeUndefined()
    expect(getPath('text', ['length'])).toBeUndefined()
  })

  it('reads no inherited member', () => {
    expect(getPath({}, ['constructor'])).toBeUndefined()
    expect(getPath({ a: {} }, ['a', 'toString'])).toBeUndefined()
    expect(getPath({ constructor: 1 }, ['constructor'])).toBe(1)
  })
})

describe('setPath', () => {
  it('creates levels and writes in place', () => {
    const t: Record<string, unknown> = { a: { keep: 1 } }
    expect(setPath(t, ['a', 'b', 'c'], 2)).toBe(true)
    expect(t).toEqual({ a: { keep: 1, b: { c: 2 } } })
  })

  it('copies shared levels when asked, leaving the source untouched', () => {
    const inner = { keep: 1 }
    const t: Record<string, unknown> = { a: inner }
    setPath(t, ['a', 'b'], 2, { copy: true })
    expect(t).toEqual({ a: { keep: 1, b: 2 } })
    expect(inner).toEqual({ keep: 1 })
  })

  it('refuses __proto__ anywhere, and walking through constructor or prototype', () => {
    for (const path of [
      ['a', '__proto__'],
      ['__proto__', 'polluted'],
      ['a', 'constructor', 'prototype', 'x'],
      ['constructor', 'x'],
    ]) {
      const t: Record<string, unknown> = {}
      expect(setPath(t, path, 'yes'), path.join('.')).toBe(false)
      expect(t).toEqual({})
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    // As the last key they are ordinary own properties, which shadow nothing shared.
    const own: Record<string, unknown> = {}
    expect(setPath(own, ['constructor'], 1)).toBe(true)
    expect(setPath(own, ['b', 'prototype'], 2)).toBe(true)
    expect(Object.hasOwn(own, 'constructor')).toBe(true)
    expect(({} as { constructor: unknown }).constructor).toBe(Object)
    expect(unsafeSegment(['a', 'constructor'])).toBe('constructor')
    expect(unsafeSegment(['a', 'b'])).toBeUndefined()
  })

  it('makes missing levels with newLevel (null-prototype bags for untrusted keys)', () => {
    const t = Object.create(null) as Record<string, unknown>
    setPath(t, ['x', 'y'], 1, { newLevel: () => Object.create(null) as Record<string, unknown> })
    expect(Object.getPrototypeOf(t.x)).toBeNull()
  })
})
