/**
 * @module destinations/outbound-policy
 * Where destinations may send data, as pure functions: parse IP addresses (every spelling a
 * resolver accepts: `0x7f000001`, `2130706433`, `127.1`, `0177.0.0.1`, `[::ffff:127.0.0.1]`),
 * classify them, and decide with the operator's allow-list. The engine resolves names and pins the
 * connection to the address checked here (`src/activate/engine/executors/outbound-guard.ts`).
 *
 * Default: only public unicast addresses. Loopback, private (RFC 1918), link-local (cloud metadata
 * at 169.254.169.254), CGNAT, unique-local, multicast, "this network", broadcast, documentation
 * and other special-purpose ranges are refused, because a destination URL is chosen by a workspace
 * editor, and Kindred's own network position must not become theirs.
 *
 * Allow-list syntax (`KINDRED_OUTBOUND_ALLOW`, comma-separated; see README):
 * - `10.1.2.0/24`, `fd00::/8`: a range (any port)
 * - `10.1.2.7`, `::1`: one address (any port)
 * - `10.1.2.7:5432`, `10.1.2.0/24:5432`, `[fd00::1]:443`, `[fd00::/8]:443`: only that port
 * - `db.internal`, `db.internal:5432`: a host name exactly as configured (whatever it resolves to)
 */

export type IpFamily = 4 | 6

export interface IpAddress {
  family: IpFamily
  /** 32 bits (IPv4) or 128 bits (IPv6). */
  value: bigint
}

/** Why an address is not public (`public` when it is). */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'carrier-grade-nat'
  | 'unique-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'

export interface AllowRule {
  /** As written, for messages. */
  text: string
  port: number | null
  match:
    | { kind: 'range'; family: IpFamily; base: bigint; prefix: number }
    | { kind: 'host'; host: string }
}

export interface OutboundPolicy {
  allow: AllowRule[]
}

/** Public addresses only. */
export const strictOutboundPolicy: OutboundPolicy = { allow: [] }

export interface OutboundRefusal {
  code: 'OUTBOUND_ADDRESS_REFUSED' | 'OUTBOUND_SCHEME_REFUSED' | 'OUTBOUND_URL_INVALID'
  message: string
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** One inet_aton part: decimal, octal (leading 0) or hex (0x). */
function parseV4Part(part: string): bigint | null {
  if (/^0x[0-9a-f]*$/i.test(part)) return BigInt(part.length === 2 ? 0 : Number.parseInt(part, 16))
  if (/^0[0-7]+$/.test(part)) return BigInt(Number.parseInt(part, 8))
  if (/^(0|[1-9][0-9]*)$/.test(part)) return BigInt(part)
  return null
}

/**
 * IPv4 in every form `inet_aton` (and so `getaddrinfo` and WHATWG URL hosts) accepts: one to four
 * parts, the last filling the remaining bytes (`127.1` is 127.0.0.1, `2130706433` too).
 */
export function parseIpv4(text: string): bigint | null {
  const parts = text.split('.')
  if (parts.length > 4 || parts.some((p) => p === '')) return null
  const nums = parts.map(parseV4Part)
  if (nums.some((n) => n === null)) return null
  const values = nums as bigint[]
  const last = values[values.length - 1]!
  const lead = values.slice(0, -1)
  if (lead.some((n) => n > 255n)) return null
  const restBits = BigInt(8 * (4 - lead.length))
  if (last >= 1n << restBits) return null
  let out = 0n
  for (const n of lead) out = (out << 8n) | n
  return (out << restBits) | last
}

function parseIpv6(text: string): bigint | null {
  let t = text
  const zone = t.indexOf('%')
  if (zone !== -1) t = t.slice(0, zone)
  if (!/^[0-9a-f:.]+$/i.test(t)) return null
  if (t.includes('.')) {
    // Embedded dotted quad (four decimal parts, as RFC 4291 writes it) → two hex groups.
    const lastColon = t.lastIndexOf(':')
    const quad = t.slice(lastColon + 1)
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(quad)) return null
    const b = quad.split('.').map(Number)
    if (b.some((x) => x > 255)) return null
    const hi = ((b[0]! << 8) | b[1]!).toString(16)
    const lo = ((b[2]! << 8) | b[3]!).toString(16)
    t = `${t.slice(0, lastColon + 1)}${hi}:${lo}`
  }
  const halves = t.split('::')
  if (halves.length > 2) return null
  const groups = (s: string) => (s === '' ? [] : s.split(':'))
  const head = groups(halves[0]!)
  const rest = halves.length === 2 ? groups(halves[1]!) : []
  const hex = (g: string) => (/^[0-9a-f]{1,4}$/i.test(g) ? BigInt(Number.parseInt(g, 16)) : null)
  const headV = head.map(hex)
  const restV = rest.map(hex)
  if ([...headV, ...restV].some((v) => v === null)) return null
  const total = headV.length + restV.length
  let all: bigint[]
  if (halves.length === 2) {
    if (total > 7) return null
    all = [...(headV as bigint[]), ...Array<bigint>(8 - total).fill(0n), ...(restV as bigint[])]
  } else {
    if (total !== 8) return null
    all = headV as bigint[]
  }
  return all.reduce((acc, g) => (acc << 16n) | g, 0n)
}

/** An IP address in any accepted spelling (brackets allowed around IPv6), else null. */
export function parseIp(text: string): IpAddress | null {
  let t = text.trim()
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1)
  if (t.includes(':')) {
    const v = parseIpv6(t)
    return v === null ? null : { family: 6, value: v }
  }
  const v = parseIpv4(t)
  return v === null ? null : { family: 4, value: v }
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 255n)).join('.')
  }
  const groups: string[] = []
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((ip.value >> s) & 0xffffn).toString(16))
  return groups.join(':')
}

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------

type Range = [family: IpFamily, base: string, prefix: number, cls: AddressClass]

// IANA special-purpose registries (IPv4: RFC 6890 and updates; IPv6: RFC 6890, 4291, 4193).
const RANGES: Range[] = [
  [4, '0.0.0.0', 8, 'unspecified'],
  [4, '10.0.0.0', 8, 'private'],
  [4, '100.64.0.0', 10, 'carrier-grade-nat'],
  [4, '127.0.0.0', 8, 'loopback'],
  [4, '169.254.0.0', 16, 'link-local'],
  [4, '172.16.0.0', 12, 'private'],
  [4, '192.0.0.0', 24, 'reserved'],
  [4, '192.0.2.0', 24, 'documentation'],
  [4, '192.88.99.0', 24, 'reserved'],
  [4, '192.168.0.0', 16, 'private'],
  [4, '198.18.0.0', 15, 'reserved'],
  [4, '198.51.100.0', 24, 'documentation'],
  [4, '203.0.113.0', 24, 'documentation'],
  [4, '224.0.0.0', 4, 'multicast'],
  [4, '255.255.255.255', 32, 'broadcast'],
  [4, '240.0.0.0', 4, 'reserved'],
  [6, '::', 128, 'unspecified'],
  [6, '::1', 128, 'loopback'],
  // IPv4-compatible (deprecated): never a real destination.
  [6, '::', 96, 'reserved'],
  [6, '64:ff9b:1::', 48, 'private'],
  [6, '100::', 64, 'reserved'],
  [6, '2001::', 32, 'reserved'],
  [6, '2001:2::', 48, 'reserved'],
  [6, '2001:10::', 28, 'reserved'],
  [6, '2001:20::', 28, 'reserved'],
  [6, '2001:db8::', 32, 'documentation'],
  [6, '3fff::', 20, 'documentation'],
  [6, 'fc00::', 7, 'unique-local'],
  [6, 'fe80::', 10, 'link-local'],
  [6, 'fec0::', 10, 'reserved'],
  [6, 'ff00::', 8, 'multicast'],
]

const parsedRanges = RANGES.map(([family, base, prefix, cls]) => ({
  family,
  base: parseIp(base)!.value,
  prefix,
  cls,
}))

function inRange(ip: IpAddress, family: IpFamily, base: bigint, prefix: number): boolean {
  if (ip.family !== family) return false
  const bits = BigInt(family === 4 ? 32 : 128)
  const shift = bits - BigInt(prefix)
  return ip.value >> shift === base >> shift
}

/**
 * IPv4 carried inside IPv6 that reaches the IPv4 address: mapped (`::ffff:a.b.c.d`), NAT64
 * (`64:ff9b::/96`) and 6to4 (`2002:aabb:ccdd::/16`).
 */
export function embeddedIpv4(ip: IpAddress): IpAddress | null {
  if (ip.family !== 6) return null
  const v = ip.value
  if (v >> 32n === 0xffffn || v >> 32n === 0x64ff9b0000000000000000n)
    return { family: 4, value: v & 0xffffffffn }
  if (v >> 112n === 0x2002n) return { family: 4, value: (v >> 80n) & 0xffffffffn }
  return null
}

export function classifyAddress(ip: IpAddress): AddressClass {
  const inner = embeddedIpv4(ip)
  if (inner) return classifyAddress(inner)
  for (const r of parsedRanges) if (inRange(ip, r.family, r.base, r.prefix)) return r.cls
  return 'public'
}

// ---------------------------------------------------------------------------------------------
// Allow-list
// ---------------------------------------------------------------------------------------------

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null
  const n = Number(text)
  return n >= 1 && n <= 65535 ? n : null
}

function parseRange(text: string): { family: IpFamily; base: bigint; prefix: number } | null {
  const [addr, prefixText, ...more] = text.split('/')
  if (more.length > 0 || addr === undefined) return null
  // Only the canonical dotted form in configuration: `127.1` there is more likely a typo.
  if (!addr.includes(':') && !/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return null
  const ip = parseIp(addr)
  if (!ip) return null
  const max = ip.family === 4 ? 32 : 128
  const prefix = prefixText === undefined ? max : Number(prefixText)
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || prefixText === '') return null
  return { family: ip.family, base: ip.value, prefix }
}

/**
 * Parse an allow-list. Throws an Error naming the first entry it cannot read (a typo must not
 * silently leave a self-hosted target refused, nor a broader one allowed).
 */
export function parseOutboundAllow(spec: string | undefined): OutboundPolicy {
  const allow: AllowRule[] = []
  for (const raw of (spec ?? '').split(',')) {
    const text = raw.trim()
    if (text === '') continue
    let body = text
    let port: number | null = null
    const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
    if (bracket) {
      body = bracket[1]!
      if (bracket[2] !== undefined) {
        port = parsePort(bracket[2])
        if (port === null) throw new Error(`outbound allow-list: bad port in "${text}"`)
      }
    } else if (!text.includes('::') && (text.match(/:/g) ?? []).length === 1) {
      const i = text.lastIndexOf(':')
      body = text.slice(0, i)
      port = parsePort(text.slice(i + 1))
      if (port === null) throw new Error(`outbound allow-list: bad port in "${text}"`)
    }
    const range = parseRange(body)
    if (range) {
      allow.push({ text, port, match: { kind: 'range', ...range } })
      continue
    }
    const host = body.toLowerCase().replace(/\.$/, '')
    if (!bracket && !/^[\d.]+$/.test(host) && HOST_NAME.test(host)) {
      allow.push({ text, port, match: { kind: 'host', host } })
      continue
    }
    throw new Error(
      `outbound allow-list: cannot read "${text}" (use a CIDR like 10.1.2.0/24, an address, [v6], or a host name, each optionally with :port)`,
    )
  }
  return { allow }
}

function normalHost(host: string): string {
  return host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
}

/** An allow-list rule naming this host (as configured), for this port. */
export function allowedHost(policy: OutboundPolicy, host: string, port: number): AllowRule | null {
  const h = normalHost(host)
  return (
    policy.allow.find(
      (r) => r.match.kind === 'host' && r.match.host === h && (r.port === null || r.port === port),
    ) ?? null
  )
}

/**
 * Whether a connection to `address` (already resolved) on `port` is allowed: public addresses
 * always, others only through an allow-list rule for the address or the configured host name.
 */
export function checkAddress(
  policy: OutboundPolicy,
  target: { host: string; port: number; address: IpAddress },
): OutboundRefusal | null {
  const cls = classifyAddress(target.address)
  if (cls === 'public') return null
  if (allowedHost(policy, target.host, target.port)) return null
  const candidates = [target.address, embeddedIpv4(target.address)].filter(
    (a): a is IpAddress => a !== null,
  )
  for (const r of policy.allow) {
    if (r.match.kind !== 'range' || (r.port !== null && r.port !== target.port)) continue
    const { family, base, prefix } = r.match
    if (candidates.some((a) => inRange(a, family, base, prefix))) return null
  }
  const shown = formatIp(target.address)
  const name = normalHost(target.host)
  return {
    code: 'OUTBOUND_ADDRESS_REFUSED',
    message: `${name === shown ? shown : `${name} (${shown})`} is a ${cls} address: destinations may only reach public addresses unless the operator allows it in KINDRED_OUTBOUND_ALLOW`,
  }
}

// ---------------------------------------------------------------------------------------------
// URLs and connection strings (configuration time, and again before each send)
// ---------------------------------------------------------------------------------------------

/** Names that always mean this machine or the cloud metadata service, whatever DNS says. */
const LOCAL_NAME = /(^|\.)(localhost|localdomain|internal|local)$/

export interface OutboundTarget {
  host: string
  port: number
}

/**
 * Check a destination URL without DNS: the scheme is http or https, there is no user:password
 * part (credentials belong in headers, which are secret settings), and a literal address or a
 * local-only name is allowed by the policy. Names are resolved and checked again at send time.
 */
export function checkOutboundUrl(
  policy: OutboundPolicy,
  raw: string,
): { ok: true; url: URL; target: OutboundTarget } | { ok: false; refusal: OutboundRefusal } {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, refusal: { code: 'OUTBOUND_URL_INVALID', message: 'not a valid URL' } }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return {
      ok: false,
      refusal: {
        code: 'OUTBOUND_SCHEME_REFUSED',
        message: `${url.protocol} URLs are not supported: use https:// (or http://)`,
      },
    }
  }
  if (url.username !== '' || url.password !== '') {
    return {
      ok: false,
      refusal: {
        code: 'OUTBOUND_URL_INVALID',
        message:
          'URLs with user:password@ are not sent: put credentials in a header (a secret setting)',
      },
    }
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const target = { host: url.hostname, port }
  const refusal = checkLiteralHost(policy, target)
  return refusal ? { ok: false, refusal } : { ok: true, url, target }
}

/** The part of the check that needs no DNS: literal addresses and local-only names. */
export function checkLiteralHost(
  policy: OutboundPolicy,
  target: OutboundTarget,
): OutboundRefusal | null {
  const address = parseIp(target.host)
  if (address) return checkAddress(policy, { ...target, address })
  const name = normalHost(target.host)
  if (LOCAL_NAME.test(name) && !allowedHost(policy, name, target.port)) {
    return {
      code: 'OUTBOUND_ADDRESS_REFUSED',
      message: `${name} is a local name: destinations may only reach public addresses unless the operator allows it in KINDRED_OUTBOUND_ALLOW`,
    }
  }
  return null
}

/**
 * The server a `postgres://` connection string names (pg-connection-string rules: the `host`
 * query parameter wins; a host starting with `/` is a Unix socket), or a refusal.
 */
export function postgresTarget(
  raw: string,
): { ok: true; target: OutboundTarget } | { ok: false; refusal: OutboundRefusal } {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return {
      ok: false,
      refusal: { code: 'OUTBOUND_URL_INVALID', message: 'not a valid postgres:// URL' },
    }
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return {
      ok: false,
      refusal: { code: 'OUTBOUND_SCHEME_REFUSED', message: 'use a postgres:// connection string' },
    }
  }
  let host = decodeURIComponent(url.hostname)
  const queryHost = url.searchParams.get('host')
  if (queryHost !== null) host = queryHost
  if (host === '' || host.startsWith('/')) {
    return {
      ok: false,
      refusal: {
        code: 'OUTBOUND_ADDRESS_REFUSED',
        message: 'the connection string must name a host (Unix sockets are local to Kindred)',
      },
    }
  }
  const portText = url.searchParams.get('port') ?? url.port
  const port = portText === '' ? 5432 : Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, refusal: { code: 'OUTBOUND_URL_INVALID', message: 'bad port' } }
  }
  return { ok: true, target: { host, port } }
}

/** Configuration-time check of a postgres:// connection string. */
export function checkPostgresUrl(policy: OutboundPolicy, raw: string): OutboundRefusal | null {
  const t = postgresTarget(raw)
  if (!t.ok) return t.refusal
  return checkLiteralHost(policy, t.target)
}

/** Broker URL schemes and their default ports (TLS variants included). */
export const BROKER_SCHEMES: Record<string, { port: number; tls: boolean }> = {
  'amqp:': { port: 5672, tls: false },
  'amqps:': { port: 5671, tls: true },
  'redis:': { port: 6379, tls: false },
  'rediss:': { port: 6380, tls: true },
  'nats:': { port: 4222, tls: false },
  'tls:': { port: 4222, tls: true },
  'mqtt:': { port: 1883, tls: false },
  'mqtts:': { port: 8883, tls: true },
}

/**
 * The server a message-broker URL names (amqp://, redis://, nats://, mqtt:// and their TLS
 * forms), or a refusal. Credentials in the URL are fine here: the whole URL is a secret setting.
 */
export function brokerTarget(
  raw: string,
  schemes: readonly string[] = Object.keys(BROKER_SCHEMES),
):
  | { ok: true; url: URL; target: OutboundTarget; tls: boolean }
  | { ok: false; refusal: OutboundRefusal } {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return { ok: false, refusal: { code: 'OUTBOUND_URL_INVALID', message: 'not a valid URL' } }
  }
  const scheme = BROKER_SCHEMES[url.protocol]
  if (!scheme || !schemes.includes(url.protocol)) {
    return {
      ok: false,
      refusal: {
        code: 'OUTBOUND_SCHEME_REFUSED',
        message: `${url.protocol} is not supported here: use ${schemes.map((s) => `${s}//`).join(' or ')}`,
      },
    }
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (host === '') {
    return {
      ok: false,
      refusal: { code: 'OUTBOUND_URL_INVALID', message: 'the URL must name a host' },
    }
  }
  const port = url.port === '' ? scheme.port : Number(url.port)
  return { ok: true, url, target: { host, port }, tls: scheme.tls }
}

/** Configuration-time check of a broker URL. */
export function checkBrokerUrl(policy: OutboundPolicy, raw: string): OutboundRefusal | null {
  const t = brokerTarget(raw)
  if (!t.ok) return t.refusal
  return checkLiteralHost(policy, t.target)
}

export interface EndpointIssue {
  path: string
  code: OutboundRefusal['code']
  message: string
}

/**
 * Configuration-time check of a destination's endpoint settings (the manifest's
 * `endpointFields`): URLs and connection strings against the policy. Directories are checked by
 * their settings schema.
 */
export function checkEndpointSettings(
  endpointFields: Record<string, 'url' | 'connection' | 'directory' | 'broker'> | undefined,
  settings: Record<string, unknown>,
  policy: OutboundPolicy,
): EndpointIssue[] {
  const issues: EndpointIssue[] = []
  for (const [field, kind] of Object.entries(endpointFields ?? {})) {
    const value = settings[field]
    if (typeof value !== 'string' || kind === 'directory') continue
    const refusal =
      kind === 'url'
        ? (() => {
            const r = checkOutboundUrl(policy, value)
            return r.ok ? null : r.refusal
          })()
        : kind === 'broker'
          ? checkBrokerUrl(policy, value)
          : checkPostgresUrl(policy, value)
    if (refusal) issues.push({ path: field, ...refusal })
  }
  return issues
}
