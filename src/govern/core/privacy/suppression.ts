/**
 * @module privacy/suppression
 * Suppressed identifiers are kept as a keyed hash, `HMAC-SHA256(k, type + ':' + normalised value)`,
 * so the suppression list holds no personal data and ingest can check an event by hashing what it
 * carries. The key `k` is derived from the instance secret (KINDRED_SECRET_KEY or the data dir's
 * key) with HKDF, so someone who can read the database but not the secret cannot test candidate
 * e-mails or phone numbers against the list (a plain hash of a phone number falls to a dictionary
 * in minutes). Rows written before the key existed are plain `sha256(type:value)` (scheme
 * `sha256`): they still match, and are rewritten under the key whenever the identifier is
 * suppressed again (ADR 0007).
 *
 * Pure: the caller passes the key in, and normalises identifiers first (src/unify/core/identity normalisers,
 * exactly as ingest does).
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto'

export interface HashableIdentifier {
  type: string
  value: string
}

/** How a stored identifier hash was computed. */
export const hashSchemes = ['sha256', 'hmac-sha256'] as const
export type HashScheme = (typeof hashSchemes)[number]

/** The key of the `hmac-sha256` scheme and its public fingerprint. */
export interface SuppressionKey {
  readonly key: Uint8Array
  /**
   * Stored with every keyed hash: a node whose key differs (a multi-node deployment without one
   * shared KINDRED_SECRET_KEY) sees rows it cannot check and refuses to guess (ADR 0007).
   */
  readonly id: string
}

/** HKDF `info`: one subkey per purpose, so the secret-encryption key is never used as-is here. */
const SUPPRESSION_KEY_INFO = 'kindred/privacy/suppression-hash/v1'
const KEY_ID_LABEL = 'kindred/privacy/suppression-key-id'

/** Hex HMAC-SHA256 of a UTF-8 message (the primitive of the keyed scheme). */
export function hmacSha256Hex(key: Uint8Array, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest('hex')
}

/**
 * The suppression key of an instance: HKDF-SHA256 (RFC 5869) of the 32-byte instance secret, no
 * salt (the secret is already uniformly random), `info` naming this use. Changing the label or
 * the derivation would orphan every stored hash: the unit test pins a known answer.
 */
export function deriveSuppressionKey(instanceSecret: Uint8Array): SuppressionKey {
  if (instanceSecret.length < 32) throw new Error('the instance secret must be at least 32 bytes')
  const key = new Uint8Array(
    hkdfSync('sha256', instanceSecret, new Uint8Array(0), SUPPRESSION_KEY_INFO, 32),
  )
  return { key, id: hmacSha256Hex(key, KEY_ID_LABEL).slice(0, 16) }
}

/** The stored form of a suppressed identifier: hex HMAC-SHA256 of `type:value` under the key. */
export function identifierHash(identifier: HashableIdentifier, key: SuppressionKey): string {
  return hmacSha256Hex(key.key, `${identifier.type}:${identifier.value}`)
}

/** The form rows written before the keyed scheme hold (hex sha256 of `type:value`). Read only. */
export function legacyIdentifierHash(identifier: HashableIdentifier): string {
  return createHash('sha256').update(`${identifier.type}:${identifier.value}`, 'utf8').digest('hex')
}

/**
 * A form people can recognise without it being the identifier: the first character, then `***`,
 * and for emails the domain (`a***@example.com`; a one-letter local part is hidden whole). Other
 * values of 3 characters or fewer become `***`.
 */
export function maskIdentifier(identifier: HashableIdentifier): string {
  const v = identifier.value
  const at = identifier.type === 'email' ? v.lastIndexOf('@') : -1
  if (at > 0) return `${at > 1 ? v.slice(0, 1) : ''}***${v.slice(at)}`
  return v.length <= 3 ? '***' : `${v.slice(0, 1)}***`
}

/** Suppressions of one workspace under one scheme, by hash (value: the suppression ids). */
export type SuppressionIndex = ReadonlyMap<string, readonly string[]>

/** One scheme's index and how to hash an identifier for it. */
export interface SuppressionLookup {
  hash(identifier: HashableIdentifier): string
  index: SuppressionIndex
}

/**
 * The lookups of a workspace: the keyed index always, the legacy one only while the workspace
 * still has legacy rows (so a workspace without them pays one HMAC per identifier, not two).
 */
export function suppressionLookups(
  key: SuppressionKey,
  keyed: SuppressionIndex,
  legacy: SuppressionIndex,
): SuppressionLookup[] {
  const out: SuppressionLookup[] = []
  if (keyed.size > 0) out.push({ hash: (i) => identifierHash(i, key), index: keyed })
  if (legacy.size > 0) out.push({ hash: legacyIdentifierHash, index: legacy })
  return out
}

/**
 * Which events to drop: an event is suppressed when any identifier it carries is in any of the
 * lookups. `identifiersOf` returns the normalised identifiers of event `i`. Returns the dropped
 * indexes and, per suppression id, how many events it dropped (counted per suppression in the
 * store).
 */
export function matchSuppressed(
  count: number,
  identifiersOf: (i: number) => HashableIdentifier[],
  lookups: readonly SuppressionLookup[],
): { dropped: Set<number>; bySuppression: Map<string, number> } {
  const dropped = new Set<number>()
  const bySuppression = new Map<string, number>()
  const active = lookups.filter((l) => l.index.size > 0)
  if (active.length === 0) return { dropped, bySuppression }
  for (let i = 0; i < count; i++) {
    const hits = new Set<string>()
    for (const id of identifiersOf(i)) {
      for (const l of active) for (const s of l.index.get(l.hash(id)) ?? []) hits.add(s)
    }
    if (hits.size === 0) continue
    dropped.add(i)
    for (const s of hits) bySuppression.set(s, (bySuppression.get(s) ?? 0) + 1)
  }
  return { dropped, bySuppression }
}
