/**
 * Linkage records from profile traits: one record per live profile, one column per compared
 * field (`MATCH_FIELDS`), read through the workspace's trait mapping. Pure.
 */
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
