/**
 * What the consent API reads of a profile (tables profile_consents and consent_history, migration
 * 0420): the profile it names (merges followed by the caller), the stored decision per purpose,
 * where each came from, and the recent history. The route merges these with the workspace's
 * settings into the answer; this file only reads. Each read takes a Queryable that may be the
 * transaction of a decision just recorded, so the answer shows it.
 */
import type { Queryable } from '../../../platform/store/db.js'
import type { ConsentSource } from '../../core/privacy/consent-policy.js'
import type { ConsentStatus } from '../../core/privacy/consent-settings.js'

const iso = (v: Date | string) => new Date(v).toISOString()

/** The profile a consent route names; `mergedInto` set when it was merged into another. */
export interface ConsentProfile {
  id: string
  mergedInto: string | null
}

export async function findConsentProfile(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<ConsentProfile | undefined> {
  const r = await q.query<{ id: string; merged_into: string | null }>(
    'SELECT id, merged_into FROM profiles WHERE workspace_id = $1 AND id = $2',
    [workspaceId, id],
  )
  const row = r.rows[0]
  return row ? { id: row.id, mergedInto: row.merged_into } : undefined
}

/** A purpose the profile has answered, as stored. */
export interface StoredConsent {
  purpose: string
  status: 'granted' | 'denied'
  updatedAt: string
}

/** Where a purpose's current status came from: its latest decision of that status. */
export interface ConsentOrigin {
  purpose: string
  status: ConsentStatus
  source: ConsentSource
  sourceId: string | null
  proof: string
}

export interface ConsentHistoryEntry {
  id: string
  purpose: string
  /** The table's CHECK constraints (migration 0420) hold both to these values. */
  status: ConsentStatus
  source: ConsentSource
  sourceId: string | null
  proof: string
  details: Record<string, unknown>
  occurredAt: string
  recordedAt: string
}

export interface ConsentRecords {
  current: StoredConsent[]
  sources: ConsentOrigin[]
  /** Newest first. */
  history: ConsentHistoryEntry[]
}

export async function readConsentRecords(
  q: Queryable,
  workspaceId: string,
  profileId: string,
  history: { purpose?: string | undefined; limit: number },
): Promise<ConsentRecords> {
  // Sequential: q may be a transaction.
  const state = await q.query<{
    purpose: string
    status: ConsentStatus
    updated_at: Date | string
  }>(
    'SELECT purpose, status, updated_at FROM profile_consents WHERE workspace_id = $1 AND profile_id = $2',
    [workspaceId, profileId],
  )
  const latest = await q.query<{
    purpose: string
    status: ConsentStatus
    source: ConsentSource
    source_id: string | null
    proof: string
  }>(
    `SELECT DISTINCT ON (h.purpose) h.purpose, h.status, h.source, h.source_id, h.proof
       FROM consent_history h JOIN profile_consents c ON c.workspace_id = h.workspace_id
         AND c.profile_id = h.profile_id AND c.purpose = h.purpose AND c.status = h.status
         AND h.occurred_at <= c.updated_at
       WHERE h.workspace_id = $1 AND h.profile_id = $2
       ORDER BY h.purpose, h.occurred_at DESC, h.id DESC`,
    [workspaceId, profileId],
  )
  const entries = await q.query<{
    id: string | number
    purpose: string
    status: ConsentStatus
    source: ConsentSource
    source_id: string | null
    proof: string
    details: Record<string, unknown>
    occurred_at: Date | string
    recorded_at: Date | string
  }>(
    `SELECT id, purpose, status, source, source_id, proof, details, occurred_at, recorded_at
       FROM consent_history WHERE workspace_id = $1 AND profile_id = $2
         AND ($3::text IS NULL OR purpose = $3)
       ORDER BY occurred_at DESC, id DESC LIMIT $4`,
    [workspaceId, profileId, history.purpose ?? null, history.limit],
  )
  return {
    current: state.rows.map((r) => ({
      purpose: r.purpose,
      status: r.status,
      updatedAt: iso(r.updated_at),
    })),
    sources: latest.rows.map((r) => ({
      purpose: r.purpose,
      status: r.status,
      source: r.source,
      sourceId: r.source_id,
      proof: r.proof,
    })),
    history: entries.rows.map((h) => ({
      id: String(h.id),
      purpose: h.purpose,
      status: h.status,
      source: h.source,
      sourceId: h.source_id,
      proof: h.proof,
      details: h.details,
      occurredAt: iso(h.occurred_at),
      recordedAt: iso(h.recorded_at),
    })),
  }
}
