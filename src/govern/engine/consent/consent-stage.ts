/**
 * The consent processor stage: runs in the batch transaction after the events are stored and
 * before segments (so that segments with consent conditions see the new state in the same
 * batch). Per workspace: one settings read, then `applyConsent` (set-based).
 */
import {
  carriesConsent,
  extractConsent,
  type ConsentObservation,
} from '../../core/privacy/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import { groupByWorkspace, type ProcessorStage } from '../../../platform/pipeline/processor.js'
import type { GovernDeliveries } from '../delivery-port.js'
import { applyConsent } from './apply.js'
import { loadConsentSettings } from './consent-settings-repository.js'

export interface ConsentStageStats {
  workspaceId: string
  observations: number
  recorded: number
  changed: number
  audienceJobs: number
}

/** A client clock ahead of ours must not date a decision in the future (it would win forever). */
export function occurredAt(event: { timestamp: string; receivedAt: string }): number {
  const t = Date.parse(event.timestamp)
  const r = Date.parse(event.receivedAt)
  return Number.isFinite(t) ? Math.min(t, r) : r
}

export function createConsentStage(
  clock: () => Date,
  deliveries: GovernDeliveries,
  onStats?: (s: ConsentStageStats) => void,
): ProcessorStage {
  return async (tx, batch) => {
    const now = clock()
    const carrying = batch.filter((e) => e.profileId !== null && carriesConsent(e.event))
    for (const [workspaceId, events] of groupByWorkspace(carrying)) {
      const settings = await loadConsentSettings(tx, workspaceId)
      const live = await liveIds(
        tx,
        workspaceId,
        events.map((e) => e.profileId as string),
      )
      const observations: ConsentObservation[] = []
      for (const e of events) {
        const profileId = live.get(e.profileId as string) ?? (e.profileId as string)
        for (const [purpose, status] of extractConsent(e.event, settings)) {
          observations.push({
            profileId,
            purpose,
            status,
            source: 'event',
            sourceId: e.sourceId,
            proof: e.event.messageId,
            occurredAt: occurredAt(e.event),
          })
        }
      }
      if (observations.length === 0) continue
      const r = await applyConsent(tx, workspaceId, observations, settings, now, deliveries)
      onStats?.({
        workspaceId,
        observations: observations.length,
        recorded: r.recorded,
        changed: r.transitions.length,
        audienceJobs: r.audienceJobs,
      })
    }
  }
}

/** An event resolved before a later event of the batch merged its profile belongs to the survivor. */
async function liveIds(
  tx: Queryable,
  workspaceId: string,
  ids: string[],
): Promise<Map<string, string>> {
  const r = await tx.query<{ id: string; merged_into: string | null }>(
    'SELECT id, merged_into FROM profiles WHERE workspace_id = $1 AND id = ANY($2::text[]) AND merged_into IS NOT NULL',
    [workspaceId, [...new Set(ids)]],
  )
  return new Map(r.rows.map((x) => [x.id, x.merged_into as string]))
}
