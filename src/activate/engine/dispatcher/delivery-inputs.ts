/**
 * The transform's inputs for a claim: each job with the profile as it is now (traits and
 * identities read at send time, merges followed to the survivor), and the jobs that are not sent
 * at all (the profile is gone; the profile has not granted the destination's purpose, unless the
 * job is exempt: `consentExempt` in core/delivery-policy.ts). Consent settings are read per claim,
 * so a change applies at once on every dispatcher.
 */
import type { Queryable } from '../../../platform/store/db.js'
import type { DestinationEvent, DestinationInput, ProfileSnapshot } from '../../core/index.js'
import { consentExempt, type DeliveryOutcome } from '../../core/delivery-policy.js'
import { allowed, type ConsentSettings, type ConsentStatus } from '../../../govern/core/index.js'
import { loadConsentSettings } from '../../../govern/index.js'
import type { AudienceChange, ClaimedDeliveryJob } from './delivery-jobs-repository.js'

/** Live profiles by the id asked for (a merged-away id maps to its survivor). */
export async function profileSnapshots(
  db: Queryable,
  workspaceId: string,
  profileIds: readonly string[],
): Promise<Map<string, ProfileSnapshot>> {
  const out = new Map<string, ProfileSnapshot>()
  if (profileIds.length === 0) return out
  // Follow merges to the surviving profile (a few hops at most).
  const resolved = new Map<string, string>(profileIds.map((id) => [id, id]))
  let pending = [...new Set(profileIds)]
  const rows = new Map<string, Record<string, unknown>>()
  for (let hop = 0; hop < 5 && pending.length > 0; hop++) {
    const r = await db.query<{
      id: string
      traits: Record<string, unknown>
      merged_into: string | null
    }>(
      'SELECT id, traits, merged_into FROM profiles WHERE workspace_id = $1 AND id = ANY($2::text[])',
      [workspaceId, pending],
    )
    const next: string[] = []
    for (const row of r.rows) {
      if (row.merged_into) {
        for (const [k, v] of resolved) if (v === row.id) resolved.set(k, row.merged_into)
        next.push(row.merged_into)
      } else rows.set(row.id, row.traits)
    }
    pending = next
  }
  const live = [...rows.keys()]
  const ids = await db.query<{ profile_id: string; type: string; value: string }>(
    `SELECT profile_id, type, value FROM identities WHERE workspace_id = $1
     AND profile_id = ANY($2::text[]) ORDER BY first_seen_at, type, value`,
    [workspaceId, live],
  )
  const identities = new Map<string, { type: string; value: string }[]>()
  for (const i of ids.rows) {
    let list = identities.get(i.profile_id)
    if (!list) identities.set(i.profile_id, (list = []))
    list.push({ type: i.type, value: i.value })
  }
  for (const [asked, id] of resolved) {
    const traits = rows.get(id)
    if (traits) out.set(asked, { id, traits, identities: identities.get(id) ?? [] })
  }
  return out
}

/** The consent state, for `purpose`, of the given live profiles, and the workspace's policy. */
async function consentFor(
  db: Queryable,
  workspaceId: string,
  profileIds: string[],
  purpose: string,
): Promise<{ state: Map<string, ConsentStatus>; settings: ConsentSettings }> {
  const settings = await loadConsentSettings(db, workspaceId)
  if (profileIds.length === 0) return { state: new Map(), settings }
  const r = await db.query<{ profile_id: string; status: ConsentStatus }>(
    `SELECT profile_id, status FROM profile_consents WHERE workspace_id = $1
     AND profile_id = ANY($2::text[]) AND purpose = $3`,
    [workspaceId, profileIds, purpose],
  )
  return { state: new Map(r.rows.map((x) => [x.profile_id, x.status])), settings }
}

export interface DeliveryInputs {
  inputs: DestinationInput[]
  /** Jobs settled without sending (skipped, with the reason). */
  skipped: Map<string, DeliveryOutcome>
}

export async function buildDeliveryInputs(
  db: Queryable,
  workspaceId: string,
  purpose: string,
  jobs: readonly ClaimedDeliveryJob[],
): Promise<DeliveryInputs> {
  const skipped = new Map<string, DeliveryOutcome>()
  const profileIds = [...new Set(jobs.flatMap((j) => (j.profileId ? [j.profileId] : [])))]
  const snaps = await profileSnapshots(db, workspaceId, profileIds)
  const consent = await consentFor(
    db,
    workspaceId,
    [...new Set([...snaps.values()].map((s) => s.id))],
    purpose,
  )
  const permitted = (profileId: string | undefined): boolean => {
    const status = profileId === undefined ? undefined : consent.state.get(profileId)
    return allowed(status ? { [purpose]: { status } } : {}, purpose, consent.settings)
  }
  const inputs: DestinationInput[] = []
  for (const j of jobs) {
    // A privacy deletion erased the profile before forwarding: its job carries the snapshot.
    const profile =
      j.kind === 'delete' && j.input.profile
        ? j.input.profile
        : j.profileId
          ? snaps.get(j.profileId)
          : undefined
    if (j.kind !== 'event' && !profile) {
      skipped.set(j.id, {
        kind: 'skip',
        message: 'PROFILE_NOT_FOUND: the profile no longer exists',
      })
      continue
    }
    if (!consentExempt(j) && !permitted(profile?.id)) {
      skipped.set(j.id, {
        kind: 'skip',
        message: `CONSENT_DENIED: the profile has not granted consent for ${purpose}`,
      })
      continue
    }
    const p = profile as ProfileSnapshot
    if (j.kind === 'event') {
      inputs.push({
        kind: 'event',
        id: j.id,
        event: j.input.event as DestinationEvent,
        profile: profile ?? null,
      })
    } else if (j.kind === 'profile') {
      inputs.push({
        kind: 'profile',
        id: j.id,
        profile: p,
        changedTraits: j.input.changedTraits ?? [],
      })
    } else if (j.kind === 'audience') {
      inputs.push({
        kind: 'audience',
        id: j.id,
        action: j.input.action as AudienceChange['action'],
        audience: j.input.audience as AudienceChange['audience'],
        profile: p,
      })
    } else {
      inputs.push({ kind: 'delete', id: j.id, profile: p })
    }
  }
  return { inputs, skipped }
}
