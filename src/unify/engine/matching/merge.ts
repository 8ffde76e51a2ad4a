/**
 * Applies probabilistic merges with the identity stage's machinery (applyPlan and the golden
 * record fold), so a probabilistic merge moves identities, events, computed trait values and
 * consents exactly like a merge by a shared identifier, and the existing split reverses it.
 *
 * Locking follows the identity stage: the identities of every involved profile first (in
 * (type, value) order), then the profiles (in id order), all FOR UPDATE. A processor batch that
 * touches one of these profiles locks an identifier of it first, so the two serialise in the
 * same order instead of interleaving or deadlocking. State is read again after the locks: a
 * group whose profiles were merged by a batch meanwhile, or that now breaks identity rules (or,
 * for a run's own merges, now holds two different identifiers a person has one of: an email the
 * processor attached since the run scored the pair), is skipped and reported, never half-applied.
 */
import {
  describeConflicts,
  exclusiveValues,
  identifierConflicts,
  unionValues,
  type ExclusiveValues,
  type IdentityPlan,
  type IdentityRules,
  type Identifier,
  type QueueReason,
} from '../../core/identity/index.js'
import type { SurvivorshipSettings } from '../../core/profiles/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import { applyPlan, updateGoldenRecords } from '../identity-stage.js'
import type { ProfileHooks } from '../../../platform/module-contract.js'

export interface MergeRequest {
  from: string
  into: string
  /** Stored in `profile_merges.details`: probability, weights per field, pair and run ids. */
  details: Record<string, unknown>
}

export interface MergeOutcome {
  merged: MergeRequest[]
  /** `code`: why, as the review queue files it; null when a profile of the pair is gone. */
  skipped: Array<{ request: MergeRequest; reason: string; code: QueueReason | null }>
}

/** Identifiers stored with a merge record, enough to split the profile back out. */
const MAX_RECORDED_IDENTIFIERS = 1000

export async function applyProbabilisticMerges(
  tx: Queryable,
  workspaceId: string,
  requests: readonly MergeRequest[],
  settings: {
    rules: IdentityRules
    survivorship: SurvivorshipSettings
    /**
     * Identifier types two different values of which refuse the merge (a run's own merges);
     * absent: not checked (a reviewer who accepts a pair has seen them).
     */
    exclusiveTypes?: ReadonlySet<string>
  },
  now: Date,
  hooks: readonly ProfileHooks[] = [],
): Promise<MergeOutcome> {
  const outcome: MergeOutcome = { merged: [], skipped: [] }
  if (requests.length === 0) return outcome
  const involved = [...new Set(requests.flatMap((r) => [r.from, r.into]))].sort()
  const idents = await tx.query<Identifier & { profile_id: string }>(
    `SELECT type, value, profile_id FROM identities WHERE workspace_id = $1 AND profile_id = ANY($2::text[])
     ORDER BY type, value FOR UPDATE`,
    [workspaceId, involved],
  )
  const profiles = await tx.query<{
    id: string
    created_at: Date | string
    merged_into: string | null
    merge_count: number
    identifier_counts: Record<string, number>
  }>(
    `SELECT id, created_at, merged_into, merge_count, identifier_counts FROM profiles
     WHERE workspace_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE`,
    [workspaceId, involved],
  )
  const byId = new Map(profiles.rows.map((p) => [p.id, p]))
  const identifiersOf = new Map<string, Identifier[]>()
  for (const i of idents.rows) {
    const l = identifiersOf.get(i.profile_id) ?? []
    l.push({ type: i.type, value: i.value })
    identifiersOf.set(i.profile_id, l)
  }
  const types = settings.exclusiveTypes
  const exclusiveOf = (id: string): ExclusiveValues =>
    types ? exclusiveValues(identifiersOf.get(id) ?? [], null, types) : {}
  // Survivor → its state as merges accumulate (several profiles may merge into one).
  const state = new Map<
    string,
    { counts: Record<string, number>; mergeCount: number; exclusive: ExclusiveValues }
  >()
  const taken = new Set<string>()
  const accepted: MergeRequest[] = []
  for (const r of requests) {
    const from = byId.get(r.from)
    const into = byId.get(r.into)
    const gone = [from, into].find((p) => p === undefined || p.merged_into !== null)
    if (!from || !into || gone !== undefined || taken.has(r.from)) {
      outcome.skipped.push({
        request: r,
        reason: 'a profile of the pair was merged meanwhile',
        code: null,
      })
      continue
    }
    const s = state.get(r.into) ?? {
      counts: { ...into.identifier_counts },
      mergeCount: into.merge_count,
      exclusive: exclusiveOf(r.into),
    }
    const reason = ruleConflict(s, from, settings.rules)
    if (reason !== null) {
      outcome.skipped.push({ request: r, reason, code: 'identity_rules' })
      continue
    }
    const fromExclusive = exclusiveOf(r.from)
    const different = identifierConflicts(s.exclusive, fromExclusive)
    if (different.length > 0) {
      outcome.skipped.push({
        request: r,
        reason: describeConflicts(different),
        code: 'different_identifiers',
      })
      continue
    }
    for (const [t, n] of Object.entries(from.identifier_counts))
      s.counts[t] = (s.counts[t] ?? 0) + n
    s.mergeCount += from.merge_count + 1
    s.exclusive = unionValues(s.exclusive, fromExclusive)
    state.set(r.into, s)
    taken.add(r.from)
    accepted.push(r)
  }
  if (accepted.length === 0) return outcome
  const at = now.getTime()
  const plan: IdentityPlan = {
    events: [],
    newProfiles: [],
    attachments: [],
    merges: [],
    redirects: accepted.map((r) => ({ from: r.from, into: r.into })),
    dropped: [],
    capsHit: [],
    profiles: [...state].map(([id, s]) => ({
      id,
      createdAt: new Date(byId.get(id)?.created_at ?? at).getTime(),
      mergeCount: s.mergeCount,
      identifierCount: Object.values(s.counts).reduce((a, b) => a + b, 0),
      counts: s.counts,
      isNew: false,
      mergedInto: null,
    })),
  }
  await applyPlan(tx, workspaceId, plan)
  await updateGoldenRecords(tx, workspaceId, [], plan, settings.survivorship)
  await tx.query(
    `UPDATE profiles p SET first_seen_at = LEAST(p.first_seen_at, f.first_seen_at),
       last_seen_at = GREATEST(p.last_seen_at, f.last_seen_at)
     FROM unnest($2::text[], $3::text[]) AS r(from_id, into_id)
     JOIN profiles f ON f.workspace_id = $1 AND f.id = r.from_id
     WHERE p.workspace_id = $1 AND p.id = r.into_id`,
    [workspaceId, accepted.map((r) => r.from), accepted.map((r) => r.into)],
  )
  await tx.query(
    `INSERT INTO profile_merges (workspace_id, kind, from_profile_id, into_profile_id, rule, identifiers, joined_with, details, at)
     SELECT $1, 'merge', x.from_id, x.into_id, 'probabilistic', x.identifiers, x.joined_with, x.details, $3::timestamptz
     FROM jsonb_to_recordset($2::jsonb) AS x(from_id text, into_id text, identifiers jsonb, joined_with jsonb, details jsonb)`,
    [
      workspaceId,
      JSON.stringify(
        accepted.map((r) => ({
          from_id: r.from,
          into_id: r.into,
          identifiers: (identifiersOf.get(r.from) ?? []).slice(0, MAX_RECORDED_IDENTIFIERS),
          joined_with: (identifiersOf.get(r.into) ?? []).slice(0, MAX_RECORDED_IDENTIFIERS),
          details: r.details,
        })),
      ),
      now.toISOString(),
    ],
  )
  // Segments, computed traits and the rest follow the merge in its transaction.
  if (plan.redirects.length > 0) {
    for (const h of hooks) await h.afterMerge?.(tx, workspaceId, plan.redirects, now)
  }
  outcome.merged = accepted
  return outcome
}

function ruleConflict(
  into: { counts: Record<string, number>; mergeCount: number },
  from: { merge_count: number; identifier_counts: Record<string, number> },
  rules: IdentityRules,
): string | null {
  let total = 0
  for (const t of new Set([...Object.keys(into.counts), ...Object.keys(from.identifier_counts)])) {
    const n = (into.counts[t] ?? 0) + (from.identifier_counts[t] ?? 0)
    total += n
    const limit = rules.limits[t]
    if (limit !== null && limit !== undefined && n > limit)
      return `identity rules: the merged profile would hold ${n} ${t} identifiers (limit ${limit})`
  }
  if (total > rules.caps.maxIdentifiersPerProfile)
    return `identity rules: the merged profile would hold ${total} identifiers (cap ${rules.caps.maxIdentifiersPerProfile})`
  const merges = into.mergeCount + from.merge_count + 1
  if (merges > rules.caps.maxMergesPerProfile)
    return `identity rules: the merged profile would count ${merges} merges (cap ${rules.caps.maxMergesPerProfile})`
  return null
}
