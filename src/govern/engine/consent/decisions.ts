/**
 * Consent decisions made through the API (or an import): the same `applyConsent` as the
 * processor stage, then what the processor's later stages would do for them, in the caller's
 * transaction, through the profile hooks: segments with consent conditions are re-evaluated for
 * the profile (membership changes reach the outbox, hence the destinations).
 */
import type { ConsentObservation, ConsentStatus } from '../../core/privacy/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import type { ProfileHooks } from '../../../platform/module-contract.js'
import type { GovernDeliveries } from '../delivery-port.js'
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
  deliveries: GovernDeliveries,
  hooks: readonly ProfileHooks[] = [],
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
  const result = await applyConsent(tx, d.workspaceId, observations, settings, d.at, deliveries)
  if (result.transitions.length > 0) {
    const purposes = new Set(result.transitions.map((t) => t.purpose))
    for (const h of hooks)
      await h.afterConsentChange?.(tx, d.workspaceId, d.profileId, purposes, d.at)
  }
  return result
}
