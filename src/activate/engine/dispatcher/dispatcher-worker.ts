/**
 * The dispatcher: one worker per destination instance (so a slow or failing destination never
 * delays the others), each claiming up to the manifest's `maxBatchSize` due jobs on the leased
 * queue (deletions first), building their inputs, sending them, and settling the claim with its
 * delivery log and the destination's health in one transaction. Also fans the outbox out into
 * audience jobs, and sweeps the leases of dispatchers that died.
 *
 * The rules (outcome → next state, backoff with jitter or `Retry-After`, the dead-letter budget,
 * configuration errors, bisection, health) are pure, in core/delivery-policy.ts; this file holds
 * the loop, the per-destination token buckets and SQL pools, and the order of the steps.
 */
import path from 'node:path'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { pollingLoop } from '../../../platform/jobs/loops.js'
import { exponentialBackoff } from '../../../platform/jobs/retry-policy.js'
import { TokenBucket } from '../../../platform/jobs/token-bucket.js'
import type { Db } from '../../../platform/store/db.js'
import {
  decryptSettings,
  getDestination,
  secretStrings,
  type AnyDestination,
} from '../../core/index.js'
import {
  DEFAULT_MAX_QUOTA_AGE_MS,
  configFailure,
  healthChange,
  isConfigError,
  budgetFor,
  nextJobState,
  type DeliveryBudget,
  type DeliveryOutcome,
} from '../../core/delivery-policy.js'
import { strictOutboundPolicy, type OutboundPolicy } from '../../../protocol/outbound-policy.js'
import { queueDeliveryAlert } from './delivery-alerts.js'
import {
  createOutboundGuard,
  createPgPool,
  createStreamPublishers,
  type FetchLike,
  type SqlPoolLike,
} from '../executors/index.js'
import { destinationsRepository, type DestinationRow } from '../destinations-repository.js'
import { deliveryJobsRepository, type ClaimedDeliveryJob } from './delivery-jobs-repository.js'
import { buildDeliveryInputs } from './delivery-inputs.js'
import { dispatcherMetrics, insertDeliveryLog, type LogRow } from './delivery-log.js'
import { sendInputs, type SendContext, type SendDeps } from './delivery-send.js'
import { consumeOutbox } from './outbox-fanout.js'

export interface DispatcherOptions {
  db: Db
  secretKey: Uint8Array
  logger?: Logger
  registry?: Registry
  /** Epoch ms. */
  clock?: () => number
  /** In [0, 1): the jitter source. */
  random?: () => number
  /** Data dir: the export root defaults to `<dataDir>/exports`. */
  dataDir?: string
  /** Root that every file-export `directory` resolves inside (KINDRED_EXPORT_DIR). */
  exportDir?: string
  /** Which non-public addresses destinations may reach (default: none). */
  outbound?: OutboundPolicy
  /** Replaces the guarded fetch (tests only: it bypasses the outbound policy). */
  fetch?: FetchLike
  /** Fallback poll (other processes enqueue too). Default 150 ms. */
  pollIntervalMs?: number
  /** First retry delay before jitter; doubles per attempt. Default 1,000 ms. */
  baseDelayMs?: number
  /** Cap of one backoff delay. Default 10 minutes. */
  maxDelayMs?: number
  /** Attempts before a job is dead-lettered. Default none: the time budget decides (`maxAgeMs`, or the destination's `retryHours`). */
  maxAttempts?: number
  /** Age after which a failing job is dead-lettered. Default 24 h. */
  maxAgeMs?: number
  /** Age after which even a job waiting for a vendor's quota is dead-lettered. Default 7 days. */
  maxQuotaAgeMs?: number
  /** Per-request timeout. Default 10 s. */
  requestTimeoutMs?: number
  /** Execution units (requests, chains) in flight at once per destination. Default 4. */
  concurrencyPerDestination?: number
  /** Destinations served at once by this process. Default 32. */
  maxActiveDestinations?: number
  /** Consecutive failed requests before a destination is marked degraded. Default 5. */
  degradedAfter?: number
  /** How long a claimed job stays leased before another dispatcher may take it. Default 10 min. */
  leaseMs?: number
  /** Bisect rejected batches to isolate the bad record. Default true. */
  bisect?: boolean
}

export interface Dispatcher {
  start(): void
  stop(): Promise<void>
  /** Look for work now (after the processor enqueued jobs, after a replay). */
  wake(): void
  /** One pass: outbox fan-out, then every due destination served until it has nothing due. */
  runOnce(): Promise<void>
  /** Outbox rows → audience jobs; returns the rows consumed. */
  consumeOutbox(): Promise<number>
}

/** A destination row that no longer parses (hand-edited, or written by an older version). */
type Loaded =
  | { kind: 'ok'; d: DestinationRow }
  | { kind: 'gone' }
  | { kind: 'invalid'; workspaceId: string; type: string; detail: string }

/** How long a failing delivery is retried when neither the destination nor the operator says. */
export const DEFAULT_RETRY_HOURS = 24

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { db } = options
  const clock = options.clock ?? (() => Date.now())
  const pollIntervalMs = options.pollIntervalMs ?? 150
  const budget: DeliveryBudget = {
    // A time budget, not a count (Segment retries for hours, not 8 times in two minutes): with
    // backoff capped at `maxDelayMs` a receiver down for an afternoon gets everything once back.
    maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_RETRY_HOURS * 3_600_000,
    maxQuotaAgeMs: options.maxQuotaAgeMs ?? DEFAULT_MAX_QUOTA_AGE_MS,
    backoffMs: exponentialBackoff({
      baseMs: options.baseDelayMs ?? 1_000,
      maxMs: options.maxDelayMs ?? 600_000,
      jitter: 'equal',
      random: options.random ?? Math.random,
    }),
  }
  const maxActive = options.maxActiveDestinations ?? 32
  const degradedAfter = options.degradedAfter ?? 5
  const leaseMs = options.leaseMs ?? 600_000
  const metrics = options.registry ? dispatcherMetrics(options.registry) : undefined
  const guard = createOutboundGuard(options.outbound ?? strictOutboundPolicy)
  const exportRoot = options.exportDir ?? path.join(options.dataDir ?? process.cwd(), 'exports')

  let lastLeaseSweep = 0
  const active = new Map<string, Promise<void>>()
  const buckets = new Map<string, TokenBucket>()
  // Destination id → epoch ms until which its vendor's quota is exhausted: no claims until then
  // (jobs enqueued meanwhile would only be refused; they wait in the queue, attempts unused).
  const quotaUntil = new Map<string, number>()
  const pools = new Map<string, { conn: string; pool: SqlPoolLike & { end(): Promise<void> } }>()
  // One broker connection per stream destination, reused across claims (not one per message).
  const streams = createStreamPublishers({ guard })

  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

  function bucketFor(d: DestinationRow, def: AnyDestination): TokenBucket {
    const rate = d.rateLimit ?? def.manifest.rateLimit
    let b = buckets.get(d.id)
    if (!b) {
      b = new TokenBucket(rate, Math.max(1, rate), clock, sleep)
      buckets.set(d.id, b)
    } else if (b.rate !== rate) {
      b.rate = rate
      b.burst = Math.max(1, rate)
    }
    return b
  }

  function poolFor(destinationId: string, conn: string): SqlPoolLike {
    const hit = pools.get(destinationId)
    if (hit && hit.conn === conn) return hit.pool
    if (hit) void hit.pool.end().catch(() => undefined)
    const pool = createPgPool(conn, { guard })
    pools.set(destinationId, { conn, pool })
    return pool
  }

  function sendDeps(d: DestinationRow, def: AnyDestination): SendDeps {
    return {
      clock,
      timeoutMs: options.requestTimeoutMs ?? 10_000,
      concurrency: options.concurrencyPerDestination ?? 4,
      bisect: options.bisect ?? true,
      fetch: options.fetch ?? guard.fetch,
      pool: poolFor,
      exportRoot,
      streams,
      bucket: bucketFor(d, def),
      ...(metrics ? { metrics } : {}),
    }
  }

  async function load(destinationId: string): Promise<Loaded> {
    try {
      const d = await destinationsRepository.getById(db, destinationId)
      return d ? { kind: 'ok', d } : { kind: 'gone' }
    } catch (err) {
      if ((err as Error).name !== 'ZodError') throw err
      const r = await db.query<{ workspace_id: string; type: string }>(
        'SELECT workspace_id, type FROM destinations WHERE id = $1',
        [destinationId],
      )
      const row = r.rows[0]
      if (!row) return { kind: 'gone' }
      return {
        kind: 'invalid',
        workspaceId: row.workspace_id,
        type: row.type,
        detail: `the stored actions do not parse: ${(err as Error).message.slice(0, 500)}`,
      }
    }
  }

  /** Builds the inputs and sends them; the outcomes and the log land in `ctx`. */
  async function sendClaim(
    d: DestinationRow,
    def: AnyDestination,
    jobs: ClaimedDeliveryJob[],
    outcomes: Map<string, DeliveryOutcome>,
  ): Promise<{ log: LogRow[]; configError?: string }> {
    let settings: Record<string, unknown>
    try {
      settings = decryptSettings(def.manifest, d.settings, options.secretKey)
    } catch (err) {
      const e = err as { code?: string; message: string }
      const code = e.code ?? 'SECRET_DECRYPT_FAILED'
      const failure: DeliveryOutcome = isConfigError(code)
        ? configFailure(code, e.message)
        : { kind: 'retry', message: e.message }
      for (const j of jobs) outcomes.set(j.id, failure)
      return failure.kind === 'fail'
        ? { log: [], configError: `${code}: ${e.message}` }
        : { log: [] }
    }
    // The instance's own consent purpose when it chose one (a webhook feeding a marketing tool).
    const built = await buildDeliveryInputs(
      db,
      d.workspaceId,
      d.purpose ?? def.manifest.purpose,
      jobs,
    )
    for (const [id, o] of built.skipped) outcomes.set(id, o)
    const ctx: SendContext = {
      d,
      def,
      settings,
      secrets: secretStrings(def.manifest, settings),
      outcomes,
      log: [],
      attemptOf: new Map(jobs.map((j) => [j.id, j.attempts])),
    }
    await sendInputs(sendDeps(d, def), ctx, built.inputs)
    if (ctx.quotaUntil !== undefined) quotaUntil.set(d.id, ctx.quotaUntil)
    return ctx.configError === undefined
      ? { log: ctx.log }
      : { log: ctx.log, configError: ctx.configError }
  }

  async function settle(
    d: {
      workspaceId: string
      id: string
      type: string
      retryHours?: number | null
      name?: string
      status?: 'healthy' | 'degraded'
    },
    jobs: ClaimedDeliveryJob[],
    outcomes: Map<string, DeliveryOutcome>,
    log: LogRow[],
    configError?: string,
  ): Promise<void> {
    const now = clock()
    const nowIso = new Date(now).toISOString()
    const destinationBudget = budgetFor(budget, d)
    const transitions = jobs.map((j) => ({
      id: j.id,
      next: nextJobState(outcomes.get(j.id), j, destinationBudget, now),
    }))
    const health = healthChange(log, configError)
    let newStatus: string | undefined
    let alerted = false
    await db.transaction(async (tx) => {
      await deliveryJobsRepository.settle(tx, transitions, now)
      await insertDeliveryLog(tx, d, log)
      if (health.kind === 'healthy') {
        await tx.query(
          `UPDATE destinations SET consecutive_failures = 0, status = 'healthy',
             last_success_at = $3 WHERE workspace_id = $1 AND id = $2`,
          [d.workspaceId, d.id, nowIso],
        )
      } else if (health.kind === 'failed') {
        const r = await tx.query<{ status: string }>(
          `UPDATE destinations SET consecutive_failures = consecutive_failures + $3,
             status = CASE WHEN consecutive_failures + $3 >= $4 THEN 'degraded' ELSE status END,
             last_failure_at = $5, last_error = $6
           WHERE workspace_id = $1 AND id = $2 RETURNING status`,
          [d.workspaceId, d.id, health.failures, degradedAfter, nowIso, health.lastError],
        )
        newStatus = r.rows[0]?.status
      } else if (health.kind === 'misconfigured') {
        await tx.query(
          `UPDATE destinations SET status = 'degraded', last_failure_at = $3, last_error = $4
           WHERE workspace_id = $1 AND id = $2`,
          [d.workspaceId, d.id, nowIso, health.error],
        )
        newStatus = 'degraded'
      }
      // The workspace's alert channel hears of dead letters and of a destination turning bad.
      const deadLetters = transitions.filter((t) => t.next.kind === 'dead').length
      const lastError =
        health.kind === 'failed'
          ? health.lastError
          : health.kind === 'misconfigured'
            ? health.error
            : null
      const alert = {
        workspaceId: d.workspaceId,
        destination: d,
        deadLetters,
        lastError,
        now: new Date(now),
      }
      if (deadLetters > 0 && (await queueDeliveryAlert(tx, { ...alert, kind: 'dead_letters' })))
        alerted = true
      if (
        d.status === 'healthy' &&
        newStatus === 'degraded' &&
        (await queueDeliveryAlert(tx, { ...alert, kind: 'degraded' }))
      )
        alerted = true
    })
    // The alert destination's job is due now: the next pass (this loop's, after this claim) sends it.
    if (alerted) setTimeout(() => loop.wake(), 0)
    if (metrics) {
      for (const t of transitions) {
        const outcome =
          t.next.kind === 'retry' ? 'retried' : t.next.kind === 'dead' ? 'dead' : t.next.state
        metrics.jobs.inc({ destination_type: d.type, outcome })
      }
    }
  }

  async function serveDestination(destinationId: string): Promise<void> {
    // A bounded number of claims per turn, so that with more busy destinations than worker
    // slots the others get their turn at the next tick.
    for (let round = 0; round < 20; round++) {
      const loaded = await load(destinationId)
      if (loaded.kind === 'gone') return
      if (loaded.kind === 'invalid') {
        const jobs = await deliveryJobsRepository.claim(db, destinationId, {
          now: clock(),
          leaseMs,
          limit: 1_000,
        })
        if (jobs.length === 0) return
        const failure = configFailure('INVALID_CONFIG', loaded.detail)
        const outcomes = new Map(jobs.map((j) => [j.id, failure]))
        const d = { workspaceId: loaded.workspaceId, id: destinationId, type: loaded.type }
        await settle(d, jobs, outcomes, [], `INVALID_CONFIG: ${loaded.detail}`)
        continue
      }
      const d = loaded.d
      if (!d.enabled) return
      if ((quotaUntil.get(d.id) ?? 0) > clock()) return
      let def: AnyDestination | undefined
      let unknown: string | undefined
      try {
        def = getDestination(d.type)
      } catch (err) {
        unknown = (err as Error).message
      }
      const jobs = await deliveryJobsRepository.claim(db, destinationId, {
        now: clock(),
        leaseMs,
        limit: def?.manifest.maxBatchSize ?? 1_000,
      })
      if (jobs.length === 0) return
      const outcomes = new Map<string, DeliveryOutcome>()
      if (!def) {
        const failure = configFailure('UNKNOWN_DESTINATION', unknown ?? d.type)
        for (const j of jobs) outcomes.set(j.id, failure)
        await settle(d, jobs, outcomes, [], `UNKNOWN_DESTINATION: ${unknown ?? d.type}`)
      } else {
        const sent = await sendClaim(d, def, jobs, outcomes)
        await settle(d, jobs, outcomes, sent.log, sent.configError)
      }
      if (stopping) return
    }
  }

  async function sweepLeases(now: number): Promise<void> {
    if (now - lastLeaseSweep < 5_000) return
    lastLeaseSweep = now
    await deliveryJobsRepository.sweep(db, now)
  }

  function spawn(destinationId: string): void {
    if (active.has(destinationId) || active.size >= maxActive) return
    const p = serveDestination(destinationId)
      .catch((err: unknown) =>
        options.logger?.error({ err, destinationId }, 'dispatcher: destination worker failed'),
      )
      .finally(() => {
        active.delete(destinationId)
        // It may have more due (or others may be waiting for a slot): look again soon.
        loop.wake()
      })
    active.set(destinationId, p)
  }

  const fanOut = () => consumeOutbox(db, clock)

  async function tick(): Promise<void> {
    while ((await fanOut()) > 0) {
      // fan out everything pending
    }
    const now = clock()
    await sweepLeases(now)
    for (const id of await deliveryJobsRepository.dueDestinations(db, now))
      if ((quotaUntil.get(id) ?? 0) <= now) spawn(id)
  }

  async function runOnce(): Promise<void> {
    await tick()
    while (active.size > 0) {
      await Promise.all([...active.values()])
      await tick()
    }
  }

  // Set by stop(): destination workers finish their current claim and take no more.
  let stopping = false
  const loop = pollingLoop(tick, {
    intervalMs: pollIntervalMs,
    onError: (err) => options.logger?.error({ err }, 'dispatcher tick failed; will retry'),
  })

  return {
    start() {
      stopping = false
      loop.start()
    },
    async stop() {
      stopping = true
      await loop.stop()
      await Promise.all([...active.values()])
      for (const { pool } of pools.values()) await pool.end().catch(() => undefined)
      pools.clear()
      await streams.close()
    },
    wake: loop.wake,
    runOnce,
    consumeOutbox: fanOut,
  }
}
