/**
 * The background half of syncs: a scheduler pass that queues a run for each model whose schedule
 * is due (one at a time per model: the queue refuses a second while one is not over), and a
 * worker that claims runs from the leased queue, runs them, and settles each: succeeded; retried
 * with exponential backoff when the source failed in a way that may pass (unreachable, timeout);
 * failed with the reason otherwise, or once the retry budget is spent. A worker that dies leaves
 * its run leased; the sweep returns it to the queue and the next attempt resumes at the
 * checkpoint.
 * @module
 */
import type { Logger } from 'pino'
import { newId } from '../../../platform/store/ids.js'
import { pollingLoop, type PollingLoop } from '../../../platform/jobs/loops.js'
import { exponentialBackoff, retryOrDead } from '../../../platform/jobs/retry-policy.js'
import { nextRunAt } from '../../core/sync-schedule.js'
import { SyncSourceError } from './source-readers.js'
import { RunLostError, runSync, type SyncRunDeps } from './sync-runner.js'
import { syncRunQueue, syncsRepository as repo, type RunRecord } from './syncs-repository.js'

export const SYNC_RETRY_BUDGET = { maxAttempts: 5 }
const backoff = exponentialBackoff({ baseMs: 30_000, maxMs: 30 * 60_000, jitter: 'none' })

export function newRunId(): string {
  return `srun_${newId('source').slice(4)}`
}

/** Queues a run of a model now; undefined when one is already queued or running. */
export async function queueRun(
  deps: Pick<SyncRunDeps, 'db' | 'clock'>,
  workspaceId: string,
  modelId: string,
  trigger: string,
): Promise<RunRecord | undefined> {
  return repo.enqueueRun(deps.db, { workspaceId, id: newRunId(), modelId, trigger }, deps.clock())
}

/** Queues the due models' runs and moves their schedules on; returns how many were queued. */
export async function schedulePass(deps: Pick<SyncRunDeps, 'db' | 'clock'>): Promise<number> {
  const now = deps.clock()
  let queued = 0
  for (const m of await repo.dueModels(deps.db, now)) {
    if (await queueRun(deps, m.workspaceId, m.id, 'schedule')) queued++
    await repo.setNextRun(deps.db, m.workspaceId, m.id, nextRunAt(m.schedule, now))
  }
  return queued
}

/** Claims one run and takes it to a settlement; false when none was due. */
export async function workPass(deps: SyncRunDeps, logger?: Logger): Promise<boolean> {
  const leaseMs = deps.leaseMs ?? 300_000
  const now = deps.clock().getTime()
  await syncRunQueue.sweep(deps.db, now)
  const [run] = await syncRunQueue.claim(deps.db, { now, leaseMs, limit: 1 })
  if (!run) return false
  const key = { workspaceId: run.workspaceId, id: run.id }
  try {
    await runSync(deps, run)
    await syncRunQueue.settle(
      deps.db,
      [{ key, kind: 'finished', state: 'succeeded' }],
      deps.clock().getTime(),
    )
  } catch (err) {
    // Another attempt holds the run now: it settles it, not this one.
    if (err instanceof RunLostError) return true
    const message = err instanceof Error ? err.message : String(err)
    const transient = err instanceof SyncSourceError && err.transient
    const at = deps.clock().getTime()
    const decision = transient
      ? retryOrDead(SYNC_RETRY_BUDGET, backoff, { attempts: run.attempts }, at)
      : ({ kind: 'dead', reason: '' } as const)
    logger?.warn({ runId: run.id, modelId: run.modelId, err: message }, 'sync run failed')
    await syncRunQueue.settle(
      deps.db,
      [
        decision.kind === 'retry'
          ? { key, kind: 'retry', runAt: decision.runAt, error: message }
          : {
              key,
              kind: 'dead',
              error: decision.reason ? `${message} (${decision.reason})` : message,
            },
      ],
      at,
    )
  }
  return true
}

export interface SyncWorker {
  start(): void
  /** Work on a queued run now rather than at the next poll. */
  wake(): void
  stop(): Promise<void>
}

export function createSyncWorker(
  deps: SyncRunDeps,
  options: { logger: Logger; pollMs?: number },
): SyncWorker {
  const loop: PollingLoop = pollingLoop(
    async () => {
      await schedulePass(deps)
      return workPass(deps, options.logger)
    },
    {
      intervalMs: options.pollMs ?? 5_000,
      onError: (err) => options.logger.error({ err }, 'sync worker pass failed'),
      errorDelayMs: () => 5_000,
    },
  )
  return { start: () => loop.start(), wake: () => loop.wake(), stop: () => loop.stop() }
}
