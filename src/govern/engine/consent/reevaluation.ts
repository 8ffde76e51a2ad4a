/**
 * @module engine/consent/reevaluation
 * Audience changes owed by a consent settings change. Changing the default for profiles that never
 * answered (`unknown`, `unknownByPurpose`) flips `allowed` for every such profile at once: each
 * of them must leave (or rejoin) the audiences of the destinations of that purpose, exactly as a
 * revocation (or grant) of one profile does in `applyConsent`.
 *
 * Durable job, not the settings transaction: a workspace may have millions of members in synced
 * audiences, and queueing all their jobs inside the `PUT` would hold one transaction (and, on
 * PGlite, the only connection, so every batch of the processor) for as long as that takes. The
 * `PUT` instead inserts one `consent_reevaluations` row in the transaction that writes the
 * settings: the change and the work it owes commit together or not at all. The worker (roles
 * `all` and `dispatcher`) then walks the members in keyset order, `chunkSize` at a time; each
 * chunk's jobs and the advanced cursor commit in one transaction, so a crash loses nothing and
 * re-queues nothing (idempotency keys `consent-settings:<id>:…` would absorb a repeat anyway).
 * Re-evaluations of one workspace run in order: a later change (grant back) starts only after
 * the earlier one (revocation) has queued all its jobs, so the vendor sees them in order.
 *
 * The consent state and membership are read when each chunk runs, not when the settings changed:
 * a profile that has answered since is left alone (its own decision queued what it needed).
 */
import type { Logger } from 'pino'
import { defaultFlips, type ConsentSettings, type DefaultFlip } from '../../core/privacy/index.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import { pollingLoop } from '../../../platform/jobs/loops.js'
import { createLeasedQueue } from '../../../platform/jobs/leased-queue.js'
import type { ConsentAudienceChange, GovernDeliveries } from '../delivery-port.js'
import { syncingDestinations } from './apply.js'

export interface QueuedReevaluation {
  id: string
  flips: DefaultFlip[]
}

/**
 * In the settings write's transaction: records the re-evaluation a change from `before` to
 * `after` needs, if any destination syncing audiences has a purpose whose default flipped.
 * Returns undefined (and writes nothing) for a change that moves nobody.
 */
export async function queueSettingsReevaluation(
  tx: Queryable,
  change: {
    workspaceId: string
    before: ConsentSettings
    after: ConsentSettings
    actor: string | null
    now: Date
  },
  deliveries: GovernDeliveries,
): Promise<QueuedReevaluation | undefined> {
  const dests = await syncingDestinations(tx, change.workspaceId, deliveries)
  const flips = defaultFlips(
    change.before,
    change.after,
    dests.map((d) => d.purpose),
  )
  if (flips.length === 0) return undefined
  const r = await tx.query<{ id: string | number }>(
    `INSERT INTO consent_reevaluations (workspace_id, flips, status, actor, created_at, updated_at)
     VALUES ($1, $2, 'pending', $3, $4, $4) RETURNING id`,
    [change.workspaceId, JSON.stringify(flips), change.actor, change.now.toISOString()],
  )
  return { id: String(r.rows[0]?.id), flips }
}

export interface ConsentReevaluatorOptions {
  db: Db
  logger: Logger
  clock: () => Date
  /** Queues the audience changes (activate's implementation, or `noDeliveries`). */
  deliveries: GovernDeliveries
  /** Segment members per transaction. Default 1,000. */
  chunkSize?: number
  /** Poll for re-evaluations queued by other nodes. Default 1 s. */
  pollIntervalMs?: number
}

export interface ConsentReevaluator {
  start(): void
  stop(): Promise<void>
  wake(): void
  /** Runs one chunk of the oldest runnable re-evaluation; false when there was none. */
  runChunk(): Promise<boolean>
  /** Runs chunks until nothing is left (tests). */
  runOnce(): Promise<number>
}

interface ReevaluationRow {
  workspace_id: string
  id: string
  flips: DefaultFlip[]
  cursor_segment: string | null
  cursor_profile: string | null
}

/**
 * Re-evaluations on the shared queue, without a lease: a chunk is one transaction, so the row
 * lock is the lease (another worker skips the row; a crash rolls back and releases it). Only the
 * oldest pending re-evaluation of a workspace is claimable: a later change (grant back) starts
 * only after the earlier one (revocation) has queued all its jobs. No dead letter: a failing
 * chunk rolls back and is tried again.
 */
const reevaluations = createLeasedQueue<ReevaluationRow, { workspaceId: string; id: string }>({
  table: 'consent_reevaluations',
  key: {
    columns: [
      { name: 'workspace_id', type: 'text' },
      { name: 'id', type: 'bigint' },
    ],
    values: (k) => [k.workspaceId, k.id],
  },
  state: { column: 'status', ready: ['pending'], claimed: 'pending', retry: 'pending' },
  updatedAt: 'updated_at',
  finishedAt: 'finished_at',
  claimable: `NOT EXISTS (SELECT 1 FROM consent_reevaluations e
    WHERE e.workspace_id = q.workspace_id AND e.status = 'pending' AND e.id < q.id)`,
  order: 'id',
  decode: (r) => ({
    workspace_id: String(r.workspace_id),
    id: String(r.id),
    flips: r.flips as DefaultFlip[],
    cursor_segment: (r.cursor_segment as string | null) ?? null,
    cursor_profile: (r.cursor_profile as string | null) ?? null,
  }),
})

export function createConsentReevaluator(options: ConsentReevaluatorOptions): ConsentReevaluator {
  const { db, clock, logger, deliveries } = options
  const chunkSize = options.chunkSize ?? 1_000

  async function chunk(tx: Queryable): Promise<boolean> {
    // The oldest pending re-evaluation of a workspace whose earlier ones are all done. Its row
    // stays locked for the chunk: another worker skips it, and a crash simply releases it.
    const at = clock()
    const [job] = await reevaluations.claimLocked(tx, { now: at.getTime() })
    if (!job) return false
    const ws = job.workspace_id
    const now = at.toISOString()
    const action = new Map(job.flips.map((f) => [f.purpose, f.action]))
    // Destinations as they are now: one disabled or unsynced since owes nothing.
    const dests = (await syncingDestinations(tx, ws, deliveries)).filter((d) =>
      action.has(d.purpose),
    )
    const segmentIds = [...new Set(dests.flatMap((d) => d.segmentIds))]
    const members =
      segmentIds.length === 0
        ? []
        : (
            await tx.query<{
              segment_id: string
              profile_id: string
              name: string | null
              decided: string[]
            }>(
              // Keyset order of the primary key; `decided`: the flipped purposes the member has
              // answered explicitly (settings do not move those).
              `SELECT m.segment_id, m.profile_id, s.name,
                 ARRAY(SELECT c.purpose FROM profile_consents c
                       WHERE c.workspace_id = m.workspace_id AND c.profile_id = m.profile_id
                         AND c.purpose = ANY($5::text[])) AS decided
               FROM segment_members m
               LEFT JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
               WHERE m.workspace_id = $1 AND m.segment_id = ANY($2::text[])
                 AND (m.segment_id, m.profile_id) > ($3::text, $4::text)
               ORDER BY m.segment_id, m.profile_id LIMIT $6`,
              [
                ws,
                segmentIds,
                job.cursor_segment ?? '',
                job.cursor_profile ?? '',
                [...action.keys()],
                chunkSize,
              ],
            )
          ).rows
    const changes: ConsentAudienceChange[] = []
    for (const m of members) {
      for (const d of dests) {
        const act = action.get(d.purpose)
        if (act === undefined || !d.segmentIds.includes(m.segment_id)) continue
        if (m.decided.includes(d.purpose)) continue
        changes.push({
          workspaceId: ws,
          destinationId: d.id,
          profileId: m.profile_id,
          action: act,
          segment: { id: m.segment_id, name: m.name },
          idempotencyKey: `consent-settings:${job.id}:${m.profile_id}:${d.purpose}:${act}:${m.segment_id}`,
        })
      }
    }
    const queued = await deliveries.enqueueAudienceChanges(tx, changes, at)
    const last = members[members.length - 1]
    const done = members.length < chunkSize
    await tx.query(
      `UPDATE consent_reevaluations SET
         cursor_segment = $3, cursor_profile = $4,
         members_seen = members_seen + $5, jobs_queued = jobs_queued + $6, updated_at = $7
       WHERE workspace_id = $1 AND id = $2`,
      [
        ws,
        job.id,
        done ? null : (last?.segment_id ?? null),
        done ? null : (last?.profile_id ?? null),
        members.length,
        queued,
        now,
      ],
    )
    if (done)
      await reevaluations.settle(
        tx,
        [{ key: { workspaceId: ws, id: job.id }, kind: 'finished', state: 'completed' }],
        at.getTime(),
      )
    return true
  }

  const runChunk = () => db.transaction(chunk)

  async function runOnce(): Promise<number> {
    let n = 0
    while (await runChunk()) n++
    return n
  }

  const loop = pollingLoop(runChunk, {
    intervalMs: options.pollIntervalMs ?? 1_000,
    onError: (err) => logger.error({ err }, 'consent re-evaluation failed; will retry'),
    errorDelayMs: () => 1_000,
  })

  return { start: loop.start, stop: loop.stop, wake: loop.wake, runChunk, runOnce }
}
