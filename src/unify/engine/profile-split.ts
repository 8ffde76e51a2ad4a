/**
 * Splitting a profile (unmerge): identifiers given by a person move to a new profile with the
 * events they brought, in one transaction over six tables (profiles, identities, events, consent,
 * separations, merges). The pure planner (`core/identity/split-planner.ts`) decides what moves;
 * this applies it. Callable from the Profile API, the CLI and the identity review queue.
 * @module
 */
import {
  deterministicProfileIds,
  extractIdentifiers,
  identifierKey,
  normalizeIdentifier,
  normalizeIdentifierType,
  planSplit,
  type Identifier,
} from '../core/identity/index.js'
import {
  materializeTraits,
  recomputeSplitRecords,
  traitUpdateFromEvent,
  type TraitUpdate,
} from '../core/profiles/index.js'
import { KindredError } from '../../protocol/errors.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import type { Db, Queryable } from '../../platform/store/db.js'
import type { ProfileHooks } from '../../platform/module-contract.js'
import type { IdentitySettingsCache, WorkspaceIdentitySettings } from './identity-settings.js'
import { loadProfile } from './profile-read-model.js'

export interface SplitProfileRequest {
  workspaceId: string
  profileId: string
  /** As given by the caller; normalised with the workspace's rules. */
  identifiers: ReadonlyArray<{ type: string; value: string }>
  /** Who asked (an API key or user id), kept on the split record. */
  requestedBy: string
}

export interface SplitProfileResult {
  profileId: string
  newProfileId: string
  movedEvents: number
  detached: Identifier[]
}

export interface ProfileSplitDeps {
  db: Db
  identitySettings: IdentitySettingsCache
  clock: () => number
  /** What follows the split in its transaction (consent): see ProfileHooks. */
  profileHooks?: readonly ProfileHooks[]
}

/** The canonical event back from its stored columns. */
function eventFromRow(r: {
  payload: Record<string, unknown>
  properties: unknown
  traits: unknown
  context: unknown
}): KindredEvent {
  return {
    ...r.payload,
    properties: r.properties,
    traits: r.traits,
    context: r.context,
  } as KindredEvent
}

type StoredEvent = { sourceId: string; event: KindredEvent }

/** First and last event time of one side of the split, as ISO strings (null when it has none). */
function firstLast(events: StoredEvent[], moved: Set<string>, side: 'moved' | 'kept') {
  const times = events
    .filter((e) => moved.has(`${e.sourceId}/${e.event.messageId}`) === (side === 'moved'))
    .map((e) => Date.parse(e.event.timestamp))
  return times.length
    ? [new Date(Math.min(...times)).toISOString(), new Date(Math.max(...times)).toISOString()]
    : [null, null]
}

async function lockedEvents(tx: Queryable, workspaceId: string, profileId: string) {
  const res = await tx.query<{
    source_id: string
    payload: Record<string, unknown>
    properties: unknown
    traits: unknown
    context: unknown
  }>(
    `SELECT source_id, payload, properties, traits, context FROM events
     WHERE workspace_id = $1 AND profile_id = $2 ORDER BY received_at, seq`,
    [workspaceId, profileId],
  )
  return res.rows.map((r): StoredEvent => ({ sourceId: r.source_id, event: eventFromRow(r) }))
}

export function createProfileSplitter(deps: ProfileSplitDeps) {
  const { db, identitySettings } = deps
  return async function splitProfile(req: SplitProfileRequest): Promise<SplitProfileResult> {
    const { workspaceId } = req
    const settings = await identitySettings.get(db, workspaceId)
    const detach: Identifier[] = req.identifiers.map((i) => {
      const type = normalizeIdentifierType(i.type)
      const n = type ? normalizeIdentifier(type, i.value, settings.compiled) : undefined
      if (!n?.ok)
        throw new KindredError('VALIDATION_FAILED', `"${i.value}" is not a usable ${i.type}`)
      return n.identifier
    })
    const at = deps.clock()
    return db.transaction((tx) =>
      splitInTransaction(
        tx,
        { workspaceId, profileId: req.profileId, detach, requestedBy: req.requestedBy },
        { settings, at, ...(deps.profileHooks ? { profileHooks: deps.profileHooks } : {}) },
      ),
    )
  }
}

/**
 * The split itself, inside the caller's transaction: identifiers already normalised. For
 * callers that record something with the split in one commit (undoing a matching run marks the
 * merge undone with it, so a retry never splits twice).
 */
export async function splitInTransaction(
  tx: Queryable,
  req: { workspaceId: string; profileId: string; detach: Identifier[]; requestedBy: string },
  ctx: {
    settings: WorkspaceIdentitySettings
    /** Epoch ms. */
    at: number
    profileHooks?: readonly ProfileHooks[]
  },
): Promise<SplitProfileResult> {
  const { workspaceId, detach } = req
  const { settings, at } = ctx
  const row = await loadProfile(tx, workspaceId, req.profileId)
  if (!row) throw new KindredError('NOT_FOUND', `profile ${req.profileId} not found`)
  if (row.merged_into !== null) {
    throw new KindredError(
      'CONFLICT',
      `profile ${row.id} was merged into ${row.merged_into}; split that profile`,
    )
  }
  await tx.query('SELECT id FROM profiles WHERE workspace_id = $1 AND id = $2 FOR UPDATE', [
    workspaceId,
    row.id,
  ])
  const idents = await tx.query<Identifier>(
    'SELECT type, value FROM identities WHERE workspace_id = $1 AND profile_id = $2 ORDER BY type, value',
    [workspaceId, row.id],
  )
  const events = await lockedEvents(tx, workspaceId, row.id)
  const seed = `split:${row.id}:${detach.map(identifierKey).sort().join(',')}`
  const plan = planSplit({
    profile: { id: row.id, identifiers: idents.rows },
    detach,
    events: events.map(({ sourceId, event }) => {
      const extracted = extractIdentifiers(event, settings.compiled)
      return {
        messageId: event.messageId,
        sourceId,
        timestamp: Date.parse(event.receivedAt),
        identifiers: extracted.identifiers,
        ...(extracted.previousId === undefined ? {} : { previousId: extracted.previousId }),
      }
    }),
    rules: settings.rules,
    newProfileId: deterministicProfileIds(workspaceId)({ messageId: seed }, at),
    at,
    requestedBy: req.requestedBy,
  })
  const newId = plan.newProfile.id
  await tx.query(
    `INSERT INTO profiles (workspace_id, id, created_at, updated_at, identifier_counts)
     VALUES ($1, $2, to_timestamp($3 / 1000.0), now(), $4)`,
    [workspaceId, newId, plan.newProfile.createdAt, JSON.stringify(plan.counts.created)],
  )
  await tx.query(
    `UPDATE identities i SET profile_id = $3 FROM unnest($4::text[], $5::text[]) AS d(type, value)
     WHERE i.workspace_id = $1 AND i.profile_id = $2 AND i.type = d.type AND i.value = d.value`,
    [
      workspaceId,
      row.id,
      newId,
      plan.detached.map((d) => d.type),
      plan.detached.map((d) => d.value),
    ],
  )
  if (plan.movedEvents.length > 0) {
    await tx.query(
      `UPDATE events e SET profile_id = $3 FROM unnest($4::text[], $5::text[]) AS m(source_id, message_id)
       WHERE e.workspace_id = $1 AND e.profile_id = $2 AND e.source_id = m.source_id AND e.message_id = m.message_id`,
      [
        workspaceId,
        row.id,
        newId,
        plan.movedEvents.map((m) => m.sourceId ?? ''),
        plan.movedEvents.map((m) => m.messageId),
      ],
    )
  }
  // Consent and whatever else other capabilities keep per profile follow the events.
  const move = { workspaceId, originalId: row.id, newId, events, moved: plan.movedEvents }
  for (const h of ctx.profileHooks ?? []) await h.afterSplit?.(tx, move)
  const updates: TraitUpdate[] = []
  for (const { sourceId, event } of events) {
    const u = traitUpdateFromEvent(event, {
      sourceId,
      messageId: event.messageId,
      at: Date.parse(event.timestamp),
    })
    if (u) updates.push(u)
  }
  const records = recomputeSplitRecords(updates, plan.movedEvents, settings.survivorship)
  const moved = new Set(plan.movedEvents.map((m) => `${m.sourceId}/${m.messageId}`))
  for (const [id, record, counts, side] of [
    [row.id, records.original, plan.counts.original, 'kept'],
    [newId, records.created, plan.counts.created, 'moved'],
  ] as const) {
    const [first, last] = firstLast(events, moved, side)
    await tx.query(
      `UPDATE profiles SET golden = $3, traits = $4, identifier_counts = $5, first_seen_at = $6, last_seen_at = $7, updated_at = now()
       WHERE workspace_id = $1 AND id = $2`,
      [
        workspaceId,
        id,
        JSON.stringify(record),
        JSON.stringify(materializeTraits(record)),
        JSON.stringify(counts),
        first,
        last,
      ],
    )
  }
  // The split sticks: later events carrying identifiers of both sides do not re-merge them.
  await tx.query(
    `INSERT INTO profile_separations (workspace_id, profile_id, other_profile_id, reason, created_at)
     VALUES ($1, $2, $3, 'split', to_timestamp($4 / 1000.0)), ($1, $3, $2, 'split', to_timestamp($4 / 1000.0))`,
    [workspaceId, row.id, newId, at],
  )
  await tx.query(
    `INSERT INTO profile_merges (workspace_id, kind, from_profile_id, into_profile_id, rule, identifiers, details, at)
     VALUES ($1, 'split', $2, $3, 'split', $4, $5, to_timestamp($6 / 1000.0))`,
    [workspaceId, row.id, newId, JSON.stringify(plan.detached), JSON.stringify(plan.record), at],
  )
  return {
    profileId: row.id,
    newProfileId: newId,
    movedEvents: plan.movedEvents.length,
    detached: plan.detached,
  }
}

export type ProfileSplitter = ReturnType<typeof createProfileSplitter>
