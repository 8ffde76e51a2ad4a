/**
 * Linkage records from profile traits: one record per live profile, one column per compared
 * field (`MATCH_FIELDS`), read through the workspace's trait mapping; and a run's scored pairs
 * back in profile terms. Pure.
 */
import {
  explainPair,
  type FieldContribution,
  type LinkageRun,
  type PairExplanation,
} from './identity/linkage/index.js'
import type { IdentifierConflict, ScoredPair } from './identity/index.js'

/** The compared fields, named so the linkage engine detects their kind from the name. */
export const MATCH_FIELDS = [
  'given_name',
  'surname',
  'full_name',
  'street_number',
  'address',
  'city',
  'postcode',
  'state',
  'date_of_birth',
  'email',
  'phone',
] as const
export type MatchField = (typeof MATCH_FIELDS)[number]

export const PROFILE_ID_COLUMN = 'profile_id'

function at(traits: unknown, path: string): unknown {
  let v: unknown = traits
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
    v = (v as Record<string, unknown>)[key]
  }
  return v
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v.trim() === '' ? null : v.trim().slice(0, 200)
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return null
}

/** The record of one profile, or null when it holds fewer than `minFields` compared fields. */
export function profileRecord(
  profileId: string,
  traits: unknown,
  mapping: Readonly<Record<MatchField, readonly string[]>>,
  minFields: number,
): Record<string, string> | null {
  const record: Record<string, string> = { [PROFILE_ID_COLUMN]: profileId }
  let n = 0
  for (const field of MATCH_FIELDS) {
    let value: string | null = null
    for (const path of mapping[field]) {
      value = text(at(traits, path))
      if (value !== null) break
    }
    // A full name only when the parts are missing: the parts compare better (swaps, typos).
    if (field === 'full_name' && (record.given_name || record.surname)) value = null
    record[field] = value ?? ''
    if (value !== null) n++
  }
  return n >= minFields ? record : null
}

/** The columns that hold a value in at least one record (an all-empty field only adds noise). */
export function usedColumns(records: readonly Record<string, string>[]): string[] {
  const used = new Set<string>()
  for (const r of records) for (const f of MATCH_FIELDS) if (r[f]) used.add(f)
  return [PROFILE_ID_COLUMN, ...MATCH_FIELDS.filter((f) => used.has(f))]
}

/**
 * The records ordered by their field values (ties, i.e. identical records, by profile id). The
 * model's random-pair sample and EM follow record order, and profile ids hash random source ids:
 * in id order the same people would score differently in every workspace.
 */
export function inContentOrder(
  records: readonly Record<string, string>[],
): Record<string, string>[] {
  const keyed = records.map((r) => ({
    key: JSON.stringify(
      Object.keys(r)
        .filter((k) => k !== PROFILE_ID_COLUMN)
        .sort()
        .map((k) => [k, r[k]]),
    ),
    id: r[PROFILE_ID_COLUMN] ?? '',
    r,
  }))
  keyed.sort((a, b) =>
    a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  )
  return keyed.map((k) => k.r)
}

/** What is stored per pair and per probabilistic merge: why the model thinks they match. */
export interface MatchExplanation {
  probability: number
  /** Match weight in bits (log2 odds), prior included. */
  weight: number
  prior: number
  fields: Array<{
    field: string
    level: string
    left: string | null
    right: string | null
    weight: number
    tfAdjustment: number
  }>
  /** Identifiers the two sides hold different values of (evidence against), when any. */
  differentIdentifiers?: IdentifierConflict[]
}

/**
 * Evidence against on one pair's comparison: first names (a given-name or full-name field)
 * that agree neither exactly nor within a typo (the first fuzzy level), while nothing of the
 * person agrees either (no email, no date of birth). What such a pair shares is a phone, an
 * address, a surname: what the members of a household share ("emily" / "amelia" sound alike
 * and are two people). Null when the names agree, one is missing, or an email or a birth date
 * agrees (a renamed or typo-ridden record of one person, as FEBRL has many).
 */
export function namesAgainst(
  run: LinkageRun,
  explanation: PairExplanation,
): NonNullable<ScoredPair['against']> | null {
  let different: FieldContribution | null = null
  for (const [q, field] of run.fields.entries()) {
    const c = explanation.fields[q]
    if (!c || c.levelIndex === 0) continue
    if ((field.kind === 'email' || field.kind === 'dateOfBirth') && c.levelIndex === 1) return null
    if (field.kind !== 'givenName' && field.kind !== 'fullName') continue
    // Level 1 is exact, level 2 the closest fuzzy one (a typo); further down, sounding alike
    // ("emily" / "amelia") or a loose similarity ("olivia" / "oliver") is another person.
    if (c.levelIndex > 2) different ??= c
  }
  if (different === null) return null
  return {
    code: 'different_names',
    reason: `first names differ (${different.left} ≠ ${different.right}) and neither an email nor a date of birth agrees: two people sharing a phone or an address (a household?) unless a reviewer accepts the pair`,
  }
}

/**
 * The pairs of a linkage run at or above `minProbability`, as the match planner takes them:
 * profile ids ordered (`a < b`), the explanation's sides swapped to follow, and the evidence
 * against a pair's own comparison holds (`namesAgainst`).
 */
export function scoredPairs(
  run: LinkageRun,
  records: readonly Record<string, string>[],
  minProbability: number,
): ScoredPair<MatchExplanation>[] {
  const out: ScoredPair<MatchExplanation>[] = []
  for (let k = 0; k < run.pairs.count; k++) {
    if (run.probabilities[k]! < minProbability) continue
    const x = records[run.pairs.left[k]!]![PROFILE_ID_COLUMN]!
    const y = records[run.pairs.right[k]!]![PROFILE_ID_COLUMN]!
    const e = explainPair(run, k)
    const swap = x > y
    const against = namesAgainst(run, e)
    out.push({
      ...(against ? { against } : {}),
      a: swap ? y : x,
      b: swap ? x : y,
      probability: e.probability,
      explanation: {
        probability: e.probability,
        weight: e.weight,
        prior: e.prior,
        fields: e.fields.map((f) => ({
          field: f.field,
          level: f.level,
          left: swap ? f.right : f.left,
          right: swap ? f.left : f.right,
          weight: f.weight,
          tfAdjustment: f.tfAdjustment,
        })),
      },
    })
  }
  return out
}
