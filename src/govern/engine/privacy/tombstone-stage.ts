/**
 * @module engine/privacy/tombstone-stage
 * The processor's half of "a deleted person does not come back". Ingest drops events of
 * tombstoned identifiers, but events accepted before the tombstone reached every node (or still
 * waiting in the event log) are applied later and would recreate the person. This stage runs
 * last in the batch transaction: for events carrying a tombstoned identifier it erases what the
 * batch just wrote, before anything commits or reaches a destination (their delivery jobs and
 * outbox rows go in the same transaction).
 *
 * A profile whose every identifier is tombstoned is the deleted person: erased whole. A profile
 * that also holds other identifiers (the event linked the person to someone else) keeps those:
 * only the tombstoned identifiers and the events that carried them are removed.
 */
import type { Queryable } from '../../../platform/store/db.js'
import { groupByWorkspace, type ProcessorStage } from '../../../platform/pipeline/processor.js'
import { clusterIdentities, erasePerson, profileCluster } from './erase.js'
import type { SuppressionMatcher } from './suppression-cache.js'

export function createTombstoneStage(
  matcher: SuppressionMatcher,
  clock: () => number,
): ProcessorStage {
  return async (tx: Queryable, batch) => {
    for (const [workspaceId, events] of groupByWorkspace(batch)) {
      const { indexes, isTombstoned } = await matcher.tombstoned(
        workspaceId,
        events.map((e) => e.event),
        clock,
        tx,
      )
      if (indexes.length === 0) continue
      const hit = indexes.map((i) => events[i]).filter((e) => e !== undefined)
      const rules = await matcher.rules(workspaceId, tx)
      const partial: { sourceId: string; messageId: string }[] = []
      const whole = new Set<string>()
      for (const profileId of new Set(hit.flatMap((e) => (e.profileId ? [e.profileId] : [])))) {
        const cluster = await profileCluster(tx, workspaceId, profileId)
        const identities = await clusterIdentities(tx, workspaceId, cluster)
        if (identities.every(isTombstoned)) {
          if (whole.has(profileId)) continue
          cluster.forEach((p) => whole.add(p))
          await erasePerson(tx, { workspaceId, profileIds: cluster, identities }, rules)
        } else {
          const gone = identities.filter(isTombstoned)
          await tx.query(
            `DELETE FROM identities i USING unnest($2::text[], $3::text[]) AS x(type, value)
             WHERE i.workspace_id = $1 AND i.type = x.type AND i.value = x.value`,
            [workspaceId, gone.map((i) => i.type), gone.map((i) => i.value)],
          )
        }
      }
      for (const e of hit) {
        if (!e.profileId || !whole.has(e.profileId))
          partial.push({ sourceId: e.sourceId, messageId: e.event.messageId })
      }
      if (partial.length > 0) {
        await tx.query(
          `DELETE FROM events e USING unnest($2::text[], $3::text[]) AS x(source_id, message_id)
           WHERE e.workspace_id = $1 AND e.source_id = x.source_id AND e.message_id = x.message_id`,
          [workspaceId, partial.map((p) => p.sourceId), partial.map((p) => p.messageId)],
        )
      }
    }
  }
}
