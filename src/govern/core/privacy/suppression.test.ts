import { describe, expect, it } from 'vitest'
import {
  deriveSuppressionKey,
  hmacSha256Hex,
  identifierHash,
  legacyIdentifierHash,
  maskIdentifier,
  matchSuppressed,
  suppressionLookups,
} from './suppression.js'

const ada = { type: 'email', value: 'ada@example.com' }
/** 0x00 … 0x1f: a fixed instance secret for the known answers below. */
const secret = Uint8Array.from({ length: 32 }, (_, i) => i)
const key = deriveSuppressionKey(secret)

describe('hmacSha256Hex (the primitive), RFC 4231 known answers', () => {
  it('test case 1: 20-byte key, "Hi There"', () => {
    expect(hmacSha256Hex(new Uint8Array(20).fill(0x0b), 'Hi There')).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    )
  })
  it('test case 2: key "Jefe", "what do ya want for nothing?"', () => {
    expect(hmacSha256Hex(Buffer.from('Jefe'), 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    )
  })
  it('test case 6: a key longer than the block size is hashed first', () => {
    expect(
      hmacSha256Hex(
        new Uint8Array(131).fill(0xaa),
        'Test Using Larger Than Block-Size Key - Hash Key First',
      ),
    ).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54')
  })
})

describe('deriveSuppressionKey', () => {
  it('is HKDF-SHA256 of the instance secret: pinned, so stored hashes never silently change', () => {
    // Computed independently (Python hmac/hashlib HKDF, checked against RFC 5869 test case 1):
    // HKDF(ikm = 00..1f, salt = none, info = "kindred/privacy/suppression-hash/v1", L = 32).
    expect(Buffer.from(key.key).toString('hex')).toBe(
      'd8dc8024ab8a5aaaa906c8dbd558e4733a99a394d2d77130c5d51b59e4f66b8d',
    )
    expect(key.id).toBe('b2388b273c0b710a')
  })
  it('never returns the instance secret itself, and differs per secret', () => {
    expect(Buffer.from(key.key).equals(Buffer.from(secret))).toBe(false)
    const other = deriveSuppressionKey(new Uint8Array(32).fill(7))
    expect(Buffer.from(other.key).equals(Buffer.from(key.key))).toBe(false)
    expect(other.id).not.toBe(key.id)
  })
  it('refuses a short secret', () => {
    expect(() => deriveSuppressionKey(new Uint8Array(16))).toThrow(/32 bytes/)
  })
})

describe('identifierHash', () => {
  it('is HMAC-SHA256 of type:value under the derived key (known answer)', () => {
    // HMAC-SHA256(key above, "email:ada@example.com"), computed with Python's hmac module.
    expect(identifierHash(ada, key)).toBe(
      'a2747d24714b2f186da48ebca2b5c5d3f874135ec1a5a817b203f790a003219c',
    )
    expect(identifierHash(ada, key)).toBe(hmacSha256Hex(key.key, 'email:ada@example.com'))
  })
  it('differs per key, per type, and from the plain sha256 a dictionary would try', () => {
    const other = deriveSuppressionKey(new Uint8Array(32).fill(1))
    expect(identifierHash(ada, other)).not.toBe(identifierHash(ada, key))
    expect(identifierHash({ type: 'user_id', value: ada.value }, key)).not.toBe(
      identifierHash(ada, key),
    )
    expect(identifierHash(ada, key)).not.toBe(legacyIdentifierHash(ada))
  })
  it('the legacy form is sha256 of type:value (what rows before ADR 0007 hold)', () => {
    // sha256('email:ada@example.com'), computed independently with `printf … | sha256sum`.
    expect(legacyIdentifierHash(ada)).toBe(
      '9b62a3a2bce7c868f30d60f0818e84d225bceb56f6c2dccaa4ac388af5fd8f7f',
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
  const carol = { type: 'email', value: 'carol@example.com' }
  const carolId = { type: 'user_id', value: 'carol-1' }
  const keyed = new Map([[identifierHash(carol, key), ['sup_a']]])
  const legacy = new Map([[legacyIdentifierHash(carolId), ['sup_b']]])
  const events = [[{ type: 'user_id', value: 'dave' }], [carol], [carolId, carol], []]

  it('drops events carrying any suppressed identifier, keyed or legacy; counts per suppression', () => {
    const r = matchSuppressed(
      events.length,
      (i) => events[i] ?? [],
      suppressionLookups(key, keyed, legacy),
    )
    expect([...r.dropped].sort()).toEqual([1, 2])
    expect(Object.fromEntries(r.bySuppression)).toEqual({ sup_a: 2, sup_b: 1 })
  })
  it('a keyed entry does not match under another key', () => {
    const other = deriveSuppressionKey(new Uint8Array(32).fill(9))
    const r = matchSuppressed(
      events.length,
      (i) => events[i] ?? [],
      suppressionLookups(other, keyed, new Map()),
    )
    expect(r.dropped.size).toBe(0)
  })
  it('hashes only for the schemes the workspace has rows of', () => {
    expect(suppressionLookups(key, keyed, new Map())).toHaveLength(1)
    expect(suppressionLookups(key, new Map(), legacy)).toHaveLength(1)
    expect(suppressionLookups(key, keyed, legacy)).toHaveLength(2)
  })
  it('keeps everything when nothing is suppressed', () => {
    const r = matchSuppressed(events.length, (i) => events[i] ?? [], [])
    expect(r.dropped.size).toBe(0)
  })
})
