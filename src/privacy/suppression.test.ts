import { describe, expect, it } from 'vitest'
import { identifierHash, maskIdentifier, matchSuppressed } from './suppression.js'

describe('identifierHash', () => {
  it('is sha256 of type:value, so the list holds no identifier in clear', () => {
    // sha256('email:ada@example.com'), computed independently with `printf … | sha256sum`.
    expect(identifierHash({ type: 'email', value: 'ada@example.com' })).toBe(
      '9b62a3a2bce7c868f30d60f0818e84d225bceb56f6c2dccaa4ac388af5fd8f7f',
    )
    expect(identifierHash({ type: 'email', value: 'ada@example.com' })).toMatch(/^[0-9a-f]{64}$/)
    expect(identifierHash({ type: 'user_id', value: 'ada@example.com' })).not.toBe(
      identifierHash({ type: 'email', value: 'ada@example.com' }),
    )
  })
})

describe('maskIdentifier', () => {
  it.each([
    [{ type: 'email', value: 'ada.lovelace@example.com' }, 'a***@example.com'],
    [{ type: 'email', value: 'a@b.co' }, '***@b.co'],
    [{ type: 'user_id', value: 'user-42' }, 'u***'],
    [{ type: 'user_id', value: 'u1' }, '***'],
    [{ type: 'phone', value: '+14155550123' }, '+***'],
  ])('%j → %s', (id, masked) => {
    expect(maskIdentifier(id)).toBe(masked)
    expect(maskIdentifier(id)).not.toContain(id.value)
  })
})

describe('matchSuppressed', () => {
  const index = new Map([
    [identifierHash({ type: 'email', value: 'carol@example.com' }), ['sup_a']],
    [identifierHash({ type: 'user_id', value: 'carol-1' }), ['sup_b']],
  ])
  const events = [
    [{ type: 'user_id', value: 'dave' }],
    [{ type: 'email', value: 'carol@example.com' }],
    [
      { type: 'user_id', value: 'carol-1' },
      { type: 'email', value: 'carol@example.com' },
    ],
    [],
  ]
  it('drops events carrying any suppressed identifier and counts per suppression', () => {
    const r = matchSuppressed(events.length, (i) => events[i] ?? [], index)
    expect([...r.dropped].sort()).toEqual([1, 2])
    expect(Object.fromEntries(r.bySuppression)).toEqual({ sup_a: 2, sup_b: 1 })
  })
  it('keeps everything when nothing is suppressed', () => {
    const r = matchSuppressed(events.length, (i) => events[i] ?? [], new Map())
    expect(r.dropped.size).toBe(0)
  })
})
