import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { KindredEvent } from '../../protocol/event-schema.js'
import { anonymizeIp, effectivePolicy, hashValue, piiSettingsSchema, protectEvent } from './pii.js'

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

function event(over: Partial<KindredEvent> = {}): KindredEvent {
  return {
    messageId: 'm1',
    type: 'identify',
    userId: 'u1',
    properties: {},
    traits: { email: ' Ada@Example.com ', plan: 'pro' },
    context: { ip: '203.0.113.77', traits: { phone: '+44 (20) 7946-0958' } },
    integrations: {},
    timestamp: '2026-01-01T00:00:00.000Z',
    originalTimestamp: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  }
}

describe('anonymizeIp', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['10.0.0.255', '10.0.0.0'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['2001:db8::1', '2001:db8:0::'],
    ['::1', '0:0:0::'],
    ['fe80::1%eth0', 'fe80:0:0::'],
    ['::ffff:192.0.2.128', '::ffff:192.0.2.0'],
  ])('%s → %s', (ip, want) => {
    expect(anonymizeIp(ip)).toBe(want)
  })

  it.each(['not an ip', '1.2.3', '256.1.1.1', '1:2:3:4:5:6:7:8:9', '1::2::3', 'gggg::1'])(
    'refuses %s',
    (ip) => {
      expect(anonymizeIp(ip)).toBeUndefined()
    },
  )
})

describe('hashValue', () => {
  it('hashes the normalised value with the salt', () => {
    expect(hashValue(' Ada@Example.COM ', '', 'email')).toBe(sha('ada@example.com'))
    expect(hashValue('Ada@example.com', 'pepper-123', 'email')).toBe(
      sha('pepper-123ada@example.com'),
    )
    expect(hashValue('+44 (20) 7946-0958', '', 'phone')).toBe(sha('+442079460958'))
  })

  it('is idempotent: a sha256 hex stays as it is', () => {
    const once = hashValue('ada@example.com', 's', 'email')
    expect(hashValue(once, 's', 'email')).toBe(once)
  })
})

describe('protectEvent', () => {
  const settings = piiSettingsSchema.parse({ hashFields: ['email', 'phone'], anonymizeIp: true })

  it('hashes chosen fields everywhere and anonymises the IP without mutating the input', () => {
    const input = event()
    const snapshot = structuredClone(input)
    const out = protectEvent(input, effectivePolicy(settings, undefined))
    expect(input).toEqual(snapshot)
    expect(out.traits).toEqual({ email: sha('ada@example.com'), plan: 'pro' })
    expect(out.context).toEqual({ ip: '203.0.113.0', traits: { phone: sha('+442079460958') } })
    expect(out.userId).toBe('u1')
  })

  it('hashes structured PII leaf by leaf and leaves nulls alone', () => {
    const policy = effectivePolicy(piiSettingsSchema.parse({ hashFields: ['address'] }), {})
    const out = protectEvent(
      event({ traits: { address: { city: 'Paris', zip: 75001 }, email: null } }),
      policy,
    )
    expect(out.traits).toEqual({
      address: { city: sha('paris'), zip: sha('75001') },
      email: null,
    })
  })

  it('drops an IP it cannot anonymise; hashes it when ip is a hash field', () => {
    const anon = effectivePolicy(piiSettingsSchema.parse({}), { anonymizeIp: true })
    expect(protectEvent(event({ context: { ip: 'garbage' } }), anon).context).toEqual({})
    const hashed = effectivePolicy(piiSettingsSchema.parse({ hashFields: ['ip'] }), {})
    expect(protectEvent(event({ context: { ip: '1.2.3.4' } }), hashed).context.ip).toBe(
      sha('1.2.3.4'),
    )
  })

  it('a source overrides the workspace IP default; no policy returns the same object', () => {
    const ws = piiSettingsSchema.parse({ anonymizeIp: true })
    expect(effectivePolicy(ws, { anonymizeIp: false })).toBeUndefined()
    const e = event()
    expect(protectEvent(e, undefined)).toBe(e)
  })
})
