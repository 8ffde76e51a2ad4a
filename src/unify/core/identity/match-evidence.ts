/**
 * @module identity/match-evidence
 * Evidence against a probabilistic match: two profiles that hold different values of an
 * identifier a person has one of (a user id, an email, a phone, a unique custom type the identity
 * rules declare) are two people unless a reviewer says otherwise. Look-alike names, addresses and
 * near-identical emails (`chloe.kowalski.crm39@` / `…crm148@`) are exactly what different
 * customers of one shop share, so no score may auto-merge such a pair: the match planner queues
 * it with the reason instead.
 *
 * Values come from the profile's identities and from its compared traits (an email the identity
 * stage refused, e.g. under a user id it could not join, still tells two people apart), in one
 * key form per type so that an identity and a trait of the same person compare equal.
 */
import type { Identifier } from './identifiers.js'
import type { IdentityRules } from './rules.js'
import { normalizeValue } from './linkage/fields.js'

/** Identifier values by type, in key form. */
export type ExclusiveValues = Readonly<Record<string, readonly string[]>>

/** A type on which two profiles (or groups of profiles) hold only different values. */
export interface IdentifierConflict {
  type: string
  a: readonly string[]
  b: readonly string[]
}

/** Always exclusive: what Kindred extracts itself and one person holds one of (or a few, never shared). */
const BUILTIN_EXCLUSIVE = ['user_id', 'email', 'phone'] as const

/**
 * The identifier types two different values of which tell people apart: user id, email, phone,
 * every custom type the rules read from traits, and every type the rules limit to one per
 * profile. Not anonymous or device ids: one person has many of those.
 */
export function exclusiveIdentifierTypes(
  rules: Pick<IdentityRules, 'limits' | 'traitIdentifiers'>,
): Set<string> {
  const types = new Set<string>(BUILTIN_EXCLUSIVE)
  for (const t of rules.traitIdentifiers) types.add(t.type)
  for (const [type, limit] of Object.entries(rules.limits)) if (limit === 1) types.add(type)
  return types
}

/** Compared trait columns that hold an exclusive identifier, and its type. */
const TRAIT_COLUMNS: ReadonlyArray<readonly [column: string, type: 'email' | 'phone']> = [
  ['email', 'email'],
  ['phone', 'phone'],
]

/**
 * The key two values of a type are compared by: emails lower-cased without whitespace, phones
 * by their last nine digits (as the linkage engine compares them, so `+44 7700 900123` and
 * `07700 900123` agree), other types trimmed. Null for a value that says nothing.
 */
export function exclusiveKey(type: string, value: string): string | null {
  if (type === 'email' || type === 'phone') return normalizeValue(type, value)
  const v = value.trim()
  return v === '' ? null : v
}

/**
 * A profile's exclusive values: its identities of the given types and its compared email and
 * phone traits (`record`, a linkage record of raw trait values; null when it has none).
 */
export function exclusiveValues(
  identifiers: readonly Identifier[],
  record: Readonly<Record<string, string>> | null,
  types: ReadonlySet<string>,
): ExclusiveValues {
  const out = new Map<string, Set<string>>()
  const add = (type: string, value: string) => {
    const key = exclusiveKey(type, value)
    if (key === null) return
    const set = out.get(type) ?? new Set<string>()
    set.add(key)
    out.set(type, set)
  }
  for (const i of identifiers) if (types.has(i.type)) add(i.type, i.value)
  if (record) {
    for (const [column, type] of TRAIT_COLUMNS) {
      const v = record[column]
      if (types.has(type) && v) add(type, v)
    }
  }
  return Object.fromEntries([...out].map(([t, s]) => [t, [...s].sort()]))
}

/**
 * Types on which `a` and `b` both hold values and share none. Sharing one value is agreement
 * (the identity stage would have joined them on it), whatever else either holds.
 */
export function identifierConflicts(a: ExclusiveValues, b: ExclusiveValues): IdentifierConflict[] {
  const out: IdentifierConflict[] = []
  for (const type of Object.keys(a).sort()) {
    const left = a[type] ?? []
    const right = b[type] ?? []
    if (left.length === 0 || right.length === 0) continue
    const set = new Set(right)
    if (left.some((v) => set.has(v))) continue
    out.push({ type, a: left, b: right })
  }
  return out
}

/** Types on which `a` and `b` share a value: identifier evidence for the pair. */
export function identifierAgreements(a: ExclusiveValues, b: ExclusiveValues): string[] {
  const out: string[] = []
  for (const type of Object.keys(a).sort()) {
    const set = new Set(b[type] ?? [])
    if ((a[type] ?? []).some((v) => set.has(v))) out.push(type)
  }
  return out
}

/**
 * Whether the identifiers alone tell `a` and `b` apart: they hold different values of at least
 * one type and share none of any. Two customers with a name, a city and a postcode in common
 * but each their own email and phone are two customers; such a pair is not worth a reviewer's
 * time, however high the model scores what they share.
 */
export function toldApart(a: ExclusiveValues, b: ExclusiveValues): boolean {
  return identifierConflicts(a, b).length > 0 && identifierAgreements(a, b).length === 0
}

/** The values of two groups together (what the merged profile would hold). */
export function unionValues(a: ExclusiveValues, b: ExclusiveValues): ExclusiveValues {
  const out: Record<string, string[]> = {}
  for (const type of new Set([...Object.keys(a), ...Object.keys(b)]))
    out[type] = [...new Set([...(a[type] ?? []), ...(b[type] ?? [])])].sort()
  return out
}

const shown = (values: readonly string[]) =>
  values.length <= 3
    ? values.join(', ')
    : `${values.slice(0, 3).join(', ')} and ${values.length - 3} more`

/** The reason a reviewer reads: which identifier differs, with the values. */
export function describeConflicts(conflicts: readonly IdentifierConflict[]): string {
  const what = conflicts.map((c) => `${c.type} ${shown(c.a)} ≠ ${shown(c.b)}`).join('; ')
  return `different identifiers (${what}): two people unless a reviewer accepts the pair`
}
