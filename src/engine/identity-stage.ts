/**
 * The processor's identity and golden-record stage: resolves every event of a micro-batch to a
 * profile (pure planner in src/identity), applies the plan with one statement per table, and
 * folds the batch's traits into the golden records (pure, src/profiles).
 */
import {
  deterministicProfileIds,
  extractIdentifiers,
  identifiersToLookup,
  planIdentity,
  type GraphSnapshot,
  type IdentityPlan,
  type PlannerEvent,
} from '../identity/index.js'
import {
  emptyGoldenRecord,
  foldTraitUpdates,
  goldenRecordSchema,
  materializeTraits,
  mergeGoldenRecords,
  traitUpdateFromEvent,
  type GoldenRecord,
  type TraitUpdate,
} from '../profiles/index.js'
import type { Queryable } from '../store/db.js'
import type { IdentitySettingsCache } from './identity-settings.js'
import { groupByWorkspace, type ProcessedEvent, type ProcessorStage } from './processor.js'

const iso = (ms: number) => new Date(ms).toISOString()

export interface IdentityStageStats {
  merges: number
  dropped: number
  capsHit: number
}

export function createIdentityStage(
  settings: IdentitySettingsCache,
  onStats?: (s: IdentityStageStats) => void,
): ProcessorStage {
  return async (tx, batch) => {
    for (const [workspaceId, events] of groupByWorkspace(batch)) {
      const stats = await resolveWorkspace(tx, workspaceId, events, settings)
      onStats?.(stats)
    }
  }
}

async function resolveWorkspace(
  tx: Queryable,
  workspaceId: string,
  events: ProcessedEvent[],
  cache: IdentitySettingsCache,
): Promise<IdentityStageStats> {
  const { rules, compiled, survivorship } = await cache.get(tx, workspaceId)
  // Server-side receive time decides "oldest" and is the same on replay.
  const plannerEvents: PlannerEvent[] = events.map((e) => {
    const extracted = extractIdentifiers(e.event, compiled)
    return {
      messageId: e.event.messageId,
      sourceId: e.sourceId,
      timestamp: Date.parse(e.event.receivedAt),
      identifiers: extracted.identifiers,
      ...(extracted.previousId === undefined ? {} : { previousId: extracted.previousId }),
    }
  })
  const lookup = identifiersToLookup(plannerEvents)
  const snapshot = await readSnapshot(tx, workspaceId, lookup)
  const plan = planIdentity({
    events: plannerEvents,
    snapshot,
    rules,
    newProfileId: deterministicProfileIds(workspaceId),
  })
  await applyPlan(tx, workspaceId, plan)
  plan.events.forEach((r, i) => {
    const e = events[i]
    if (e) e.profileId = r.profileId
  })
  await updateGoldenRecords(tx, workspaceId, events, plan, survivorship)
  return { merges: plan.merges.length, dropped: plan.dropped.length, capsHit: plan.capsHit.length }
}

async function readSnapshot(
  tx: Queryable,
  workspaceId: string,
  lookup: { type: string; value: string }[],
): Promise<GraphSnapshot> {
  if (lookup.length === 0) return { identifiers: [], profiles: [] }
  // Rows locked in key order, so concurrent processors serialise per identifier without deadlock.
  const ids = await tx.query<{ type: string; value: string; profile_id: string }>(
    `SELECT i.type, i.value, i.profile_id FROM identities i
     JOIN unnest($2::text[], $3::text[]) AS l(type, value) ON i.type = l.type AND i.value = l.value
     WHERE i.workspace_id = $1 ORDER BY i.type, i.value FOR UPDATE OF i`,
    [workspaceId, lookup.map((l) => l.type), lookup.map((l) => l.value)],
  )
  const profileIds = [...new Set(ids.rows.map((r) => r.profile_id))].sort()
  const profiles =
    profileIds.length === 0
      ? []
      : (
          await tx.query<{
            id: string
            created_at: Date | string
            merge_count: number
            identifier_counts: Record<string, number>
          }>(
            `SELECT id, created_at, merge_count, identifier_counts FROM profiles
             WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`,
            [workspaceId, profileIds],
          )
        ).rows
  const separations =
    profileIds.length === 0
      ? []
      : (
          await tx.query<{ profile_id: string; other_profile_id: string }>(
            `SELECT profile_id, other_profile_id FROM profile_separations
             WHERE workspace_id = $1 AND profile_id = ANY($2)`,
            [workspaceId, profileIds],
          )
        ).rows
  return {
    identifiers: ids.rows.map((r) => ({ type: r.type, value: r.value, profileId: r.profile_id })),
    separations: separations.map((r) => ({
      profileId: r.profile_id,
      otherProfileId: r.other_profile_id,
    })),
    profiles: profiles.map((p) => ({
      id: p.id,
      createdAt: new Date(p.created_at).getTime(),
      mergeCount: p.merge_count,
      counts: p.identifier_counts,
    })),
  }
}

export async function applyPlan(
  tx: Queryable,
  workspaceId: string,
  plan: IdentityPlan,
): Promise<void> {
  if (plan.newProfiles.length > 0) {
    await tx.query(
      `INSERT INTO profiles (workspace_id, id, created_at, updated_at, merged_into)
       SELECT $1, x.id, x.created_at, x.created_at, x.merged_into
       FROM jsonb_to_recordset($2::jsonb) AS x(id text, created_at timestamptz, merged_into text)`,
      [
        workspaceId,
        JSON.stringify(
          plan.newProfiles.map((p) => ({
            id: p.id,
            created_at: iso(p.createdAt),
            merged_into: p.mergedInto,
          })),
        ),
      ],
    )
  }
  if (plan.redirects.length > 0) {
    const from = plan.redirects.map((r) => r.from)
    const into = plan.redirects.map((r) => r.into)
    // Keep redirects one hop: profiles that pointed at a merged-away profile now point at its survivor.
    await tx.query(
      `UPDATE profiles p SET merged_into = r.into_id, updated_at = now()
       FROM unnest($2::text[], $3::text[]) AS r(from_id, into_id)
       WHERE p.workspace_id = $1 AND (p.id = r.from_id OR p.merged_into = r.from_id)`,
      [workspaceId, from, into],
    )
    // One consent per (profile, purpose): the newer decision of the two profiles survives.
    await tx.query(
      `DELETE FROM profile_consents c USING unnest($2::text[], $3::text[]) AS r(from_id, into_id), profile_consents o
       WHERE c.workspace_id = $1 AND o.workspace_id = $1 AND c.purpose = o.purpose AND (
         (c.profile_id = r.from_id AND o.profile_id = r.into_id AND o.updated_at >= c.updated_at) OR
         (c.profile_id = r.into_id AND o.profile_id = r.from_id AND o.updated_at > c.updated_at))`,
      [workspaceId, from, into],
    )
    for (const table of [
      'identities',
      'events',
      'computed_trait_values',
      'profile_consents',
      'consent_history',
    ]) {
      await tx.query(
        `UPDATE ${table} t SET profile_id = r.into_id FROM unnest($2::text[], $3::text[]) AS r(from_id, into_id)
         WHERE t.workspace_id = $1 AND t.profile_id = r.from_id`,
        [workspaceId, from, into],
      )
    }
    // A survivor inherits the splits that kept its merged-away profiles apart from others.
    for (const column of ['profile_id', 'other_profile_id']) {
      await tx.query(
        `UPDATE profile_separations t SET ${column} = r.into_id FROM unnest($2::text[], $3::text[]) AS r(from_id, into_id)
         WHERE t.workspace_id = $1 AND t.${column} = r.from_id`,
        [workspaceId, from, into],
      )
    }
  }
  if (plan.attachments.length > 0) {
    const sourceOf = new Map(plan.events.map((e) => [e.messageId, e.sourceId ?? null]))
    await tx.query(
      `INSERT INTO identities (workspace_id, type, value, profile_id, source_id, message_id, first_seen_at)
       SELECT $1, x.type, x.value, x.profile_id, x.source_id, x.message_id, now()
       FROM jsonb_to_recordset($2::jsonb) AS x(type text, value text, profile_id text, source_id text, message_id text)`,
      [
        workspaceId,
        JSON.stringify(
          plan.attachments.map((a) => ({
            type: a.type,
            value: a.value,
            profile_id: a.profileId,
            message_id: a.messageId,
            source_id: sourceOf.get(a.messageId) ?? null,
          })),
        ),
      ],
    )
  }
  if (plan.merges.length > 0) {
    await tx.query(
      `INSERT INTO profile_merges (workspace_id, kind, from_profile_id, into_profile_id, message_id, source_id, rule, identifiers, joined_with, at)
       SELECT $1, 'merge', x.from_id, x.into_id, x.message_id, x.source_id, x.rule, x.identifiers, x.joined_with, x.at
       FROM jsonb_to_recordset($2::jsonb) AS x(from_id text, into_id text, message_id text, source_id text, rule text, identifiers jsonb, joined_with jsonb, at timestamptz)`,
      [
        workspaceId,
        JSON.stringify(
          plan.merges.map((m) => ({
            from_id: m.from,
            into_id: m.into,
            message_id: m.messageId,
            source_id: m.sourceId ?? null,
            rule: m.rule,
            identifiers: m.identifiers,
            joined_with: m.joinedWith,
            at: iso(m.at),
          })),
        ),
      ],
    )
  }
  if (plan.profiles.length > 0) {
    await tx.query(
      `UPDATE profiles p SET merge_count = x.merge_count, identifier_counts = x.counts
       FROM jsonb_to_recordset($2::jsonb) AS x(id text, merge_count int, counts jsonb)
       WHERE p.workspace_id = $1 AND p.id = x.id`,
      [
        workspaceId,
        JSON.stringify(
          plan.profiles.map((p) => ({ id: p.id, merge_count: p.mergeCount, counts: p.counts })),
        ),
      ],
    )
  }
  const notes = [
    ...plan.dropped.map((d) => ({
      kind: 'identifier_dropped',
      profile_id: d.profileId,
      message_id: d.messageId,
      details: d,
    })),
    ...plan.capsHit.map((c) => ({
      kind: 'cap_hit',
      profile_id: c.profileId,
      message_id: c.messageId,
      details: c,
    })),
  ]
  if (notes.length > 0) {
    await tx.query(
      `INSERT INTO identity_events (workspace_id, kind, profile_id, message_id, details, at)
       SELECT $1, x.kind, x.profile_id, x.message_id, x.details, now()
       FROM jsonb_to_recordset($2::jsonb) AS x(kind text, profile_id text, message_id text, details jsonb)`,
      [workspaceId, JSON.stringify(notes)],
    )
  }
}

export async function updateGoldenRecords(
  tx: Queryable,
  workspaceId: string,
  events: ProcessedEvent[],
  plan: IdentityPlan,
  survivorship: Parameters<typeof foldTraitUpdates>[2],
): Promise<void> {
  const updates = new Map<string, TraitUpdate[]>()
  const seen = new Map<string, { first: number; last: number }>()
  for (const e of events) {
    if (!e.profileId) continue
    const at = Date.parse(e.event.timestamp)
    const s = seen.get(e.profileId)
    if (!s) seen.set(e.profileId, { first: at, last: at })
    else {
      s.first = Math.min(s.first, at)
      s.last = Math.max(s.last, at)
    }
    const u = traitUpdateFromEvent(e.event, {
      sourceId: e.sourceId,
      messageId: e.event.messageId,
      at,
    })
    if (!u) continue
    let list = updates.get(e.profileId)
    if (!list) updates.set(e.profileId, (list = []))
    list.push(u)
  }
  const survivors = new Set([...seen.keys(), ...plan.redirects.map((r) => r.into)])
  if (survivors.size === 0) return
  const involved = [...new Set([...survivors, ...plan.redirects.map((r) => r.from)])]
  const rows = await tx.query<{ id: string; golden: unknown }>(
    'SELECT id, golden FROM profiles WHERE workspace_id = $1 AND id = ANY($2)',
    [workspaceId, involved],
  )
  const golden = new Map<string, GoldenRecord>()
  for (const r of rows.rows) golden.set(r.id, goldenRecordSchema.parse(r.golden) as GoldenRecord)
  for (const r of plan.redirects) {
    const into = golden.get(r.into) ?? emptyGoldenRecord()
    const from = golden.get(r.from)
    if (from && Object.keys(from.traits).length > 0)
      golden.set(r.into, mergeGoldenRecords(into, from, survivorship))
  }
  const out = [...survivors].map((id) => {
    const record = foldTraitUpdates(
      golden.get(id) ?? emptyGoldenRecord(),
      updates.get(id) ?? [],
      survivorship,
    )
    const s = seen.get(id)
    return {
      id,
      golden: record,
      traits: materializeTraits(record),
      first_seen_at: s ? iso(s.first) : null,
      last_seen_at: s ? iso(s.last) : null,
    }
  })
  await tx.query(
    `UPDATE profiles p SET golden = x.golden, traits = x.traits, updated_at = now(),
       first_seen_at = LEAST(p.first_seen_at, x.first_seen_at),
       last_seen_at = GREATEST(p.last_seen_at, x.last_seen_at)
     FROM jsonb_to_recordset($2::jsonb) AS x(id text, golden jsonb, traits jsonb, first_seen_at timestamptz, last_seen_at timestamptz)
     WHERE p.workspace_id = $1 AND p.id = x.id`,
    [workspaceId, JSON.stringify(out)],
  )
}
