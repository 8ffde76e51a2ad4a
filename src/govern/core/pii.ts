/**
 * PII controls: which fields are personal data, IP anonymisation and hashing of
 * chosen fields before anything is stored. Pure: ingest applies `protectEvent` to each normalised
 * event before it is serialised into the event log (ADR 0003).
 * @module
 */
import { hash } from 'node:crypto'
import { z } from 'zod'
import type { KindredEvent } from '../../protocol/event-schema.js'

/** Fields treated as personal data unless a workspace says otherwise. */
export const DEFAULT_PII_FIELDS = [
  'email',
  'phone',
  'name',
  'firstName',
  'lastName',
  'first_name',
  'last_name',
  'address',
  'ip',
] as const

const fieldName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_$-]+$/, 'a field name: letters, digits, _ $ -')

/** Workspace-wide PII settings (`GET/PUT /api/v1/privacy/pii`). */
export const piiSettingsSchema = z.object({
  piiFields: z
    .array(fieldName)
    .max(200)
    .default([...DEFAULT_PII_FIELDS])
    .describe('Field names classified as personal data (shown as PII in the console and APIs)'),
  hashFields: z
    .array(fieldName)
    .max(200)
    .default([])
    .describe('Field names whose values are replaced by their SHA-256 before storage'),
  hashSalt: z
    .string()
    .min(8)
    .max(200)
    .optional()
    .describe('Prefix mixed into every hash; keep it secret and stable (changing it re-keys)'),
  anonymizeIp: z
    .boolean()
    .default(false)
    .describe('Default for sources: zero the last IPv4 octet / last 80 IPv6 bits'),
  retentionDays: z
    .number()
    .int()
    .min(1)
    .max(36_500)
    .nullable()
    .default(null)
    .describe('Events (and quarantined events) older than this are deleted; null keeps them'),
})
export type PiiSettings = z.infer<typeof piiSettingsSchema>

/** Per-source overrides, kept in the source's `settings.pii`. */
export const sourcePiiSchema = z.object({
  anonymizeIp: z.boolean().optional(),
  hashFields: z.array(fieldName).max(200).optional(),
})
export type SourcePii = z.infer<typeof sourcePiiSchema>

/** What ingest applies to one source's events. */
export interface PiiPolicy {
  anonymizeIp: boolean
  /** Lower-cased field names. */
  hashFields: ReadonlySet<string>
  salt: string
}

export function effectivePolicy(
  workspace: PiiSettings,
  source: SourcePii | undefined,
): PiiPolicy | undefined {
  const hashFields = new Set(
    [...workspace.hashFields, ...(source?.hashFields ?? [])].map((f) => f.toLowerCase()),
  )
  const anonymizeIp = source?.anonymizeIp ?? workspace.anonymizeIp
  if (!anonymizeIp && hashFields.size === 0) return undefined
  return { anonymizeIp, hashFields, salt: workspace.hashSalt ?? '' }
}

const SHA256_HEX = /^[0-9a-f]{64}$/

/**
 * SHA-256 hex of the normalised value (trimmed, lower-cased; phones keep only `+` and digits),
 * the way ad platforms match hashed identifiers. A value that already is a SHA-256 hex is kept:
 * clients may send pre-hashed values, and protecting twice must change nothing.
 */
export function hashValue(value: string, salt: string, field: string): string {
  let normalised = value.trim().toLowerCase()
  if (SHA256_HEX.test(normalised)) return normalised
  if (field.includes('phone')) normalised = normalised.replace(/[^+0-9]/g, '')
  return hash('sha256', salt + normalised, 'hex')
}

function hashAny(value: unknown, salt: string, field: string): unknown {
  if (typeof value === 'string') return hashValue(value, salt, field)
  if (typeof value === 'number' || typeof value === 'bigint') {
    return hashValue(String(value), salt, field)
  }
  // Structured PII (Segment's `address` trait): every leaf is hashed, the shape is kept.
  if (Array.isArray(value)) return value.map((v) => hashAny(v, salt, field))
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, hashAny(v, salt, field)] as const),
    )
  }
  return value
}

function hashObject(
  obj: Record<string, unknown> | undefined,
  policy: PiiPolicy,
): Record<string, unknown> | undefined {
  if (!obj) return undefined
  let out: Record<string, unknown> | undefined
  for (const [k, v] of Object.entries(obj)) {
    if (!policy.hashFields.has(k.toLowerCase()) || v === null || v === undefined) continue
    out ??= { ...obj }
    out[k] = hashAny(v, policy.salt, k.toLowerCase())
  }
  return out
}

/** Parses an IPv6 address (with `::` and an optional dotted IPv4 tail) into 8 hextets. */
function parseIpv6(ip: string): number[] | undefined {
  let text = ip.split('%')[0] ?? ''
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (tail.includes('.')) {
    const v4 = parseIpv4(tail)
    if (!v4) return undefined
    const hex = (a: number, b: number) => ((a << 8) | b).toString(16)
    text = `${text.slice(0, lastColon + 1)}${hex(v4[0]!, v4[1]!)}:${hex(v4[2]!, v4[3]!)}`
  }
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const parse = (s: string | undefined): number[] | undefined => {
    if (!s) return []
    const out: number[] = []
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
      out.push(parseInt(g, 16))
    }
    return out
  }
  const head = parse(halves[0])
  const rest = parse(halves[1])
  if (!head || !rest) return undefined
  if (halves.length === 1) return head.length === 8 ? head : undefined
  if (head.length + rest.length > 7) return undefined
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest]
}

function parseIpv4(ip: string): number[] | undefined {
  const parts = ip.split('.')
  if (parts.length !== 4) return undefined
  const nums = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN))
  return nums.every((n) => n >= 0 && n <= 255) ? nums : undefined
}

/**
 * Google Analytics' IP anonymisation: IPv4 keeps 24 bits (last octet zeroed), IPv6 keeps 48 bits
 * (last 80 zeroed); an IPv4-mapped IPv6 address is treated as IPv4. Anything that is not an IP
 * address returns undefined: the caller drops it rather than store what it cannot anonymise.
 */
export function anonymizeIp(ip: string): string | undefined {
  const v4 = parseIpv4(ip.trim())
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0`
  const v6 = parseIpv6(ip.trim())
  if (!v6) return undefined
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return `::ffff:${v6[6]! >> 8}.${v6[6]! & 0xff}.${v6[7]! >> 8}.0`
  }
  return `${v6
    .slice(0, 3)
    .map((g) => g.toString(16))
    .join(':')}::`
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

/**
 * The event as it may be stored under `policy`: `context.ip` anonymised (or hashed when `ip` is a
 * hash field), hash fields replaced in `traits`, `context.traits` and `properties`. Returns the
 * same object when nothing changes; never mutates its input (batch events share envelopes).
 */
export function protectEvent(event: KindredEvent, policy: PiiPolicy | undefined): KindredEvent {
  if (!policy) return event
  let out: KindredEvent | undefined
  let context = event.context
  const ip = context.ip
  if (typeof ip === 'string') {
    let next: string | undefined = ip
    if (policy.hashFields.has('ip')) next = hashValue(ip, policy.salt, 'ip')
    else if (policy.anonymizeIp) next = anonymizeIp(ip)
    if (next !== ip) {
      context = { ...context }
      if (next === undefined) delete context.ip
      else context.ip = next
    }
  }
  if (policy.hashFields.size > 0) {
    const traits = hashObject(event.traits, policy)
    const properties = hashObject(event.properties, policy)
    const contextTraits = hashObject(asRecord(context.traits), policy)
    if (contextTraits) context = { ...context, traits: contextTraits }
    if (traits || properties) {
      out = { ...event }
      if (traits) out.traits = traits
      if (properties) out.properties = properties
    }
  }
  if (context !== event.context) {
    out ??= { ...event }
    out.context = context
  }
  return out ?? event
}
