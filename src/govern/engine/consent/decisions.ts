/**
 * Consent decisions made through the API (or an import): the same `applyConsent` as the
 * processor stage, then what the processor's later stages would do for them, in the caller's
 * transaction: segments with consent conditions are re-evaluated for the profile (membership
 * changes reach the outbox, hence the destinations).
 */
import type { ConsentObservation, ConsentStatus } from '../../core/privacy/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import { loadSegments } from '../../../understand/engine/segments/definitions.js'
import {
  emptyChange,
  reevaluate,
  type Change,
} from '../../../understand/engine/segments/reevaluate.js'
import { applyConsent, type ApplyConsentResult } from './apply.js'
import { loadConsentSettings } from './consent-settings-repository.js'

export interface ConsentDecisions {
  workspaceId: string
  profileId: string
  purposes: Record<string, ConsentStatus>
  source: 'api' | 'import'
  /** The API key (actor) id. */
  actor: string
  /** The request id. */
  proof: string
  details?: Record<string, unknown>
  at: Date
}

export async function recordConsentDecisions(
  tx: Queryable,
  d: ConsentDecisions,
): Promise<ApplyConsentResult> {
  const settings = await loadConsentSettings(tx, d.workspaceId)
  const observations: ConsentObservation[] = Object.entries(d.purposes).map(
    ([purpose, status]) => ({
      profileId: d.profileId,
      purpose,
      status,
      source: d.source,
      sourceId: d.actor,
      proof: d.proof,
      occurredAt: d.at.getTime(),
      ...(d.details === undefined ? {} : { details: d.details }),
    }),
  )
  const result = await applyConsent(tx, d.workspaceId, observations, settings, d.at)
  if (result.transitions.length > 0) {
    const change: Change = emptyChange()
    for (const t of result.transitions) change.consentPurposes.add(t.purpose)
    const segments = await loadSegments(tx, d.workspaceId, { activeOnly: true })
    if (segments.length > 0)
      await reevaluate(tx, d.workspaceId, segments, new Map([[d.profileId, change]]), d.at)
  }
  return result
}
