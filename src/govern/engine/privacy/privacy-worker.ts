/**
 * @module engine/privacy/privacy-worker
 * Runs privacy requests in the background. A request is a list of idempotent steps
 * (src/govern/core/privacy/privacy-request.ts `stepsFor`, one file each in `steps/`); each step's
 * work and its receipt commit in one transaction, so a crash re-runs at most the step that was
 * interrupted. Requests are claimed on the shared leased queue (`FOR UPDATE SKIP LOCKED` and a
 * lease): pending requests, and running ones whose worker died (lease expired), are picked up by
 * whichever worker polls next, after a restart too. A failing step is retried with backoff and
 * fails the request once its attempts are spent.
 *
 * Audit: every status change goes through `recordLifecycle` (one place for the audit call).
 */
import type { Logger } from 'pino'
import { nextStep } from '../../core/privacy/privacy-request.js'
import type { SuppressionKey } from '../../core/privacy/suppression.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import type { GovernDeliveries } from '../delivery-port.js'
import type { EventLogWriter } from '../../../platform/stream/event-log.js'
import { pollingLoop } from '../../../platform/jobs/loops.js'
import { createLeasedQueue } from '../../../platform/jobs/leased-queue.js'
import { exponentialBackoff, retryOrDead } from '../../../platform/jobs/retry-policy.js'
import { auditRepository } from '../../../platform/store/repositories/audit-repository.js'
import type { ErasureSubject } from './erase.js'
import { eraseOutsideStore, vacuumTables, type OutsideStoreErasure } from './outside-store.js'
import type { PrivacyRequestRow } from './requests.js'
import { suppressionMatcher } from './suppression-cache.js'
import { stepRunners } from './steps/step-registry.js'
import type { FinishPatch, StepDeps, StepResult } from './steps/step-runner.js'

export interface PrivacyWorkerOptions {
  db: Db
  logger: Logger
  /** Epoch ms. */
  clock: () => number
  newId: (prefix: string) => string
  /** Keys the hashes of suppressions and tombstones (derived from the instance secret). */
  suppressionKey: SuppressionKey
  /** Forwards deletions to destinations (activate's implementation, or `noDeliveries`). */
  deliveries: GovernDeliveries
  /** Poll for due requests (other nodes create them too). Default 500 ms. */
  pollIntervalMs?: number
  /** How long a claimed request stays leased. Default 30 s. */
  leaseMs?: number
  /** How long a completed deletion's tombstone keeps blocking the identifiers. Default 10 min. */
  tombstoneGraceMs?: number
  /** Attempts of a failing step before the request fails. Default 5. */
  maxAttempts?: number
  /** New delivery jobs were enqueued (destination deletions). */
  onEnqueued?: () => void
  /** The event log, whose own storage (segment files) a deletion rewrites when it can. */
  eventLog?: EventLogWriter
}

/** Tables a deletion's scrub step changes (vacuumed afterwards along with the erased ones). */
const SCRUBBED_TABLES = ['delivery_jobs', 'delivery_attempts', 'privacy_requests']

export interface PrivacyWorker {
  start(): void
  stop(): Promise<void>
  wake(): void
  /** Runs due requests until none is due (tests). */
  runOnce(): Promise<number>
}

type RequestKey = { workspaceId: string; id: string }
const keyOf = (row: PrivacyRequestRow): RequestKey => ({
  workspaceId: row.workspace_id,
  id: row.id,
})

/**
 * Requests on the shared queue. `running` is both the claimed state and the state a released or
 * retried request stays in (it has started); the lease alone says whether a worker holds it.
 * Attempts count failed tries, not claims: a request waiting on destinations is claimed often.
 */
const requests = createLeasedQueue<PrivacyRequestRow, RequestKey>({
  table: 'privacy_requests',
  key: {
    columns: [
      { name: 'workspace_id', type: 'text' },
      { name: 'id', type: 'text' },
    ],
    values: (k) => [k.workspaceId, k.id],
  },
  state: {
    column: 'status',
    ready: ['pending', 'running'],
    claimed: 'running',
    retry: 'running',
    dead: 'failed',
  },
  due: 'next_run_at',
  leasedUntil: 'locked_until',
  attempts: { column: 'attempts', countedOn: 'failure' },
  error: 'error',
  updatedAt: 'updated_at',
  finishedAt: 'finished_at',
  onClaim: 'started_at = coalesce(t.started_at, $now)',
  order: 'next_run_at, created_at',
  decode: (r) => r as unknown as PrivacyRequestRow,
})

/**
 * The one place a request's lifecycle is recorded in the audit log (append-only), inside the
 * transaction that changes the request, so the log never disagrees with the request row. Creation
 * is audited by the HTTP layer's hook with the caller; status changes made by the worker are the
 * system's.
 */
export async function recordLifecycle(
  tx: Queryable,
  event: {
    workspaceId: string
    requestId: string
    actor: string | null
    action: 'privacy_request.created' | 'privacy_request.status_changed'
    before: string | null
    after: string
  },
  at: Date = new Date(),
): Promise<void> {
  await auditRepository.append(tx, {
    workspaceId: event.workspaceId,
    at,
    actorKind: event.action === 'privacy_request.created' && event.actor ? 'key' : 'system',
    actorId: event.action === 'privacy_request.created' ? event.actor : null,
    actorLabel: null,
    action: event.action,
    targetType: 'privacy_request',
    targetId: event.requestId,
    outcome: event.after === 'failed' ? 'failure' : 'success',
    status: null,
    before: event.before === null ? null : { status: event.before },
    after: { status: event.after },
    requestId: null,
    ip: null,
    method: null,
    path: null,
  })
}

export function createPrivacyWorker(options: PrivacyWorkerOptions): PrivacyWorker {
  const { db, clock, logger } = options
  const pollIntervalMs = options.pollIntervalMs ?? 500
  const leaseMs = options.leaseMs ?? 30_000
  const budget = { maxAttempts: options.maxAttempts ?? 5 }
  // 2 s after the first failure, doubling: 2, 4, 8, 16 s within the default five attempts.
  const backoff = exponentialBackoff({ baseMs: 2_000, maxMs: Infinity, jitter: 'none' })
  const matcher = suppressionMatcher(db, options.suppressionKey)

  /** Ends a request, in the caller's transaction; `dead`: it failed after its attempts. */
  async function finish(
    tx: Queryable,
    row: PrivacyRequestRow,
    patch: FinishPatch,
    dead = false,
  ): Promise<void> {
    const now = clock()
    await requests.settle(
      tx,
      [
        dead
          ? { key: keyOf(row), kind: 'dead', error: patch.error ?? 'failed' }
          : { key: keyOf(row), kind: 'finished', state: patch.status, error: patch.error },
      ],
      now,
    )
    if (patch.subject)
      await tx.query(
        'UPDATE privacy_requests SET subject = $3::jsonb WHERE workspace_id = $1 AND id = $2',
        [row.workspace_id, row.id, JSON.stringify(patch.subject)],
      )
    await recordLifecycle(
      tx,
      {
        workspaceId: row.workspace_id,
        requestId: row.id,
        actor: row.actor,
        action: 'privacy_request.status_changed',
        before: row.status,
        after: patch.status,
      },
      new Date(now),
    )
    row.status = patch.status
  }

  const deps: StepDeps = {
    clock,
    newId: options.newId,
    suppressionKey: options.suppressionKey,
    matcher,
    deliveries: options.deliveries,
    tombstoneGraceMs: options.tombstoneGraceMs ?? 10 * 60_000,
    ...(options.onEnqueued ? { onEnqueued: options.onEnqueued } : {}),
    finish: (tx, row, patch) => finish(tx, row, patch),
  }

  async function eraseFiles(row: PrivacyRequestRow): Promise<OutsideStoreErasure> {
    const subject: ErasureSubject = {
      workspaceId: row.workspace_id,
      profileIds: row.subject.profileIds ?? [],
      identities: row.subject.identities ?? [],
    }
    const rules = await matcher.rules(row.workspace_id)
    return eraseOutsideStore({ db, eventLog: options.eventLog }, subject, rules)
  }

  /** Tables the erase step's receipt counted rows in. */
  function erasedTables(row: PrivacyRequestRow): string[] {
    const receipt = row.steps.find((s) => s.step === 'erase')
    const rows = (receipt?.details as { rows?: Record<string, number> } | undefined)?.rows ?? {}
    return Object.keys(rows)
  }

  async function runRequest(row: PrivacyRequestRow): Promise<void> {
    for (;;) {
      const step = nextStep(row.type, row.steps)
      if (step === undefined) {
        if (row.status !== 'completed' && row.status !== 'failed') {
          await db.transaction((tx) => finish(tx, row, { status: 'completed', error: null }))
        }
        return
      }
      let outsideDone: OutsideStoreErasure | undefined
      if (row.type === 'deletion' && step === 'scrub') {
        // Files first, outside the transaction; the receipt commits after them, so a crash
        // before it runs this (idempotent) pass again.
        const done = await eraseFiles(row)
        if (done.eventLog && done.eventLog.deferred > 0) {
          // Records still waiting for the processor hold the person with others' events that do
          // not fit once cut: look again when the processor has applied them.
          await requests.release(db, [keyOf(row)], clock(), clock() + 1_000)
          return
        }
        outsideDone = done
      }
      const stepDeps = outsideDone ? { ...deps, outsideDone } : deps
      const result: StepResult = await db.transaction(async (tx) =>
        stepRunners[step](tx, row, stepDeps),
      )
      if (row.type === 'deletion' && step === 'erase') {
        // At once, rather than after forwarding (which may wait long for a destination); the
        // scrub step repeats it, so a crash here leaves nothing behind for good.
        await eraseFiles(row).catch((err: unknown) =>
          logger.warn(
            { err, requestId: row.id },
            'privacy deletion: file erasure failed; retried at scrub',
          ),
        )
        await vacuumTables(db, erasedTables(row), logger)
      }
      if (row.type === 'deletion' && step === 'scrub') {
        await vacuumTables(db, SCRUBBED_TABLES, logger)
      }
      if (result.kind === 'wait') {
        await requests.release(db, [keyOf(row)], clock())
        return
      }
      // A step that scheduled its successor later (suppress → erase) releases the request.
      const due = await db.query<{ next_run_at: Date | string }>(
        'SELECT next_run_at FROM privacy_requests WHERE workspace_id = $1 AND id = $2',
        [row.workspace_id, row.id],
      )
      const next = due.rows[0]?.next_run_at
      if (next !== undefined && new Date(next).getTime() > clock()) {
        await requests.release(db, [keyOf(row)], clock())
        if (step === 'suppress') await matcher.invalidate()
        return
      }
      if (step === 'suppress') await matcher.invalidate()
    }
  }

  async function runOnce(): Promise<number> {
    let n = 0
    for (;;) {
      const [row] = await requests.claim(db, { now: clock(), leaseMs })
      if (!row) return n
      n++
      try {
        await runRequest(row)
      } catch (err) {
        const attempts = row.attempts + 1
        logger.error({ err, requestId: row.id }, 'privacy request step failed')
        const message = (err as Error).message.slice(0, 500)
        const now = clock()
        const decision = retryOrDead(budget, backoff, { attempts }, now)
        if (decision.kind === 'dead') {
          await db.transaction((tx) =>
            finish(
              tx,
              row,
              { status: 'failed', error: `${message} (after ${attempts} attempts)` },
              true,
            ),
          )
        } else {
          await requests.settle(
            db,
            [{ key: keyOf(row), kind: 'retry', runAt: decision.runAt, error: message }],
            now,
          )
        }
      }
    }
  }

  const loop = pollingLoop(runOnce, {
    intervalMs: pollIntervalMs,
    onError: (err) => logger.error({ err }, 'privacy worker pass failed; will retry'),
  })

  return {
    start: loop.start,
    async stop() {
      await loop.stop()
      await matcher.flush().catch(() => undefined)
    },
    wake: loop.wake,
    runOnce,
  }
}
