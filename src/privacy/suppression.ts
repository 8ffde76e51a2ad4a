/**
 * @module privacy/suppression
 * Suppressed identifiers are kept as `sha256(type + ':' + normalised value)`, so the suppression
 * list holds no personal data and ingest can check an event by hashing what it carries.
 * Pure: callers normalise identifiers first (src/identity normalisers, exactly as ingest does).
 */
import { createHash } from 'node:crypto'

export interface HashableIdentifier {
  type: string
  value: string
}

/** The stored form of a suppressed identifier (hex sha256 of `type:value`). */
export function identifierHash(identifier: HashableIdentifier): string {
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

/** Suppressions of one workspace, by hash (value: the suppression ids that hold it). */
export type SuppressionIndex = ReadonlyMap<string, readonly string[]>

/**
 * Which events to drop: an event is suppressed when any identifier it carries is in the index.
 * `identifiersOf` returns the normalised identifiers of event `i`. Returns the dropped indexes
 * and, per suppression id, how many events it dropped (counted per suppression in the store).
 */
export function matchSuppressed(
  count: number,
  identifiersOf: (i: number) => HashableIdentifier[],
  index: SuppressionIndex,
): { dropped: Set<number>; bySuppression: Map<string, number> } {
  const dropped = new Set<number>()
  const bySuppression = new Map<string, number>()
  if (index.size === 0) return { dropped, bySuppression }
  for (let i = 0; i < count; i++) {
    const hits = new Set<string>()
    for (const id of identifiersOf(i)) {
      for (const s of index.get(identifierHash(id)) ?? []) hits.add(s)
    }
    if (hits.size === 0) continue
    dropped.add(i)
    for (const s of hits) bySuppression.set(s, (bySuppression.get(s) ?? 0) + 1)
  }
  return { dropped, bySuppression }
}
