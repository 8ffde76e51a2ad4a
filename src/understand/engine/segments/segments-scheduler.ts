/**
 * The segments scheduler: what changes with the clock alone.
 *
 * Every tick, per workspace, in one transaction (guarded by an advisory lock so that one
 * scheduler works at a time across nodes):
 * 1. windowed computed traits whose values are due (`expires_at <= now`) move to `now` with
 *    `expire` (no events read), and the segments reading them are re-evaluated for those profiles;
 * 2. time-dependent segments (and the segments that reference them) are re-evaluated in batch
 *    by SQL over the whole workspace: people leave "performed X in the last 7 days" as time passes;
 * 3. segment sizes are sampled into segment_size_history.
 */
import type { Logger } from 'pino'
import { intervalTask } from '../../../platform/jobs/loops.js'
import type { Db } from '../../../platform/store/db.js'
import { expireComputedTraits } from './computed-traits.js'
import { loadComputedTraits, loadSegments, withDependents } from './definitions.js'
import { evaluateSegmentBatch, recordSizes } from './membership.js'
import { emptyChange, reevaluate, type Change } from './reevaluate.js'

export interface TickResult {
  workspaces: number
  computedTraitsExpired: number
  segmentsEvaluated: number
  entered: number
  exited: number
  skipped: boolean
}

export interface SegmentScheduler {
  /** One pass at `now` (tests call it directly with a chosen clock). */
  tick(now?: Date): Promise<TickResult>
  start(): void
  stop(): Promise<void>
}

const LOCK_KEY = 4242101
/**
 * The embedded store has no autovacuum: refresh the planner statistics segments rely on, and mark
 * the pages of the append-only events table all-visible so event conditions run as index-only
 * scans of `events_name_time` (0600). Both passes only visit what changed since the last one.
 */
const ANALYZE_EVERY_MS = 10 * 60_000

export function createSegmentScheduler(options: {
  db: Db
  clock: () => Date
  logger?: Logger
  intervalMs?: number
}): SegmentScheduler {
  const { db, clock } = options
  const intervalMs = options.intervalMs ?? 30_000
  let analyzedAt = 0

  async function tick(now: Date = clock()): Promise<TickResult> {
    const result: TickResult = {
      workspaces: 0,
      computedTraitsExpired: 0,
      segmentsEvaluated: 0,
      entered: 0,
      exited: 0,
      skipped: false,
    }
    const ws = await db.query<{ workspace_id: string }>(
      `SELECT workspace_id FROM segments UNION SELECT workspace_id FROM computed_traits`,
    )
    for (const { workspace_id: workspaceId } of ws.rows) {
      await db.transaction(async (tx) => {
        const lock = await tx.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_xact_lock($1::int, hashtext($2::text)) AS ok',
          [LOCK_KEY, workspaceId],
        )
        if (lock.rows[0]?.ok !== true) {
          result.skipped = true
          return
        }
        result.workspaces++
        const segments = await loadSegments(tx, workspaceId, { activeOnly: true })
        const traits = await loadComputedTraits(tx, workspaceId, { activeOnly: true })
        const expired = await expireComputedTraits(tx, workspaceId, traits, now)
        const changes = new Map<string, Change>()
        for (const [pid, ids] of expired) {
          const c = emptyChange()
          for (const id of ids) c.computedTraits.add(id)
          changes.set(pid, c)
          result.computedTraitsExpired += ids.size
        }
        // Segments reached by neither clock nor batch first (they never reference a batch one:
        // batch holds every dependent of a time-dependent segment), for the expired profiles;
        // then the time-dependent ones and their dependents in batch over the whole workspace.
        const batch = withDependents(
          segments,
          segments.filter((s) => s.timeDependent).map((s) => s.id),
        )
        const batchIds = new Set(batch.map((s) => s.id))
        const rest = segments.filter((s) => !batchIds.has(s.id))
        const r = await reevaluate(tx, workspaceId, rest, changes, now)
        result.entered += r.entered
        result.exited += r.exited
        for (const seg of batch) {
          const d = await evaluateSegmentBatch(tx, workspaceId, seg, now)
          result.segmentsEvaluated++
          result.entered += d.entered.length
          result.exited += d.exited.length
        }
        await recordSizes(tx, workspaceId, now)
      })
    }
    if (analyzedAt === 0 || performance.now() - analyzedAt >= ANALYZE_EVERY_MS) {
      analyzedAt = performance.now()
      await db.query('VACUUM (ANALYZE) computed_trait_values, segment_members, profiles, events')
    }
    return result
  }

  const task = intervalTask(
    async () => {
      await tick()
    },
    {
      intervalMs,
      onError: (err) => options.logger?.error({ err }, 'segments scheduler tick failed'),
    },
  )
  return { tick, start: task.start, stop: task.stop }
}
