/**
 * @module destinations/shared/hashing
 * Normalisation and SHA-256 hashing of identifiers for ad platforms (Google Customer Match,
 * Meta Custom Audiences), which match on hashes of normalised email and phone.
 */
import { createHash } from 'node:crypto'
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js'

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

export function md5Hex(value: string): string {
  return createHash('md5').update(value, 'utf8').digest('hex')
}

/** Trim and lower-case; undefined unless it looks like an address. */
export function normaliseEmail(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined
  const e = raw.trim().toLowerCase()
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) ? e : undefined
}

/**
 * Google's rule on top of the basic one: for gmail.com and googlemail.com, dots in the local
 * part are removed (Google treats them as insignificant).
 */
export function normaliseEmailForGoogle(raw: unknown): string | undefined {
  const e = normaliseEmail(raw)
  if (!e) return undefined
  const [local, domain] = e.split('@') as [string, string]
  if (domain === 'gmail.com' || domain === 'googlemail.com') {
    return `${local.replace(/\./g, '')}@${domain}`
  }
  return e
}

/** E.164 (`+14155550100`), using `defaultCountry` for national numbers; undefined if invalid. */
export function normalisePhoneE164(raw: unknown, defaultCountry?: string): string | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined
  const s = String(raw).trim()
  if (s === '') return undefined
  const parsed = parsePhoneNumberFromString(s, (defaultCountry ?? undefined) as CountryCode)
  if (!parsed || !parsed.isValid()) return undefined
  return parsed.number
}
