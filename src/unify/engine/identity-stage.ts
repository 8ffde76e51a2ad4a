/**
 * The processor's identity and golden-record stage: resolves every event of a micro-batch to a
 * profile (pure planner in src/unify/core/identity), applies the plan with one statement per table, and
 * folds the batch's traits into the golden records (pure, src/unify/core/profiles).
 */
import {
  compileIdentityRules,
  countryCode,
  countryFromTraits,
  DEFAULT_IDENTITY_RULES,
  deterministicProfileIds,
  extractIdentifiers,
  identifiersToLookup,
  normalizeTraits,
  planIdentity,
  type CompiledIdentityRules,
  type ExtractedIdentifiers,
  type GraphSnapshot,
  type IdentityPlan,
  type PlannerEvent,
} from '../core/identity/index.js'
import {
  emptyGoldenRecord,
  foldTraitUpdates,
  goldenRecordSchema,
  materializeTraits,
  mergeGoldenRecords,
  traitUpdateFromEvent,
  type GoldenRecord,
  type TraitUpdate,
} from '../core/profiles/index.js'
import { importOrigin, isActivity } from '../../protocol/imported-events.js'
import type { Queryable } from '../../platform/store/db.js'
import type { CachedIdentity, IdentityCache } from '../core/identity-cache.js'
import type { IdentitySettingsCache } from './identity-settings.js'
import {
  groupByWorkspace,
  type ProcessedEvent,
  type ProcessorStage,
} from '../../platform/pipeline/processor.js'

const iso = (ms: number) => new Date(ms).toISOString()

export interface IdentityStageStats {
  merges: number
  dropped: number
  capsHit: number
}

export interface IdentityStageOptions {
  /** Identifier → profile between batches; without it every identifier is looked up. */
  cache?: IdentityCache
  onStats?: (s: IdentityStageStats) => void
}

/**
 * What a batch learnt enters the cache only when the processor reports its transaction committed,
 * and is what the stage's last run learnt (poison probes run it in savepoints they roll back,
 * before the run that counts); a rollback forgets it.
 */
export type IdentityStage = ProcessorStage & { committed(): void; rolledBack(): void }

export function createIdentityStage(
  settings: IdentitySettingsCache,
  options: IdentityStageOptions = {},
): IdentityStage {
  const { cache, onStats } = options
  let pending: PendingEntry[] = []
  const stage: ProcessorStage = async (tx, batch) => {
    pending = []
    for (const [workspaceId, events] of groupByWorkspace(batch)) {
      const stats = await resolveWorkspace(tx, workspaceId, events, settings, cache, pending)
      onStats?.(stats)
    }
  }
  return Object.assign(stage, {
    committed() {
      if (cache) for (const p of pending) cache.set(p.workspaceId, p.type, p.value, p.entry)
      pending = []
    },
    rolledBack() {
      pending = []
    },
  })
}

interface PendingEntry {
  workspaceId: string
  type: string
  value: string
  entry: CachedIdentity
}

async function resolveWorkspace(
  tx: Queryable,
  workspaceId: string,
  events: ProcessedEvent[],
  settings: IdentitySettingsCache,
  cache: IdentityCache | undefined,
  pending: PendingEntry[],
): Promise<IdentityStageStats> {
  const { rules, compiled, survivorship } = await settings.get(tx, workspaceId)
  const extractions = await extractWithProfileCountries(tx, workspaceId, events, compiled)
  // Server-side receive time decides "oldest" and is the same on replay.
  const plannerEvents: PlannerEvent[] = events.map((e, i) => {
    const extracted = extractions[i] as ExtractedIdentifiers
    return {
      messageId: e.event.messageId,
      sourceId: e.sourceId,
      timestamp: Date.parse(e.event.receivedAt),
      identifiers: extracted.identifiers,
      ...(extracted.previousId === undefined ? {} : { previousId: extracted.previousId }),
    }
  })
  const lookup = identifiersToLookup(plannerEvents)
  const { snapshot, versions } = await readSnapshot(tx, workspaceId, lookup, cache)
  const plan = planIdentity({
    events: plannerEvents,
    snapshot,
    rules,
    newProfileId: deterministicProfileIds(workspaceId),
  })
  const created = await applyPlan(tx, workspaceId, plan)
  plan.events.forEach((r, i) => {
    const e = events[i]
    if (e) e.profileId = r.profileId
  })
  await updateGoldenRecords(tx, workspaceId, events, plan, survivorship, compiled)
  if (cache) {
    for (const [id, version] of created) versions.set(id, version)
    pending.push(...learnt(workspaceId, snapshot, plan, versions))
  }
  return { merges: plan.merges.length, dropped: plan.dropped.length, capsHit: plan.capsHit.length }
}

/**
 * Extracts every event's identifiers. A phone in national format that the event gives no country
 * for (a CRM row without its country column, an SDK sending `030 1234567`) is read again in the
 * country its person's profile already has, found through the event's other identifiers, before
 * the workspace region: one plain read, only for such events. Not locked: the country only decides how a number is read,
 * and the identifiers it yields are locked with the rest of the snapshot. A profile created
 * earlier in the same batch is not consulted (its traits are not stored yet).
 */
async function extractWithProfileCountries(
  tx: Queryable,
  workspaceId: string,
  events: readonly ProcessedEvent[],
  compiled: CompiledIdentityRules,
): Promise<ExtractedIdentifiers[]> {
  const extractions = events.map((e) => extractIdentifiers(e.event, compiled))
  const asking = extractions.flatMap((x, i) =>
    x.phoneNeedsCountry === true && x.identifiers.length > 0 ? [i] : [],
  )
  if (asking.length === 0) return extractions
  const keys = new Map<string, { type: string; value: string }>()
  for (const i of asking) {
    for (const id of (extractions[i] as ExtractedIdentifiers).identifiers) {
      keys.set(`${id.type}:${id.value}`, id)
    }
  }
  const lookup = [...keys.values()]
  const res = await tx.query<{ type: string; value: string; traits: Record<string, unknown> }>(
    `SELECT i.type, i.value, p.traits FROM identities i
     JOIN unnest($2::text[], $3::text[]) AS l(type, value) ON i.type = l.type AND i.value = l.value
     JOIN profiles p ON p.workspace_id = i.workspace_id AND p.id = i.profile_id
     WHERE i.workspace_id = $1`,
    [workspaceId, lookup.map((l) => l.type), lookup.map((l) => l.value)],
  )
  const countries = new Map<string, string>()
  for (const r of res.rows) {
    const code = countryFromTraits([r.traits], compiled.normalization)
    if (code) countries.set(`${r.type}:${r.value}`, code)
  }
  for (const i of asking) {
    const x = extractions[i] as ExtractedIdentifiers
    const country = x.identifiers
      .map((id) => countries.get(`${id.type}:${id.value}`))
      .find((c) => c !== undefined)
    const event = events[i] as ProcessedEvent
    if (country)
      extractions[i] = extractIdentifiers(event.event, compiled, { profileCountry: country })
  }
  return extractions
}

/**
 * Where each identifier of the batch lives once the plan is applied, with that profile's version:
 * identifiers of the snapshot (moved to the survivor when their profile merged away) and the ones
 * attached. Survivors keep their version (only losing identifiers changes it). An attachment to a
 * profile merged away later in the same plan is left out rather than guessed.
 */
function learnt(
  workspaceId: string,
  snapshot: GraphSnapshot,
  plan: IdentityPlan,
  versions: ReadonlyMap<string, string>,
): PendingEntry[] {
  const into = new Map(plan.redirects.map((r) => [r.from, r.into]))
  const out: PendingEntry[] = []
  const add = (type: string, value: string, profileId: string) => {
    const version = versions.get(profileId)
    if (version !== undefined) out.push({ workspaceId, type, value, entry: { profileId, version } })
  }
  for (const i of snapshot.identifiers) add(i.type, i.value, into.get(i.profileId) ?? i.profileId)
  for (const a of plan.attachments) if (!into.has(a.profileId)) add(a.type, a.value, a.profileId)
  return out
}

interface SnapshotRead {
  snapshot: GraphSnapshot
  /** identity_version of every profile locked for the snapshot. */
  versions: Map<string, string>
}

interface ProfileLockRow {
  id: string
  created_at: Date | string
  merge_count: number
  identifier_counts: Record<string, number>
  identity_version: string
}

async function lockIdentities(
  tx: Queryable,
  workspaceId: string,
  lookup: readonly { type: string; value: string }[],
): Promise<Array<{ type: string; value: string; profileId: string }>> {
  if (lookup.length === 0) return []
  // Rows locked in key order, so concurrent processors serialise per identifier without deadlock.
  const res = await tx.query<{ type: string; value: string; profile_id: string }>(
    `SELECT i.type, i.value, i.profile_id FROM identities i
     JOIN unnest($2::text[], $3::text[]) AS l(type, value) ON i.type = l.type AND i.value = l.value
     WHERE i.workspace_id = $1 ORDER BY i.type, i.value FOR UPDATE OF i`,
    [workspaceId, lookup.map((l) => l.type), lookup.map((l) => l.value)],
  )
  return res.rows.map((r) => ({ type: r.type, value: r.value, profileId: r.profile_id }))
}

async function lockProfiles(
  tx: Queryable,
  workspaceId: string,
  ids: readonly string[],
): Promise<ProfileLockRow[]> {
  if (ids.length === 0) return []
  const res = await tx.query<ProfileLockRow>(
    `SELECT id, created_at, merge_count, identifier_counts, identity_version::text AS identity_version
     FROM profiles WHERE workspace_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE`,
    [workspaceId, [...ids].sort()],
  )
  return res.rows
}

/**
 * Locks and reads what the planner needs. Cached identifiers skip the `identities` probe: their
 * profile rows are locked anyway, and an entry counts only if its profile is still at the cached
 * version (see identity-cache.ts); the rest, and stale entries, are looked up and locked.
 */
async function readSnapshot(
  tx: Queryable,
  workspaceId: string,
  lookup: { type: string; value: string }[],
  cache: IdentityCache | undefined,
): Promise<SnapshotRead> {
  const versions = new Map<string, string>()
  if (lookup.length === 0) return { snapshot: { identifiers: [], profiles: [] }, versions }
  const cached: Array<{ type: string; value: string } & CachedIdentity> = []
  const uncached: Array<{ type: string; value: string }> = []
  for (const l of lookup) {
    const hit = cache?.get(workspaceId, l.type, l.value)
    if (hit) cached.push({ ...l, ...hit })
    else uncached.push(l)
  }
  const identifiers = await lockIdentities(tx, workspaceId, uncached)
  const wanted = new Set([...identifiers, ...cached].map((i) => i.profileId))
  const rows = await lockProfiles(tx, workspaceId, [...wanted])
  for (const r of rows) versions.set(r.id, String(r.identity_version))
  const stale: Array<{ type: string; value: string }> = []
  for (const c of cached) {
    if (versions.get(c.profileId) === c.version) identifiers.push(c)
    else {
      stale.push({ type: c.type, value: c.value })
      cache?.delete(workspaceId, c.type, c.value)
    }
  }
  if (stale.length > 0) {
    cache?.noteStale(stale.length)
    const found = await lockIdentities(tx, workspaceId, stale)
    identifiers.push(...found)
    const more = await lockProfiles(
      tx,
      workspaceId,
      [...new Set(found.map((f) => f.profileId))].filter((id) => !versions.has(id)),
    )
    for (const r of more) versions.set(r.id, String(r.identity_version))
    rows.push(...more)
  }
  const profileIds = [...versions.keys()]
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
    versions,
    snapshot: {
      identifiers: identifiers.map((i) => ({
        type: i.type,
        value: i.value,
        profileId: i.profileId,
      })),
      separations: separations.map((r) => ({
        profileId: r.profile_id,
        otherProfileId: r.other_profile_id,
      })),
      profiles: rows.map((p) => ({
        id: p.id,
        createdAt: new Date(p.created_at).getTime(),
        mergeCount: p.merge_count,
        counts: p.identifier_counts,
      })),
    },
  }
}

/** Applies the plan; returns the identity_version of each profile it created. */
export async function applyPlan(
  tx: Queryable,
  workspaceId: string,
  plan: IdentityPlan,
): Promise<Map<string, string>> {
  const created = new Map<string, string>()
  if (plan.newProfiles.length > 0) {
    const res = await tx.query<{ id: string; identity_version: string }>(
      `INSERT INTO profiles (workspace_id, id, created_at, updated_at, merged_into)
       SELECT $1, x.id, x.created_at, x.created_at, x.merged_into
       FROM jsonb_to_recordset($2::jsonb) AS x(id text, created_at timestamptz, merged_into text)
       RETURNING id, identity_version::text AS identity_version`,
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
    for (const r of res.rows) created.set(r.id, String(r.identity_version))
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
  return created
}

/**
 * Folds the batch's traits into the golden records, normalised (`rules.normalization`: trims,
 * Unicode form, case per trait, phones to E.164 in the row's or the profile's country, dates to
 * ISO 8601) so that segments and the API see one form whatever the source wrote. Imported rows
 * are observations of origin `import` and, except event rows with their own time, no activity:
 * they move neither `first_seen_at` nor `last_seen_at`.
 */
export async function updateGoldenRecords(
  tx: Queryable,
  workspaceId: string,
  events: ProcessedEvent[],
  plan: IdentityPlan,
  survivorship: Parameters<typeof foldTraitUpdates>[2],
  /** The workspace's rules; only merges without events (matching runs) may leave them out. */
  compiled: CompiledIdentityRules = compileIdentityRules(DEFAULT_IDENTITY_RULES),
): Promise<void> {
  const raw = new Map<string, TraitUpdate[]>()
  const seen = new Map<string, { first: number; last: number }>()
  const touched = new Set<string>()
  for (const e of events) {
    if (!e.profileId) continue
    touched.add(e.profileId)
    const at = Date.parse(e.event.timestamp)
    if (isActivity(e.event)) {
      const s = seen.get(e.profileId)
      if (!s) seen.set(e.profileId, { first: at, last: at })
      else {
        s.first = Math.min(s.first, at)
        s.last = Math.max(s.last, at)
      }
    }
    const u = traitUpdateFromEvent(e.event, {
      sourceId: e.sourceId,
      messageId: e.event.messageId,
      at,
      imported: importOrigin(e.event) !== undefined,
    })
    if (!u) continue
    let list = raw.get(e.profileId)
    if (!list) raw.set(e.profileId, (list = []))
    list.push(u)
  }
  const survivors = new Set([...touched, ...plan.redirects.map((r) => r.into)])
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
  const normalization = compiled.normalization
  const hasPhone = (traits: Record<string, unknown>) =>
    Object.keys(traits).some((key) => normalization.trait(key).kind === 'phone')
  const out = [...survivors].map((id) => {
    const current = golden.get(id) ?? emptyGoldenRecord()
    const updates = raw.get(id) ?? []
    // The profile's country, for phones whose event names none: read once, only when needed.
    const profileCountry =
      normalization.profileCountry && updates.some((u) => hasPhone(u.traits))
        ? profileCountryOf(current, normalization.countryTraits)
        : undefined
    const normalized = updates.map((u) => ({
      ...u,
      traits: normalizeTraits(u.traits, normalization, { profileCountry }),
    }))
    const record = foldTraitUpdates(current, normalized, survivorship)
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

/** The first valid country among the golden record's country traits (top-level keys). */
function profileCountryOf(record: GoldenRecord, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const code = countryCode(record.traits[key]?.value)
    if (code) return code
  }
  return undefined
}
