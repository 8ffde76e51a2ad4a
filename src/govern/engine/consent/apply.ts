/**
 * Applies consent decisions (from the processor stage and from the API: one code path), set-based:
 * one SELECT of the current rows, one INSERT into consent_history, one upsert of
 * profile_consents, and, when a purpose's decision flips (under the workspace's default for
 * unknown), audience jobs for the destinations of that purpose: removals from every synced
 * audience the profile is in when it is no longer allowed, re-adds when it is allowed again.
 * The jobs go through the delivery port (`deliveries`), which activate implements.
 */
import {
  allowed,
  consentKey,
  planConsent,
  type ConsentObservation,
  type ConsentSettings,
  type ConsentTransition,
  type CurrentConsent,
} from '../../core/privacy/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import type { ConsentAudienceChange, GovernDeliveries } from '../delivery-port.js'

const iso = (ms: number) => new Date(ms).toISOString()

export interface ApplyConsentResult {
  recorded: number
  transitions: ConsentTransition[]
  audienceJobs: number
}

export async function applyConsent(
  tx: Queryable,
  workspaceId: string,
  observations: readonly ConsentObservation[],
  settings: ConsentSettings,
  now: Date,
  deliveries: GovernDeliveries,
): Promise<ApplyConsentResult> {
  if (observations.length === 0) return { recorded: 0, transitions: [], audienceJobs: 0 }
  const keys = [...new Map(observations.map((o) => [consentKey(o.profileId, o.purpose), o]))]
  // Locked: two transactions deciding for one profile apply in turn, each seeing the other.
  const cur = await tx.query<{
    profile_id: string
    purpose: string
    status: 'granted' | 'denied'
    updated_at: Date | string
  }>(
    `SELECT c.profile_id, c.purpose, c.status, c.updated_at FROM profile_consents c
     JOIN unnest($2::text[], $3::text[]) AS k(profile_id, purpose)
       ON c.profile_id = k.profile_id AND c.purpose = k.purpose
     WHERE c.workspace_id = $1 ORDER BY c.profile_id, c.purpose FOR UPDATE OF c`,
    [workspaceId, keys.map(([, o]) => o.profileId), keys.map(([, o]) => o.purpose)],
  )
  const current = new Map<string, CurrentConsent>()
  for (const r of cur.rows)
    current.set(consentKey(r.profile_id, r.purpose), {
      status: r.status,
      updatedAt: new Date(r.updated_at).getTime(),
    })
  const plan = planConsent(current, observations)
  if (plan.history.length > 0) {
    await tx.query(
      `INSERT INTO consent_history (workspace_id, profile_id, purpose, status, source, source_id,
         proof, details, occurred_at, recorded_at)
       SELECT $1, x.profile_id, x.purpose, x.status, x.source, x.source_id, x.proof,
         coalesce(x.details, '{}'), x.occurred_at, $3
       FROM jsonb_to_recordset($2::jsonb) AS x(profile_id text, purpose text, status text,
         source text, source_id text, proof text, details jsonb, occurred_at timestamptz)`,
      [
        workspaceId,
        JSON.stringify(
          plan.history.map((h) => ({
            profile_id: h.profileId,
            purpose: h.purpose,
            status: h.status,
            source: h.source,
            source_id: h.sourceId,
            proof: h.proof,
            details: h.details ?? {},
            occurred_at: iso(h.occurredAt),
          })),
        ),
        now.toISOString(),
      ],
    )
  }
  if (plan.upserts.length > 0) {
    await tx.query(
      `INSERT INTO profile_consents (workspace_id, profile_id, purpose, status, updated_at)
       SELECT $1, x.profile_id, x.purpose, x.status, x.updated_at
       FROM jsonb_to_recordset($2::jsonb) AS x(profile_id text, purpose text, status text, updated_at timestamptz)
       ON CONFLICT (workspace_id, profile_id, purpose) DO UPDATE
         SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
         WHERE profile_consents.updated_at <= EXCLUDED.updated_at`,
      [
        workspaceId,
        JSON.stringify(
          plan.upserts.map((u) => ({
            profile_id: u.profileId,
            purpose: u.purpose,
            status: u.status,
            updated_at: iso(u.updatedAt),
          })),
        ),
      ],
    )
  }
  const audienceJobs = await enqueueAudienceChanges(
    tx,
    workspaceId,
    plan.transitions,
    settings,
    now,
    deliveries,
  )
  return { recorded: plan.history.length, transitions: plan.transitions, audienceJobs }
}

export interface SyncingDestination {
  id: string
  purpose: string
  segmentIds: string[]
}

/** Enabled destinations that sync audiences, with their purpose and synced segments. */
export async function syncingDestinations(
  tx: Queryable,
  workspaceId: string,
  deliveries: GovernDeliveries,
): Promise<SyncingDestination[]> {
  const r = await tx.query<{ id: string; type: string; actions: unknown; purpose: string | null }>(
    `SELECT id, type, actions, purpose FROM destinations
     WHERE workspace_id = $1 AND enabled AND actions ? 'syncAudience'`,
    [workspaceId],
  )
  const out: SyncingDestination[] = []
  for (const d of r.rows) {
    // An unknown type (or nothing delivering): no audience to keep in step. An instance's own
    // purpose comes before its type's.
    const typeFacts = deliveries.destinationType(d.type)
    if (typeFacts === undefined) continue
    const purpose = d.purpose ?? typeFacts.purpose
    const sync = (d.actions as { syncAudience?: { segmentIds?: string[] } }).syncAudience
    if (sync?.segmentIds?.length) out.push({ id: d.id, purpose, segmentIds: sync.segmentIds })
  }
  return out
}

/**
 * Revocation removes the profile from the audiences of the destinations of that purpose; a new
 * grant re-adds it to those it is a member of. Only flips of the decision count: a denial of a
 * purpose that was already not allowed (unknown under a `deny` default) sends nothing.
 */
async function enqueueAudienceChanges(
  tx: Queryable,
  workspaceId: string,
  transitions: readonly ConsentTransition[],
  settings: ConsentSettings,
  now: Date,
  deliveries: GovernDeliveries,
): Promise<number> {
  const flips = transitions.flatMap((t) => {
    const before = allowed(
      t.before === undefined ? {} : { [t.purpose]: { status: t.before } },
      t.purpose,
      settings,
    )
    const after = allowed({ [t.purpose]: { status: t.after } }, t.purpose, settings)
    return before === after
      ? []
      : [{ ...t, action: after ? ('add' as const) : ('remove' as const) }]
  })
  if (flips.length === 0) return 0
  const dests = (await syncingDestinations(tx, workspaceId, deliveries)).filter((d) =>
    flips.some((f) => f.purpose === d.purpose),
  )
  if (dests.length === 0) return 0
  const members = await tx.query<{ profile_id: string; segment_id: string; name: string | null }>(
    `SELECT m.profile_id, m.segment_id, s.name FROM segment_members m
     LEFT JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
     WHERE m.workspace_id = $1 AND m.profile_id = ANY($2::text[]) AND m.segment_id = ANY($3::text[])`,
    [
      workspaceId,
      [...new Set(flips.map((f) => f.profileId))],
      [...new Set(dests.flatMap((d) => d.segmentIds))],
    ],
  )
  const changes: ConsentAudienceChange[] = []
  for (const f of flips) {
    for (const d of dests) {
      if (d.purpose !== f.purpose) continue
      for (const m of members.rows) {
        if (m.profile_id !== f.profileId || !d.segmentIds.includes(m.segment_id)) continue
        changes.push({
          workspaceId,
          destinationId: d.id,
          profileId: f.profileId,
          action: f.action,
          segment: { id: m.segment_id, name: m.name },
          idempotencyKey: `consent:${f.profileId}:${f.purpose}:${f.at}:${f.action}:${m.segment_id}`,
        })
      }
    }
  }
  return deliveries.enqueueAudienceChanges(tx, changes, now)
}
