/**
 * Consent after a split (unmerge): decisions travel with the events that carried them, and both
 * profiles' current state is recomputed, like their traits, from their own events plus the
 * decisions recorded for them (API and import decisions stay with the original profile).
 */
import type { KindredEvent } from '../../../protocol/event-schema.js'
import { extractConsent, latestDecisions, type ConsentStatus } from '../../core/privacy/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import { loadConsentSettings } from './consent-settings-repository.js'
import { occurredAt } from './consent-stage.js'

export interface SplitConsentInput {
  workspaceId: string
  originalId: string
  newId: string
  /** Every event of the original profile before the split. */
  events: ReadonlyArray<{ sourceId: string; event: KindredEvent }>
  moved: ReadonlyArray<{ sourceId?: string | undefined; messageId: string }>
}

export async function splitConsent(tx: Queryable, input: SplitConsentInput): Promise<void> {
  const { workspaceId, originalId, newId } = input
  if (input.moved.length > 0) {
    await tx.query(
      `UPDATE consent_history h SET profile_id = $3
       FROM unnest($4::text[], $5::text[]) AS m(source_id, message_id)
       WHERE h.workspace_id = $1 AND h.profile_id = $2 AND h.source = 'event'
         AND (m.source_id = '' OR h.source_id = m.source_id) AND h.proof = m.message_id`,
      [
        workspaceId,
        originalId,
        newId,
        input.moved.map((m) => m.sourceId ?? ''),
        input.moved.map((m) => m.messageId),
      ],
    )
  }
  const settings = await loadConsentSettings(tx, workspaceId)
  // A moved entry without a source matches the message id from any source (as for traits).
  const movedKeys = new Set(input.moved.map((m) => `${m.sourceId ?? ''}\u0000${m.messageId}`))
  const isMoved = (sourceId: string, messageId: string) =>
    movedKeys.has(`${sourceId}\u0000${messageId}`) || movedKeys.has(`\u0000${messageId}`)
  type Decision = { profileId: string; purpose: string; status: ConsentStatus; occurredAt: number }
  const decisions: Decision[] = []
  for (const { sourceId, event } of input.events) {
    const profileId = isMoved(sourceId, event.messageId) ? newId : originalId
    for (const [purpose, status] of extractConsent(event, settings))
      decisions.push({ profileId, purpose, status, occurredAt: occurredAt(event) })
  }
  const recorded = await tx.query<{
    profile_id: string
    purpose: string
    status: ConsentStatus
    occurred_at: Date | string
  }>(
    `SELECT profile_id, purpose, status, occurred_at FROM consent_history
     WHERE workspace_id = $1 AND profile_id = ANY($2::text[])`,
    [workspaceId, [originalId, newId]],
  )
  for (const r of recorded.rows)
    decisions.push({
      profileId: r.profile_id,
      purpose: r.purpose,
      status: r.status,
      occurredAt: new Date(r.occurred_at).getTime(),
    })
  const rows: Array<{ profile_id: string; purpose: string; status: string; updated_at: string }> =
    []
  for (const profileId of [originalId, newId]) {
    const state = latestDecisions(decisions.filter((d) => d.profileId === profileId))
    for (const [purpose, s] of state)
      rows.push({
        profile_id: profileId,
        purpose,
        status: s.status,
        updated_at: new Date(s.updatedAt).toISOString(),
      })
  }
  await tx.query(
    'DELETE FROM profile_consents WHERE workspace_id = $1 AND profile_id = ANY($2::text[])',
    [workspaceId, [originalId, newId]],
  )
  if (rows.length > 0) {
    await tx.query(
      `INSERT INTO profile_consents (workspace_id, profile_id, purpose, status, updated_at)
       SELECT $1, x.profile_id, x.purpose, x.status, x.updated_at
       FROM jsonb_to_recordset($2::jsonb) AS x(profile_id text, purpose text, status text, updated_at timestamptz)`,
      [workspaceId, JSON.stringify(rows)],
    )
  }
}
