import { describe, expect, it } from 'vitest'
import { ttlCache } from './cache.js'

describe('ttlCache', () => {
  it('expires entries on the caller clock, with no timer, and per-entry ttl', () => {
    let now = 1_000
    const cache = ttlCache<string, { v: number }>({ max: 10, ttlMs: 100, clock: () => now })
    cache.set('a', { v: 1 })
    cache.set('b', { v: 2 }, { ttl: 10 })
    now += 10
    expect(cache.get('a')).toEqual({ v: 1 })
    expect(cache.get('b')).toEqual({ v: 2 })
    now += 1
    expect(cache.get('b')).toBeUndefined()
    now += 90
    expect(cache.get('a')).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('expires entries on a clock that starts at 0', () => {
    let now = 0
    const cache = ttlCache<string, number>({ max: 10, ttlMs: 5, clock: () => now })
    cache.set('a', 1)
    now = 6
    expect(cache.get('a')).toBeUndefined()
  })

  it('refuses a ttl of 0, which lru-cache would read as forever', () => {
    expect(() => ttlCache({ max: 1, ttlMs: 0, clock: () => 0 })).toThrow(RangeError)
  })

  it('is bounded: the least recently used entry goes first', () => {
    const cache = ttlCache<string, number>({ max: 2, ttlMs: 1_000, clock: () => 0 })
    cache.set('a', 1)
    cache.set('b', 2)
    cache.get('a')
    cache.set('c', 3)
    expect([...cache.keys()].sort()).toEqual(['a', 'c'])
  })
})
