import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Effect } from './contract.js'
import { getDestination } from './registry.js'
import {
  REDACTED,
  decryptSettings,
  decryptValue,
  encryptSettings,
  encryptValue,
  isEncrypted,
  maskUrl,
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

  it('masks query values and credentials of URLs in the delivery log', () => {
    const effect: Effect = {
      type: 'http',
      method: 'GET',
      url: 'https://api.example.com/profiles?filter=any(email,["a@b.c"])&token=t0k',
      headers: {},
      body: null,
      idempotencyKey: 'k',
      itemIds: ['1'],
    }
    expect(redactEffectForLog(effect).url).toBe(
      `https://api.example.com/profiles?filter=${REDACTED}&token=${REDACTED}`,
    )
    expect(maskUrl('https://u:p@h.example/x')).toBe(`https://${REDACTED}:${REDACTED}@h.example/x`)
    expect(maskUrl('https://h.example/x')).toBe('https://h.example/x')
  })
})

describe('secrets bound to their endpoint', () => {
  const webhook = getDestination('builtin.webhook').manifest
  const braze = getDestination('builtin.braze').manifest
  const stored = {
    url: 'https://hooks.example.com/in?token=abc',
    headers: { authorization: 'Bearer VENDOR-API-TOKEN-xyz' },
    signingSecret: 'whsec_0123456789abcdef',
  }

  it('refuses to keep webhook secrets when the URL moves, naming the secrets', () => {
    const shown = redactSettings(webhook, stored)
    expect(shown.url).toBe(`https://hooks.example.com/in?token=${REDACTED}`)
    let err: unknown
    try {
      mergeSecretUpdate(webhook, stored, { ...shown, url: 'https://attacker.example/x' })
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({
      code: 'SECRET_REENTRY_REQUIRED',
      details: [
        expect.objectContaining({ path: 'signingSecret' }),
        expect.objectContaining({ path: 'headers' }),
      ],
    })
    // Same host, another path: still a different receiver (shared hosts serve many tenants).
    expect(() =>
      mergeSecretUpdate(webhook, stored, { ...shown, url: 'https://hooks.example.com/other' }),
    ).toThrow(/cannot be kept/)
  })

  it('keeps them when the endpoint stays, including a URL sent back masked', () => {
    const shown = redactSettings(webhook, stored)
    expect(mergeSecretUpdate(webhook, stored, { ...shown, batch: true })).toEqual({
      ...stored,
      batch: true,
    })
    const fresh = { url: 'https://new.example/x', headers: { a: 'b' }, signingSecret: undefined }
    expect(mergeSecretUpdate(webhook, stored, fresh)).toEqual(fresh)
  })

  it('refuses to keep the Braze API key when the REST endpoint moves', () => {
    const b = { restEndpoint: 'https://rest.iad-01.braze.com', apiKey: 'braze-REST-secret-0123' }
    const shown = redactSettings(braze, b)
    expect(() =>
      mergeSecretUpdate(braze, b, { ...shown, restEndpoint: 'http://127.0.0.1:18902/attacker' }),
    ).toThrow(/restEndpoint changed, so the stored apiKey cannot be kept/)
    expect(mergeSecretUpdate(braze, b, shown)).toEqual(b)
  })
})
