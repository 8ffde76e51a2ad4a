/**
 * @module identity/identifiers
 * Extracts identifiers from a Segment-spec event and normalises them per type, so that the same
 * person written two ways ("  Ann@X.com", "ann@x.com") is one identifier, and junk values
 * ("anonymous", "null", "0") never identify anyone.
 */
import type { CompiledIdentityRules, IdentityRules } from './rules.js'
import { compileIdentityRules, identifierTypeSchema } from './rules.js'
import {
  countryFromTraits,
  normalizeText,
  phoneCountryFor,
  phoneToE164,
  readTraitPath,
  type TraitNormalizationHints,
} from './value-normalizer.js'

/** One identifier as stored in the identities table: a type and a normalised value. */
export interface Identifier {
  type: string
  value: string
}

export type RejectionReason = 'blocked' | 'invalid' | 'too_long' | 'invalid_type'

export interface RejectedIdentifier {
  type: string
  /** The raw value as received, stringified and truncated to 100 chars for reporting. */
  raw: string
  reason: RejectionReason
  /** Where in the event it was found, e.g. `context.traits.email`. */
  field: string
}

export interface ExtractedIdentifiers {
  /** Normalised, de-duplicated, in extraction order. */
  identifiers: Identifier[]
  /** For `alias` events: the normalised `previousId` (matched as `user_id` or `anonymous_id`). */
  previousId?: string
  rejected: RejectedIdentifier[]
  /**
   * A phone is written in national format, the event names no country of its own and none was
   * hinted: the profile's country comes before the workspace region (the processor looks it up
   * and extracts again), whether or not the region read the number.
   */
  phoneNeedsCountry?: true
}

/** What identity may know from around the event: the phone country the profile holds. */
export type IdentifierHints = TraitNormalizationHints

/** The fields of a Segment-spec event that identity reads (structural, so any event type fits). */
export interface IdentitySourceEvent {
  type?: string
  userId?: unknown
  anonymousId?: unknown
  previousId?: unknown
  traits?: unknown
  context?: unknown
}

export type NormalizeResult =
  { ok: true; identifier: Identifier } | { ok: false; reason: RejectionReason }

/** `type:value`; unambiguous because types never contain `:`. */
export function identifierKey(identifier: Identifier): string {
  return `${identifier.type}:${identifier.value}`
}

export function parseIdentifierKey(key: string): Identifier {
  const colon = key.indexOf(':')
  return { type: key.slice(0, colon), value: key.slice(colon + 1) }
}

const EMAIL_SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u
// C0 controls and DEL: never part of a real identifier, and Postgres text rejects NUL.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/u

function rawString(raw: unknown): string | undefined {
  if (typeof raw === 'string') return raw
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw)
  if (typeof raw === 'bigint') return String(raw)
  return undefined
}

/**
 * Normalises one raw value for a type: the type's text rule first (`rules.normalization`: emails
 * trimmed, NFKC, lower-cased by default; other types trimmed), then the type's own check: emails'
 * shape, phones to E.164 (national formats read in `country`, else the rules' default region).
 * Blocked values (checked on the raw and the normalised form) and over-long values are rejected.
 *
 * @example normalizeIdentifier('email', ' Ann@Example.COM ', rules) // { ok: true, identifier: { type: 'email', value: 'ann@example.com' } }
 */
export function normalizeIdentifier(
  type: string,
  raw: unknown,
  rules: IdentityRules | CompiledIdentityRules,
  country?: string,
): NormalizeResult {
  const compiled = 'rank' in rules ? rules : compileIdentityRules(rules)
  const text = rawString(raw)
  if (text === undefined) {
    // Objects and arrays often arrive as "[object Object]" from careless SDK code: same verdict.
    return { ok: false, reason: raw === null || raw === undefined ? 'blocked' : 'invalid' }
  }
  if (compiled.isBlocked(text)) return { ok: false, reason: 'blocked' }
  const canonical = normalizeText(text, compiled.normalization.identifier(type))
  if (CONTROL_CHARS.test(canonical)) return { ok: false, reason: 'invalid' }
  let value: string
  if (type === 'email') {
    value = canonical
    if (value.length > 254) return { ok: false, reason: 'too_long' }
    if (!EMAIL_SHAPE.test(value)) return { ok: false, reason: 'invalid' }
  } else if (type === 'phone') {
    if (canonical.length > 64) return { ok: false, reason: 'too_long' }
    const e164 = phoneToE164(canonical, country ?? compiled.phoneDefaultRegion)
    if (e164 === undefined) return { ok: false, reason: 'invalid' }
    value = e164
  } else {
    value = canonical
  }
  if (value.length > compiled.rules.maxIdentifierLength) return { ok: false, reason: 'too_long' }
  if (value !== text && compiled.isBlocked(value)) return { ok: false, reason: 'blocked' }
  return { ok: true, identifier: { type, value } }
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

/** Lower-cases an externalIds type and maps other characters to `_` (`GA Client ID` → `ga_client_id`). */
export function normalizeIdentifierType(type: string): string | undefined {
  const folded = type
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
  return identifierTypeSchema.safeParse(folded).success ? folded : undefined
}

/**
 * Reads every identifier an event carries:
 * - `userId` → `user_id`, `anonymousId` → `anonymous_id`, `context.device.id` → `device_id`;
 * - `email` / `phone` (and the rules' trait identifiers) from identify `traits` and from
 *   `context.traits` on any event (group `traits` describe the group, not the person: skipped);
 * - `context.externalIds` `[{ id, type, collection?, encoding? }]` → the (normalised) type; entries
 *   whose `collection` is not `users` are skipped, hashed encodings become `<type>_<encoding>`;
 * - `alias`: only `userId` and `previousId` (an explicit link; other ids in it are not used).
 *
 * Phones in national format are read in the event's own country (`normalization.phoneCountry`
 * traits, identify `traits` before `context.traits`: a CRM row's country column), else in
 * `hints.profileCountry`, else in the rules' default region.
 */
export function extractIdentifiers(
  event: IdentitySourceEvent,
  rules: IdentityRules | CompiledIdentityRules,
  hints: IdentifierHints = {},
): ExtractedIdentifiers {
  const compiled = 'rank' in rules ? rules : compileIdentityRules(rules)
  const identifiers: Identifier[] = []
  const seen = new Set<string>()
  const rejected: RejectedIdentifier[] = []
  let phoneNeedsCountry = false

  const context = asRecord(event.context)
  const identifyTraits = event.type === 'identify' ? asRecord(event.traits) : undefined
  const contextTraits = asRecord(context?.traits)
  let phoneCountry: { code: string | undefined; own: boolean } | undefined
  const countryForPhone = () => {
    if (!phoneCountry) {
      const own = countryFromTraits([identifyTraits, contextTraits], compiled.normalization)
      phoneCountry = own
        ? { code: own, own: true }
        : { code: phoneCountryFor([], compiled.normalization, hints), own: false }
    }
    return phoneCountry
  }

  const take = (type: string, raw: unknown, field: string): Identifier | undefined => {
    if (raw === undefined) return undefined
    const country = type === 'phone' ? countryForPhone() : undefined
    const result = normalizeIdentifier(type, raw, compiled, country?.code)
    if (country && !country.own && isNationalFormat(raw)) {
      if (compiled.normalization.profileCountry && hints.profileCountry === undefined) {
        phoneNeedsCountry = true
      }
    }
    if (!result.ok) {
      rejected.push({ type, raw: describeRaw(raw), reason: result.reason, field })
      return undefined
    }
    return result.identifier
  }
  const add = (type: string, raw: unknown, field: string): void => {
    const identifier = take(type, raw, field)
    if (!identifier) return
    const key = identifierKey(identifier)
    if (seen.has(key)) return
    seen.add(key)
    identifiers.push(identifier)
  }

  const done = (result: ExtractedIdentifiers): ExtractedIdentifiers =>
    phoneNeedsCountry ? { ...result, phoneNeedsCountry: true } : result
  add('user_id', event.userId, 'userId')

  if (event.type === 'alias') {
    const previous = take('anonymous_id', event.previousId, 'previousId')
    const result: ExtractedIdentifiers = { identifiers, rejected }
    const userId = identifiers[0]?.value
    if (previous && previous.value !== userId) result.previousId = previous.value
    return done(result)
  }

  add('anonymous_id', event.anonymousId, 'anonymousId')
  const traitSources: Array<[string, Record<string, unknown> | undefined]> = []
  if (event.type === 'identify') traitSources.push(['traits', identifyTraits])
  traitSources.push(['context.traits', contextTraits])
  for (const [prefix, traits] of traitSources) {
    if (!traits) continue
    add('email', traits.email, `${prefix}.email`)
    add('phone', traits.phone, `${prefix}.phone`)
    for (const { trait, type } of compiled.rules.traitIdentifiers) {
      add(type, readTraitPath(traits, trait), `${prefix}.${trait}`)
    }
  }
  add('device_id', asRecord(context?.device)?.id, 'context.device.id')

  const externalIds = context?.externalIds
  if (Array.isArray(externalIds)) {
    externalIds.forEach((entry: unknown, index) => {
      const external = asRecord(entry)
      if (!external) return
      const field = `context.externalIds[${index}]`
      const collection = external.collection
      if (typeof collection === 'string' && collection.trim().toLowerCase() !== 'users') return
      const rawType = typeof external.type === 'string' ? external.type : ''
      let type = normalizeIdentifierType(rawType)
      const encoding =
        typeof external.encoding === 'string' ? normalizeIdentifierType(external.encoding) : 'none'
      if (type && encoding && encoding !== 'none')
        type = normalizeIdentifierType(`${type}_${encoding}`)
      if (!type) {
        rejected.push({
          type: rawType,
          raw: describeRaw(external.id),
          reason: 'invalid_type',
          field,
        })
        return
      }
      add(type, external.id, field)
    })
  }
  return done({ identifiers, rejected })
}

/** Written without a country code (`+49…`, `0049…`): its country decides what it means. */
function isNationalFormat(raw: unknown): boolean {
  const text = typeof raw === 'string' ? raw.normalize('NFKC').trim() : String(raw)
  return !text.startsWith('+') && !text.startsWith('00')
}

function describeRaw(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : raw === undefined ? 'undefined' : JSON.stringify(raw)
  return (text ?? String(raw)).slice(0, 100)
}
