/**
 * One mapped row → the event the event log gets, or why not: the size limit, `normalizeEvent`
 * (as for live events), PII protection (ADR 0003), an identifier the workspace's rules know
 * (identity's own extraction, on the event as it will be stored) and what the store can hold.
 * Shared by file imports and database syncs, so a row is accepted on the same terms whichever
 * way it came.
 * @module
 */
import type { FieldIssue } from '../../../protocol/errors.js'
import { normalizeEvent, type KindredEvent } from '../../../protocol/event-schema.js'
import { serializeEvent } from '../../../protocol/serialize-event.js'
import { MAX_EVENT_BYTES } from '../../../protocol/limits.js'
import type { Db } from '../../../platform/store/db.js'
import { piiPolicyForSource } from '../../../govern/index.js'
import { protectEvent } from '../../../govern/core/index.js'
import { createIdentitySettingsCache } from '../../../unify/index.js'
import { extractIdentifiers } from '../../../unify/core/index.js'
import { sourcesRepository } from '../../../platform/store/repositories/sources-repository.js'
import { rowIdentityIssues } from '../../core/import-identity.js'

export type RowEventResult = { ok: true; event: KindredEvent } | { ok: false; issues: FieldIssue[] }

export interface RowEventChecker {
  check(raw: Record<string, unknown>, messageId: string): RowEventResult
  /** The identifiers the processor will read from an accepted event (normalised). */
  identifiers(event: KindredEvent): Array<{ type: string; value: string }>
}

/**
 * The checker of a run, with the source's PII policy and the identity rules as they are now (no
 * cache): what it accepts resolves to a profile in the processor.
 */
export async function rowEventChecker(
  db: Db,
  workspaceId: string,
  sourceId: string,
  receivedAt: Date,
): Promise<RowEventChecker> {
  const source = await sourcesRepository.get(db, workspaceId, sourceId)
  const pii = source ? await piiPolicyForSource(db, source) : undefined
  const identity = await createIdentitySettingsCache(() => 0, 0).get(db, workspaceId)
  return {
    check(raw, messageId) {
      raw.messageId = messageId
      const size = Buffer.byteLength(JSON.stringify(raw))
      if (size > MAX_EVENT_BYTES) {
        return {
          ok: false,
          issues: [
            {
              path: '',
              code: 'event_too_large',
              message: `event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`,
            },
          ],
        }
      }
      const n = normalizeEvent(raw, undefined, {
        receivedAt,
        newMessageId: () => messageId,
        correctSkew: false,
        requireUserOrAnonymousId: false,
      })
      if (!n.ok) return { ok: false, issues: n.issues }
      const event = pii ? protectEvent(n.event, pii) : n.event
      const unidentified = rowIdentityIssues(event, identity.compiled)
      if (unidentified.length > 0) return { ok: false, issues: unidentified }
      const serialized = serializeEvent(event)
      if (!serialized.ok) return { ok: false, issues: serialized.issues }
      return { ok: true, event }
    },
    identifiers(event) {
      return extractIdentifiers(event, identity.compiled).identifiers
    },
  }
}
