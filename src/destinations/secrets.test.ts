import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Effect } from './contract.js'
import {
  REDACTED,
  decryptSettings,
  decryptValue,
  encryptSettings,
  encryptValue,
  isEncrypted,
  mergeSecretUpdate,
  parseSecretKey,
  redactEffectForLog,
  redactSettings,
  secretStrings,
} from './secrets.js'

const key = randomBytes(32)
const manifest = { secretFields: ['apiKey', 'headers'] }

describe('AES-256-GCM secrets', () => {
  it('round-trips any JSON value and uses a fresh IV each time', () => {
    const a = encryptValue('pk_live_123', key)
    const b = encryptValue('pk_live_123', key)
    expect(a).not.toBe(b)
    expect(isEncrypted(a)).toBe(true)
    expect(a).not.toContain('pk_live_123')
    expect(decryptValue(a, key)).toBe('pk_live_123')
    expect(decryptValue(encryptValue({ authorization: 'Bearer x' }, key), key)).toEqual({
      authorization: 'Bearer x',
    })
  })

  it('is deterministic with an injected random source', () => {
    const zeros = (n: number) => new Uint8Array(n)
    expect(encryptValue('x', key, zeros)).toBe(encryptValue('x', key, zeros))
  })

  it('refuses a wrong key or a tampered value with SECRET_DECRYPT_FAILED', () => {
    const enc = encryptValue('secret', key)
    expect(() => decryptValue(enc, randomBytes(32))).toThrow(
      expect.objectContaining({ code: 'SECRET_DECRYPT_FAILED' }),
    )
    const parts = enc.split(':')
    parts[4] = Buffer.from('tampered').toString('base64url')
    expect(() => decryptValue(parts.join(':'), key)).toThrow(/could not be decrypted/)
    expect(() => encryptValue('x', randomBytes(16))).toThrow(
      expect.objectContaining({ code: 'SECRET_KEY_INVALID' }),
    )
  })

  it('parses hex and base64 keys', () => {
    expect(Buffer.from(parseSecretKey(key.toString('hex')))).toEqual(key)
    expect(Buffer.from(parseSecretKey(key.toString('base64')))).toEqual(key)
    expect(() => parseSecretKey('short')).toThrow(/32 bytes/)
  })
})

describe('settings', () => {
  const settings = { apiKey: 'pk_live_123', headers: { 'x-token': 'abc123' }, listId: 'L1' }

  it('encrypts only secret fields, idempotently, and decrypts them back', () => {
    const enc = encryptSettings(manifest, settings, key)
    expect(enc.listId).toBe('L1')
    expect(isEncrypted(enc.apiKey) && isEncrypted(enc.headers)).toBe(true)
    expect(encryptSettings(manifest, enc, key)).toEqual(enc)
    expect(decryptSettings(manifest, enc, key)).toEqual(settings)
  })

  it('redacts secrets for API output and keeps stored secrets on a redacted update', () => {
    const enc = encryptSettings(manifest, settings, key)
    const out = redactSettings(manifest, enc)
    expect(out).toEqual({ apiKey: REDACTED, headers: REDACTED, listId: 'L1' })
    const merged = mergeSecretUpdate(manifest, enc, { ...out, listId: 'L2' })
    expect(merged).toEqual({ ...enc, listId: 'L2' })
    expect(secretStrings(manifest, settings)).toEqual(['pk_live_123', 'abc123'])
  })

  it('redacts effects for the delivery log', () => {
    const effect: Effect = {
      type: 'http',
      method: 'POST',
      url: 'https://hooks.slack.com/services/T/B/abc123secret',
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
      body: '{"a":"abc123secret"}',
      idempotencyKey: 'k',
      itemIds: ['1'],
    }
    const r = redactEffectForLog(effect, ['abc123secret'])
    expect(r.url).toBe(`https://hooks.slack.com/services/T/B/${REDACTED}`)
    expect(r.headers).toEqual({ authorization: REDACTED, 'content-type': 'application/json' })
    expect(r.body).toBe(`{"a":"${REDACTED}"}`)
  })
})
