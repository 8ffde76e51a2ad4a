/**
 * What another capability may ask of the identity graph without writing to it: which of some
 * identifiers already belong to a live profile, and which source the surviving value of each of
 * a profile's traits came from. Syncs use them: an update-only model never creates a person, and
 * a mirror deletion clears only the traits whose survivor is still the model's own.
 * @module
 */
import type { Queryable } from '../../platform/store/db.js'

export interface IdentifierRef {
  type: string
  value: string
}

/** The live profile of each identifier that has one, keyed by `type\0value`. */
export async function profilesOfIdentifiers(
  q: Queryable,
  workspaceId: string,
  identifiers: readonly IdentifierRef[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (identifiers.length === 0) return out
  const r = await q.query<{ type: string; value: string; profile_id: string }>(
    `SELECT i.type, i.value, coalesce(p.merged_into, i.profile_id) AS profile_id
     FROM identities i
     JOIN jsonb_to_recordset($2::jsonb) AS x(type text, value text)
       ON x.type = i.type AND x.value = i.value
     LEFT JOIN profiles p ON p.workspace_id = i.workspace_id AND p.id = i.profile_id
     WHERE i.workspace_id = $1`,
    [workspaceId, JSON.stringify(identifiers)],
  )
  for (const row of r.rows) out.set(`${row.type}\0${row.value}`, row.profile_id)
  return out
}

/** trait → source id of its surviving value, for one profile (empty when there is none). */
export async function traitSurvivorSources(
  q: Queryable,
  workspaceId: string,
  profileId: string,
): Promise<Map<string, string>> {
  const r = await q.query<{
    golden: { traits?: Record<string, { provenance?: { sourceId?: string } }> }
  }>(`SELECT golden FROM profiles WHERE workspace_id = $1 AND id = $2`, [workspaceId, profileId])
  const out = new Map<string, string>()
  const traits = r.rows[0]?.golden?.traits ?? {}
  for (const [name, t] of Object.entries(traits)) {
    const source = t.provenance?.sourceId
    if (typeof source === 'string') out.set(name, source)
  }
  return out
}
