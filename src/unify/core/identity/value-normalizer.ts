/**
 * @module identity/value-normalizer
 * Applies the normalisation rules (normalization-rules.ts): the one place that decides how a text
 * is trimmed, composed and cased, how a phone becomes E.164 and with which country, and how a date
 * becomes ISO 8601. Identifiers (identifiers.ts) and golden-record traits (the processor) both call
 * it, so a CRM's `"\tTara.Muller@X.example "` is the same email in the identity graph and in the
 * profile's traits, and `" GOLD"` the same tier a segment compares with.
 */
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js'
import type { CountryCode } from 'libphonenumber-js'
import type {
  CompiledNormalization,
  DateOrder,
  TextRule,
  TraitRule,
} from './normalization-rules.js'

/** Trim, Unicode form, case; in that order after the form, which can turn a character into a space. */
export function normalizeText(text: string, rule: TextRule): string {
  let value = text
  if (rule.unicode !== 'none') value = value.normalize(rule.unicode === 'nfc' ? 'NFC' : 'NFKC')
  if (rule.trim) value = value.trim()
  if (rule.case === 'lower') value = value.toLowerCase()
  else if (rule.case === 'upper') value = value.toUpperCase()
  return value
}

/** An ISO 3166 alpha-2 code libphonenumber knows, whatever its case and whitespace. */
export function countryCode(raw: unknown): CountryCode | undefined {
  if (typeof raw !== 'string') return undefined
  const code = raw.trim().toUpperCase()
  return code.length === 2 && isSupportedCountry(code) ? code : undefined
}

/** E.164 of a phone in international form, or in national form read in `country`. */
export function phoneToE164(text: string, country: string | undefined): string | undefined {
  if (text.length > 64) return undefined
  const parsed = parsePhoneNumberFromString(text, countryCode(country))
  return parsed?.isValid() ? parsed.number : undefined
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

/** Reads `a.b` as a key first, then as a path into objects (like identity's trait identifiers). */
export function readTraitPath(record: Record<string, unknown> | undefined, path: string): unknown {
  if (!record) return undefined
  if (Object.hasOwn(record, path)) return record[path]
  let current: unknown = record
  for (const part of path.split('.')) {
    const object = asRecord(current)
    if (!object || !Object.hasOwn(object, part)) return undefined
    current = object[part]
  }
  return current
}

/** The first valid country among the rules' country traits of these trait bags, in order. */
export function countryFromTraits(
  bags: ReadonlyArray<Record<string, unknown> | undefined>,
  compiled: CompiledNormalization,
): CountryCode | undefined {
  for (const path of compiled.countryTraits) {
    for (const bag of bags) {
      const code = countryCode(readTraitPath(bag, path))
      if (code) return code
    }
  }
  return undefined
}

function isoDay(year: number, month: number, day: number): string | undefined {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31) return undefined
  // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  // A day that does not exist (02-30) rolls over into the next month: not this date.
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    return undefined
  }
  const pad = (n: number, width: number) => String(n).padStart(width, '0')
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`
}

const YMD = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$/
const NUMERIC_DAY_FIRST_OR_MONTH_FIRST = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i

/**
 * ISO 8601: a calendar day stays a day (`YYYY-MM-DD`), a date-time becomes UTC
 * (`toISOString()`), and epoch numbers (seconds below 1e11, else milliseconds) date-times.
 * Day-first or month-first numeric dates need the rule's `dateOrder`: `03/04/1990` is ambiguous.
 * A date-time without a zone is read as UTC, never in the machine's zone.
 */
export function dateToIso(value: unknown, order: DateOrder): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined
    const ms = Math.abs(value) < 1e11 ? value * 1000 : value
    const d = new Date(ms)
    return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
  }
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  let m = YMD.exec(text)
  if (m) return isoDay(Number(m[1]), Number(m[2]), Number(m[3]))
  m = NUMERIC_DAY_FIRST_OR_MONTH_FIRST.exec(text)
  if (m) {
    if (order === 'ymd') return undefined
    const [a, b, year] = [Number(m[1]), Number(m[2]), Number(m[3])]
    return order === 'dmy' ? isoDay(year, b, a) : isoDay(year, a, b)
  }
  m = DATE_TIME.exec(text)
  if (m && isoDay(Number(m[1]), Number(m[2]), Number(m[3])) !== undefined) {
    const zone =
      m[8] === undefined ? 'Z' : m[8].toUpperCase().replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')
    const withZone = `${text.slice(0, text.length - (m[8]?.length ?? 0)).replace(' ', 'T')}${zone}`
    const ms = Date.parse(withZone)
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
  }
  return undefined
}

/** What a rule needs from around the value: the phone's country, already resolved. */
export interface ValueContext {
  country?: string | undefined
}

function normalizeString(text: string, rule: TraitRule, context: ValueContext): unknown {
  const canonical = normalizeText(text, rule)
  switch (rule.kind) {
    case 'text':
    case 'email':
      return canonical
    case 'phone':
      // A value that is no phone stays as written (trimmed): a trait is never lost.
      return phoneToE164(canonical, context.country) ?? canonical
    case 'date':
      return dateToIso(canonical, rule.dateOrder ?? 'ymd') ?? canonical
    case 'country':
      // Codes (DE, deu) upper-cased; a country written out is left as written.
      return /^[a-z]{2,3}$/i.test(canonical) ? canonical.toUpperCase() : canonical
  }
}

/** Depth beyond which a value is kept as it is (the ingest limits bound it far below this). */
const MAX_DEPTH = 32

/**
 * One trait value under its rule: every string in it (nested in objects and arrays too) is
 * normalised; numbers are read as dates by `date` rules and as phones by `phone` rules; other
 * values are kept. Objects are rebuilt with own properties only (`Object.fromEntries`), so a key
 * named `__proto__` stays data.
 */
export function normalizeValue(
  value: unknown,
  rule: TraitRule,
  context: ValueContext = {},
  depth = 0,
): unknown {
  if (typeof value === 'string') return normalizeString(value, rule, context)
  if (typeof value === 'number') {
    if (rule.kind === 'date') return dateToIso(value, rule.dateOrder ?? 'ymd') ?? value
    if (rule.kind === 'phone' && Number.isSafeInteger(value)) {
      return phoneToE164(String(value), context.country) ?? value
    }
    return value
  }
  if (depth >= MAX_DEPTH || typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map((v) => normalizeValue(v, rule, context, depth + 1))
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, normalizeValue(v, rule, context, depth + 1)]),
  )
}

export interface TraitNormalizationHints {
  /** The profile's country (its golden-record value of a country trait), when the event has none. */
  profileCountry?: string | undefined
}

/** The country a phone in these traits is read in: the traits' own, the profile's, the workspace's. */
export function phoneCountryFor(
  bags: ReadonlyArray<Record<string, unknown> | undefined>,
  compiled: CompiledNormalization,
  hints: TraitNormalizationHints = {},
): CountryCode | undefined {
  return (
    countryFromTraits(bags, compiled) ??
    (compiled.profileCountry ? countryCode(hints.profileCountry) : undefined) ??
    countryCode(compiled.defaultRegion)
  )
}

/**
 * A trait bag as the golden record should see it: each top-level key under its rule (or the
 * workspace text rule), phones read in the country of `phoneCountryFor`. Returns a new object.
 */
export function normalizeTraits(
  traits: Record<string, unknown>,
  compiled: CompiledNormalization,
  hints: TraitNormalizationHints = {},
): Record<string, unknown> {
  let country: string | undefined
  let countryResolved = false
  const entries = Object.entries(traits).map(([key, value]): [string, unknown] => {
    const rule = compiled.trait(key)
    if (rule.kind === 'phone' && !countryResolved) {
      country = phoneCountryFor([traits], compiled, hints)
      countryResolved = true
    }
    return [key, normalizeValue(value, rule, rule.kind === 'phone' ? { country } : {})]
  })
  return Object.fromEntries(entries)
}
