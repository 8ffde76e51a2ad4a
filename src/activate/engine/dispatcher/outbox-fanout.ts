/**
 * Outbox → audience jobs: pending `segment.entered` / `segment.exited` rows become audience adds
 * and removals for every enabled destination syncing that segment.
 *
 * Fan-out is cheap and its order matters (an exit must follow its entry), so dispatchers take
 * turns on one cursor row; the deliveries themselves are what scales (leased jobs). Rows are
 * found by `dispatched_at IS NULL`, never past an id cursor: a row committed late with a smaller
 * id (concurrent processors) is still found by the pass after its commit.
 */
import type { Db } from '../../../platform/store/db.js'
import { deliveryJobsRepository, type NewDeliveryJob } from './delivery-jobs-repository.js'

const OUTBOX_CONSUMER = 'dispatcher-outbox'

/** Consumes up to 1,000 pending outbox rows; returns how many it consumed. */
export async function consumeOutbox(db: Db, clock: () => number): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO stream_cursors (consumer, partition, position) VALUES ($1, 0, 0)
       ON CONFLICT (consumer, partition) DO NOTHING`,
      [OUTBOX_CONSUMER],
    )
    await tx.query(
      `SELECT position FROM stream_cursors WHERE consumer = $1 AND partition = 0 FOR UPDATE`,
      [OUTBOX_CONSUMER],
    )
    const rows = await tx.query<{
      id: string | number
      workspace_id: string
      kind: string
      profile_id: string | null
      payload: Record<string, unknown>
    }>(
      `UPDATE outbox o SET dispatched_at = $1
       WHERE o.id IN (SELECT id FROM outbox WHERE dispatched_at IS NULL
         ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED)
       RETURNING o.id, o.workspace_id, o.kind, o.profile_id, o.payload`,
      [new Date(clock()).toISOString()],
    )
    rows.rows.sort((a, b) => Number(a.id) - Number(b.id))
    if (rows.rows.length === 0) return 0
    const workspaces = [...new Set(rows.rows.map((r) => r.workspace_id))]
    const dests = await tx.query<{ workspace_id: string; id: string; actions: unknown }>(
      `SELECT workspace_id, id, actions FROM destinations
       WHERE workspace_id = ANY($1::text[]) AND enabled AND actions ? 'syncAudience'`,
      [workspaces],
    )
    const jobs: NewDeliveryJob[] = []
    for (const r of rows.rows) {
      if (r.kind !== 'segment.entered' && r.kind !== 'segment.exited') continue
      if (!r.profile_id) continue
      const segmentId = String(r.payload.segmentId ?? '')
      const segmentName = String(r.payload.segmentName ?? segmentId)
      const action = r.kind === 'segment.entered' ? 'add' : 'remove'
      for (const d of dests.rows) {
        if (d.workspace_id !== r.workspace_id) continue
        const sync = (d.actions as { syncAudience?: { segmentIds?: string[]; mirror?: boolean } })
          .syncAudience
        if (!sync?.segmentIds?.includes(segmentId)) continue
        if (action === 'remove' && sync.mirror === false) continue
        jobs.push({
          workspaceId: r.workspace_id,
          destinationId: d.id,
          kind: 'audience',
          profileId: r.profile_id,
          input: {
            kind: 'audience',
            action,
            audience: { id: segmentId, name: segmentName, key: segmentId },
          },
          idempotencyKey: `outbox:${r.id}`,
        })
      }
    }
    await deliveryJobsRepository.enqueue(tx, jobs, new Date(clock()))
    const last = rows.rows[rows.rows.length - 1]
    // Kept as progress information (and for the 0500 migration of older deployments).
    await tx.query(
      `UPDATE stream_cursors SET position = GREATEST(position, $2), updated_at = now()
       WHERE consumer = $1 AND partition = 0`,
      [OUTBOX_CONSUMER, Number(last?.id)],
    )
    return rows.rows.length
  })
}
