import { describe, expect, it } from 'vitest'
import {
  brokerTarget,
  checkAddress,
  checkBrokerUrl,
  checkEndpointSettings,
  checkOutboundUrl,
  checkPostgresUrl,
  classifyAddress,
  formatIp,
  parseIp,
  parseOutboundAllow,
  strictOutboundPolicy,
} from './outbound-policy.js'

const cls = (text: string) => {
  const ip = parseIp(text)
  if (!ip) throw new Error(`unparsed ${text}`)
  return classifyAddress(ip)
}

describe('parseIp', () => {
  it('reads every IPv4 spelling a resolver accepts as the same address', () => {
    for (const s of ['127.0.0.1', '0x7f000001', '2130706433', '127.1', '0177.0.0.1', '127.0.1']) {
      expect(formatIp(parseIp(s)!), s).toBe('127.0.0.1')
    }
    expect(formatIp(parseIp('0x0a.1')!)).toBe('10.0.0.1')
    expect(parseIp('256.0.0.1')).toBeNull()
    expect(parseIp('1.2.3.4.5')).toBeNull()
    expect(parseIp('example.com')).toBeNull()
    expect(parseIp('08.0.0.1')).toBeNull()
  })

  it('reads IPv6, brackets, zones and embedded IPv4', () => {
    expect(formatIp(parseIp('[::1]')!)).toBe('0:0:0:0:0:0:0:1')
    expect(formatIp(parseIp('::ffff:127.0.0.1')!)).toBe('0:0:0:0:0:ffff:7f00:1')
    expect(formatIp(parseIp('[::ffff:7f00:1]')!)).toBe('0:0:0:0:0:ffff:7f00:1')
    expect(parseIp('fe80::1%eth0')?.family).toBe(6)
    expect(parseIp('1::2::3')).toBeNull()
    expect(parseIp('1:2:3:4:5:6:7:8:9')).toBeNull()
  })
})

describe('classifyAddress', () => {
  it('refuses the special-purpose ranges and accepts public unicast', () => {
    const special = [
      '0.0.0.0',
      '0.1.2.3',
      '10.0.0.1',
      '100.64.0.1',
      '100.127.255.255',
      '127.0.0.1',
      '127.255.0.9',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '192.0.2.1',
      '198.18.0.1',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::a00:1',
      '2002:a00:1::',
      'fc00::1',
      'fd12:3456::1',
      'fe80::1',
      'ff02::1',
      '2001:db8::1',
    ]
    expect(special.filter((a) => cls(a) === 'public')).toEqual([])
    expect(cls('169.254.169.254')).toBe('link-local')
    expect(cls('100.64.0.1')).toBe('carrier-grade-nat')
    expect(cls('fd00::1')).toBe('unique-local')
    expect(cls('255.255.255.255')).toBe('broadcast')
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111']) {
      expect(cls(a), a).toBe('public')
    }
  })
})

describe('parseOutboundAllow', () => {
  it('reads ranges, addresses, ports and host names', () => {
    const p = parseOutboundAllow(
      ' 127.0.0.1/32, 10.1.2.0/24,10.9.9.9:5432,[fd00::/8]:443, ::1, db.internal:5432 ,hooks.lan',
    )
    expect(p.allow.map((r) => [r.match.kind, r.port])).toEqual([
      ['range', null],
      ['range', null],
      ['range', 5432],
      ['range', 443],
      ['range', null],
      ['host', 5432],
      ['host', null],
    ])
    expect(parseOutboundAllow(undefined)).toEqual(strictOutboundPolicy)
    expect(parseOutboundAllow('')).toEqual(strictOutboundPolicy)
  })

  it('refuses what it cannot read, naming the entry', () => {
    for (const bad of ['10.0.0.0/33', '127.1', 'host:99999', 'a b', '10.0.0.0/', '[::1']) {
      expect(() => parseOutboundAllow(bad), bad).toThrow(/outbound allow-list/)
    }
  })

  it('lets allowed addresses and names through, on their port only when one is given', () => {
    const p = parseOutboundAllow('10.1.2.0/24,10.9.9.9:5432,db.internal:5432,fd00::/8')
    const at = (host: string, port: number, address = host) =>
      checkAddress(p, { host, port, address: parseIp(address)! })
    expect(at('10.1.2.77', 80)).toBeNull()
    expect(at('10.1.3.1', 80)?.code).toBe('OUTBOUND_ADDRESS_REFUSED')
    expect(at('10.9.9.9', 5432)).toBeNull()
    expect(at('10.9.9.9', 22)?.code).toBe('OUTBOUND_ADDRESS_REFUSED')
    expect(at('db.internal', 5432, '192.168.7.7')).toBeNull()
    expect(at('db.internal', 80, '192.168.7.7')?.code).toBe('OUTBOUND_ADDRESS_REFUSED')
    expect(at('fd00::9', 443)).toBeNull()
    // A mapped spelling of an allowed IPv4 address is that address.
    expect(at('::ffff:10.1.2.3', 80)).toBeNull()
    expect(at('169.254.169.254', 80)?.message).toContain('link-local')
  })
})

describe('checkOutboundUrl', () => {
  const strict = strictOutboundPolicy
  it('accepts public http and https URLs', () => {
    expect(checkOutboundUrl(strict, 'https://hooks.example.com/x?y=1')).toMatchObject({
      ok: true,
      target: { host: 'hooks.example.com', port: 443 },
    })
    expect(checkOutboundUrl(strict, 'http://8.8.8.8:8080/')).toMatchObject({
      ok: true,
      target: { port: 8080 },
    })
  })

  it('refuses other schemes, credentials in the URL, literal local addresses and local names', () => {
    const code = (u: string) => {
      const r = checkOutboundUrl(strict, u)
      return r.ok ? 'ok' : r.refusal.code
    }
    expect(
      ['file:///etc/passwd', 'gopher://x/', 'ftp://x/', 'javascript:alert(1)', 'data:,x'].map(code),
    ).toEqual(Array(5).fill('OUTBOUND_SCHEME_REFUSED'))
    expect(code('https://user:pw@example.com/')).toBe('OUTBOUND_URL_INVALID')
    expect(code('not a url')).toBe('OUTBOUND_URL_INVALID')
    for (const u of [
      'http://0x7f000001:18901/',
      'http://2130706433:18901/',
      'http://127.1:18901/',
      'http://[::ffff:127.0.0.1]:18901/',
      'http://[::1]/',
      'http://localhost/',
      'http://app.localhost/',
      'http://metadata.google.internal/',
      'http://169.254.169.254/',
    ]) {
      expect(code(u), u).toBe('OUTBOUND_ADDRESS_REFUSED')
    }
  })
})

describe('checkPostgresUrl and checkEndpointSettings', () => {
  it('checks the host a connection string names, including ?host= and Unix sockets', () => {
    const strict = strictOutboundPolicy
    expect(checkPostgresUrl(strict, 'postgres://u:p@db.example.com:5432/crm')).toBeNull()
    expect(checkPostgresUrl(strict, 'postgres://u:p@127.0.0.1:18903/x')?.code).toBe(
      'OUTBOUND_ADDRESS_REFUSED',
    )
    expect(checkPostgresUrl(strict, 'postgres://u:p@[::1]/x')?.code).toBe(
      'OUTBOUND_ADDRESS_REFUSED',
    )
    expect(checkPostgresUrl(strict, 'postgres://u:p@db.example.com/x?host=10.0.0.1')?.code).toBe(
      'OUTBOUND_ADDRESS_REFUSED',
    )
    expect(checkPostgresUrl(strict, 'postgres:///x?host=/tmp')?.code).toBe(
      'OUTBOUND_ADDRESS_REFUSED',
    )
    const allowed = parseOutboundAllow('10.0.0.0/8:5432')
    expect(checkPostgresUrl(allowed, 'postgres://u:p@10.2.3.4/x')).toBeNull()
    expect(checkPostgresUrl(allowed, 'postgres://u:p@10.2.3.4:6543/x')?.code).toBe(
      'OUTBOUND_ADDRESS_REFUSED',
    )
  })

  it('reports each refused endpoint field by name', () => {
    expect(
      checkEndpointSettings(
        { url: 'url', connectionString: 'connection', directory: 'directory' },
        { url: 'file:///x', connectionString: 'postgres://a@127.0.0.1/x', directory: '../x' },
        strictOutboundPolicy,
      ).map((i) => [i.path, i.code]),
    ).toEqual([
      ['url', 'OUTBOUND_SCHEME_REFUSED'],
      ['connectionString', 'OUTBOUND_ADDRESS_REFUSED'],
    ])
  })
})

describe('broker URLs (stream destinations)', () => {
  it('reads host and default port per scheme, and refuses other schemes', () => {
    expect(brokerTarget('amqp://u:p@mq.example.com/vh')).toMatchObject({
      ok: true,
      target: { host: 'mq.example.com', port: 5672 },
      tls: false,
    })
    expect(brokerTarget('amqps://mq.example.com')).toMatchObject({
      target: { port: 5671 },
      tls: true,
    })
    expect(brokerTarget('rediss://[2001:db8::1]:7000')).toMatchObject({
      target: { host: '2001:db8::1', port: 7000 },
    })
    expect(brokerTarget('mqtt://broker.example.com')).toMatchObject({ target: { port: 1883 } })
    expect(brokerTarget('nats://n.example.com', ['nats:'])).toMatchObject({
      target: { port: 4222 },
    })
    expect(brokerTarget('redis://r.example.com', ['amqp:'])).toMatchObject({
      ok: false,
      refusal: { code: 'OUTBOUND_SCHEME_REFUSED' },
    })
    expect(brokerTarget('http://x.example.com')).toMatchObject({ ok: false })
    expect(brokerTarget('not a url')).toMatchObject({
      ok: false,
      refusal: { code: 'OUTBOUND_URL_INVALID' },
    })
  })

  it('refuses loopback and private brokers unless the operator allows them', () => {
    expect(checkBrokerUrl(strictOutboundPolicy, 'redis://127.0.0.1:6379')?.code).toBe(
      'OUTBOUND_ADDRESS_REFUSED',
    )
    expect(checkBrokerUrl(strictOutboundPolicy, 'amqp://guest:guest@localhost')?.code).toBe(
      'OUTBOUND_ADDRESS_REFUSED',
    )
    expect(checkBrokerUrl(strictOutboundPolicy, 'mqtt://10.1.2.3')?.code).toBe(
      'OUTBOUND_ADDRESS_REFUSED',
    )
    expect(checkBrokerUrl(parseOutboundAllow('127.0.0.0/8'), 'redis://127.0.0.1:6379')).toBeNull()
    expect(checkBrokerUrl(strictOutboundPolicy, 'nats://nats.example.com')).toBeNull()
    expect(
      checkEndpointSettings({ url: 'broker' }, { url: 'mqtt://192.168.0.9' }, strictOutboundPolicy),
    ).toEqual([expect.objectContaining({ path: 'url', code: 'OUTBOUND_ADDRESS_REFUSED' })])
  })
})
