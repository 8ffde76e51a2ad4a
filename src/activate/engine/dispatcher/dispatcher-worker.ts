/**
 * @module engine/dispatcher
 * Delivers destination jobs: claims due jobs (`FOR UPDATE SKIP LOCKED`), one worker per
 * destination instance (so a slow or failing destination never delays the others), builds the
 * transform's inputs (profile snapshots read at send time, consent checked), runs the pure
 * transform on every attempt, executes the effects, classifies the answers and records every
 * attempt in the delivery log. Retries with exponential backoff and jitter (or `Retry-After`),
 * bisects rejected batches, rate-limits with a token bucket per destination, dead-letters jobs
 * past the retry budget and marks persistently failing destinations `degraded`.
 *
 * It also consumes the `outbox` (segment.entered / segment.exited) into audience jobs.
 */
import path from 'node:path'
import type { Logger } from 'pino'
import { Counter, Histogram, type Registry } from 'prom-client'
import { pollingLoop } from '../../platform/jobs/loops.js'
import {
  decryptSettings,
  getDestination,
  groupEffects,
  redactEffectForLog,
  runTransform,
  secretStrings,
  type AnyDestination,
  type DestinationEvent,
  type DestinationInput,
  type Effect,
  type ProfileSnapshot,
} from '../core/index.js'
import {
  allowed,
  type ConsentSettings,
  type ConsentStatus,
} from '../../govern/core/privacy/index.js'
import { strictOutboundPolicy, type OutboundPolicy } from '../core/outbound-policy.js'
import type { Db, Queryable } from '../../platform/store/db.js'
import { loadConsentSettings } from '../../govern/engine/consent/consent-settings-repository.js'
import {
  createOutboundGuard,
  createPgPool,
  executeGroup,
  refusedCodes,
  type FetchLike,
  type GroupResult,
  type SqlPoolLike,
} from './executors/index.js'
import { destinationsRepository, type DestinationRow } from './destinations-repository.js'
import { TokenBucket } from '../../platform/jobs/token-bucket.js'

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
  /** Attempts before a job is dead-lettered. Default 8. */
  maxAttempts?: number
  /** Age after which a failing job is dead-lettered. Default 24 h. */
  maxAgeMs?: number
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

interface ClaimedJob {
  id: string
  workspaceId: string
  kind: DestinationInput['kind']
  profileId: string | null
  input: Record<string, unknown>
  attempts: number
  createdAt: number
}

type Outcome =
  | { kind: 'success' }
  | { kind: 'skip'; message: string }
  | { kind: 'retry'; message: string; retryAfterMs?: number }
  | { kind: 'fail'; message: string }

interface LogRow {
  job_ids: string[]
  attempt: number
  status: string
  request: Record<string, unknown>
  response_status: number | null
  response_excerpt: string | null
  latency_ms: number | null
  error: string | null
  at: string
}

const OUTBOX_CONSUMER = 'dispatcher-outbox'

export interface DispatcherMetrics {
  requests: Counter<'destination_type' | 'outcome'>
  requestDuration: Histogram<'destination_type'>
  jobs: Counter<'destination_type' | 'outcome'>
}

const metricsByRegistry = new WeakMap<Registry, DispatcherMetrics>()

/** Dispatcher metrics, registered once per registry. */
export function dispatcherMetrics(registry: Registry): DispatcherMetrics {
  let m = metricsByRegistry.get(registry)
  if (!m) {
    m = {
      requests: new Counter({
        name: 'kindred_delivery_requests_total',
        help: 'Requests (or SQL statements, files) sent to destinations, by outcome',
        labelNames: ['destination_type', 'outcome'] as const,
        registers: [registry],
      }),
      requestDuration: new Histogram({
        name: 'kindred_delivery_request_duration_seconds',
        help: 'Latency of destination requests',
        labelNames: ['destination_type'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
      jobs: new Counter({
        name: 'kindred_delivery_jobs_total',
        help: 'Delivery jobs settled, by outcome (succeeded, skipped, retried, dead)',
        labelNames: ['destination_type', 'outcome'] as const,
        registers: [registry],
      }),
    }
    metricsByRegistry.set(registry, m)
  }
  return m
}

const toMs = (v: unknown): number =>
  v instanceof Date ? v.getTime() : new Date(String(v)).getTime()

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { db } = options
  const clock = options.clock ?? (() => Date.now())
  const random = options.random ?? Math.random
  const pollIntervalMs = options.pollIntervalMs ?? 150
  const baseDelayMs = options.baseDelayMs ?? 1_000
  const maxDelayMs = options.maxDelayMs ?? 600_000
  const maxAttempts = options.maxAttempts ?? 8
  const maxAgeMs = options.maxAgeMs ?? 86_400_000
  const timeoutMs = options.requestTimeoutMs ?? 10_000
  const concurrency = options.concurrencyPerDestination ?? 4
  const maxActive = options.maxActiveDestinations ?? 32
  const degradedAfter = options.degradedAfter ?? 5
  const leaseMs = options.leaseMs ?? 600_000
  const bisectEnabled = options.bisect ?? true
  const metrics = options.registry ? dispatcherMetrics(options.registry) : undefined
  const guard = createOutboundGuard(options.outbound ?? strictOutboundPolicy)
  const exportRoot = options.exportDir ?? path.join(options.dataDir ?? process.cwd(), 'exports')

  let lastLeaseSweep = 0
  const active = new Map<string, Promise<void>>()
  const buckets = new Map<string, TokenBucket>()
  const pools = new Map<string, { conn: string; pool: SqlPoolLike & { end(): Promise<void> } }>()

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

  function backoffMs(attempt: number): number {
    const d = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1))
    return Math.round(d / 2 + random() * (d / 2))
  }

  // -------------------------------------------------------------------------------------------
  // Outbox → audience jobs
  // -------------------------------------------------------------------------------------------

  async function consumeOutbox(): Promise<number> {
    return db.transaction(async (tx) => {
      // Fan-out is cheap and its order matters (an exit must follow its entry), so dispatchers
      // take turns on this row; the deliveries themselves are what scales (SKIP LOCKED jobs).
      await tx.query(
        `INSERT INTO stream_cursors (consumer, partition, position) VALUES ($1, 0, 0)
         ON CONFLICT (consumer, partition) DO NOTHING`,
        [OUTBOX_CONSUMER],
      )
      await tx.query(
        `SELECT position FROM stream_cursors WHERE consumer = $1 AND partition = 0 FOR UPDATE`,
        [OUTBOX_CONSUMER],
      )
      // Pending rows, not rows past a cursor: a row committed late with a smaller id (concurrent
      // processors) is still found by the pass after its commit.
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
      const now = new Date(clock()).toISOString()
      const jobs: Record<string, unknown>[] = []
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
            workspace_id: r.workspace_id,
            destination_id: d.id,
            kind: 'audience',
            profile_id: r.profile_id,
            input: {
              kind: 'audience',
              action,
              audience: { id: segmentId, name: segmentName, key: segmentId },
            },
            idempotency_key: `outbox:${r.id}`,
          })
        }
      }
      if (jobs.length > 0) await insertJobs(tx, jobs, now)
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

  // -------------------------------------------------------------------------------------------
  // Claiming and serving a destination
  // -------------------------------------------------------------------------------------------

  async function dueDestinations(now: number): Promise<string[]> {
    // One index probe per enabled destination (cheap however long a backlog is).
    const r = await db.query<{ destination_id: string }>(
      `SELECT d.id AS destination_id FROM destinations d
       WHERE d.enabled AND EXISTS (SELECT 1 FROM delivery_jobs j WHERE j.destination_id = d.id
         AND j.state = 'pending' AND j.next_attempt_at <= $1)
       ORDER BY d.id`,
      [new Date(now).toISOString()],
    )
    return r.rows.map((x) => x.destination_id)
  }

  async function claim(destinationId: string, limit: number): Promise<ClaimedJob[]> {
    const now = clock()
    const r = await db.query<{
      id: string | number
      workspace_id: string
      kind: DestinationInput['kind']
      profile_id: string | null
      input: Record<string, unknown>
      attempts: number
      created_at: Date | string
    }>(
      `UPDATE delivery_jobs j SET state = 'in_flight', attempts = j.attempts + 1,
         locked_until = $3, updated_at = $2
       WHERE j.id IN (
         SELECT id FROM delivery_jobs WHERE destination_id = $1 AND state = 'pending'
           AND next_attempt_at <= $2
         ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
       RETURNING j.id, j.workspace_id, j.kind, j.profile_id, j.input, j.attempts, j.created_at`,
      [destinationId, new Date(now).toISOString(), new Date(now + leaseMs).toISOString(), limit],
    )
    return r.rows
      .map((x) => ({
        id: String(x.id),
        workspaceId: x.workspace_id,
        kind: x.kind,
        profileId: x.profile_id,
        input: x.input,
        attempts: x.attempts,
        createdAt: toMs(x.created_at),
      }))
      .sort((a, b) => Number(a.id) - Number(b.id))
  }

  async function snapshots(
    workspaceId: string,
    profileIds: string[],
  ): Promise<Map<string, ProfileSnapshot>> {
    const out = new Map<string, ProfileSnapshot>()
    if (profileIds.length === 0) return out
    // Follow merges to the surviving profile (a few hops at most).
    const resolved = new Map<string, string>(profileIds.map((id) => [id, id]))
    let pending = [...new Set(profileIds)]
    const rows = new Map<string, Record<string, unknown>>()
    for (let hop = 0; hop < 5 && pending.length > 0; hop++) {
      const r = await db.query<{
        id: string
        traits: Record<string, unknown>
        merged_into: string | null
      }>(
        'SELECT id, traits, merged_into FROM profiles WHERE workspace_id = $1 AND id = ANY($2::text[])',
        [workspaceId, pending],
      )
      const next: string[] = []
      for (const row of r.rows) {
        if (row.merged_into) {
          for (const [k, v] of resolved) if (v === row.id) resolved.set(k, row.merged_into)
          next.push(row.merged_into)
        } else rows.set(row.id, row.traits)
      }
      pending = next
    }
    const live = [...rows.keys()]
    const ids = await db.query<{ profile_id: string; type: string; value: string }>(
      `SELECT profile_id, type, value FROM identities WHERE workspace_id = $1
       AND profile_id = ANY($2::text[]) ORDER BY first_seen_at, type, value`,
      [workspaceId, live],
    )
    const identities = new Map<string, { type: string; value: string }[]>()
    for (const i of ids.rows) {
      let list = identities.get(i.profile_id)
      if (!list) identities.set(i.profile_id, (list = []))
      list.push({ type: i.type, value: i.value })
    }
    for (const [asked, id] of resolved) {
      const traits = rows.get(id)
      if (traits) out.set(asked, { id, traits, identities: identities.get(id) ?? [] })
    }
    return out
  }

  /**
   * The consent state, for `purpose`, of the given live profiles and the workspace's policy
   * (settings are read per claim: a change applies at once on every dispatcher).
   */
  async function consentFor(
    workspaceId: string,
    profileIds: string[],
    purpose: string,
  ): Promise<{ state: Map<string, ConsentStatus>; settings: ConsentSettings }> {
    const settings = await loadConsentSettings(db, workspaceId)
    if (profileIds.length === 0) return { state: new Map(), settings }
    const r = await db.query<{ profile_id: string; status: ConsentStatus }>(
      `SELECT profile_id, status FROM profile_consents WHERE workspace_id = $1
       AND profile_id = ANY($2::text[]) AND purpose = $3`,
      [workspaceId, profileIds, purpose],
    )
    return { state: new Map(r.rows.map((x) => [x.profile_id, x.status])), settings }
  }

  async function serveClaim(d: DestinationRow, jobs: ClaimedJob[]): Promise<void> {
    const outcomes = new Map<string, Outcome>()
    const log: LogRow[] = []
    const attemptOf = new Map(jobs.map((j) => [j.id, j.attempts]))
    let def: AnyDestination | undefined
    try {
      def = getDestination(d.type)
    } catch (err) {
      for (const j of jobs) outcomes.set(j.id, { kind: 'fail', message: (err as Error).message })
    }
    if (def) await sendAll(d, def, jobs, outcomes, log, attemptOf)
    await settle(d, def, jobs, outcomes, log)
  }

  async function sendAll(
    d: DestinationRow,
    def: AnyDestination,
    jobs: ClaimedJob[],
    outcomes: Map<string, Outcome>,
    log: LogRow[],
    attemptOf: Map<string, number>,
  ): Promise<void> {
    let settings: Record<string, unknown>
    try {
      settings = decryptSettings(def.manifest, d.settings, options.secretKey)
    } catch (err) {
      for (const j of jobs) outcomes.set(j.id, { kind: 'retry', message: (err as Error).message })
      return
    }
    const secrets = secretStrings(def.manifest, settings)
    const profileIds = [...new Set(jobs.flatMap((j) => (j.profileId ? [j.profileId] : [])))]
    const snaps = await snapshots(d.workspaceId, profileIds)
    const purpose = def.manifest.purpose
    const consent = await consentFor(
      d.workspaceId,
      [...new Set([...snaps.values()].map((s) => s.id))],
      purpose,
    )
    const permitted = (profileId: string | undefined): boolean => {
      const status = profileId === undefined ? undefined : consent.state.get(profileId)
      return allowed(status ? { [purpose]: { status } } : {}, purpose, consent.settings)
    }
    const inputs: DestinationInput[] = []
    for (const j of jobs) {
      // A privacy deletion erased the profile before forwarding: its job carries the snapshot.
      const profile =
        j.kind === 'delete' && j.input.profile
          ? (j.input.profile as ProfileSnapshot)
          : j.profileId
            ? snaps.get(j.profileId)
            : undefined
      if (j.kind !== 'event' && !profile) {
        outcomes.set(j.id, {
          kind: 'skip',
          message: 'PROFILE_NOT_FOUND: the profile no longer exists',
        })
        continue
      }
      // Deletions, and removals caused by a revocation, must reach the vendor precisely when
      // consent is gone; everything else needs the destination's purpose allowed.
      const exempt =
        j.kind === 'delete' ||
        (j.kind === 'audience' && j.input.action === 'remove' && j.input.reason === 'consent')
      if (!exempt && !permitted(profile?.id)) {
        outcomes.set(j.id, {
          kind: 'skip',
          message: `CONSENT_DENIED: the profile has not granted consent for ${purpose}`,
        })
        continue
      }
      if (j.kind === 'event') {
        inputs.push({
          kind: 'event',
          id: j.id,
          event: j.input.event as DestinationEvent,
          profile: profile ?? null,
        })
      } else if (j.kind === 'profile') {
        inputs.push({
          kind: 'profile',
          id: j.id,
          profile: profile as ProfileSnapshot,
          changedTraits: (j.input.changedTraits as string[] | undefined) ?? [],
        })
      } else if (j.kind === 'audience') {
        const a = j.input as {
          action: 'add' | 'remove'
          audience: { id: string; name: string; key: string }
        }
        inputs.push({
          kind: 'audience',
          id: j.id,
          action: a.action,
          audience: a.audience,
          profile: profile as ProfileSnapshot,
        })
      } else {
        inputs.push({ kind: 'delete', id: j.id, profile: profile as ProfileSnapshot })
      }
    }
    const ctx = { d, def, settings, secrets, outcomes, log, attemptOf }
    await send(ctx, inputs)
  }

  interface SendCtx {
    d: DestinationRow
    def: AnyDestination
    settings: Record<string, unknown>
    secrets: string[]
    outcomes: Map<string, Outcome>
    log: LogRow[]
    attemptOf: Map<string, number>
  }

  async function send(ctx: SendCtx, inputs: DestinationInput[]): Promise<void> {
    if (inputs.length === 0) return
    const { d, def, settings, outcomes } = ctx
    let effects: Effect[]
    try {
      const result = runTransform(def, inputs, { settings, destinationId: d.id, now: clock() })
      for (const s of result.skipped)
        outcomes.set(s.itemId, { kind: 'skip', message: `${s.code}: ${s.message}` })
      effects = result.effects
    } catch (err) {
      const e = err as { code?: string; message: string }
      if (e.code === 'TEMPLATE_ERROR') {
        // The template fails on this data and would on every retry: find the items it fails
        // for (one at a time, yielding in between, since each may use a whole render budget)
        // and fail only those.
        const [only] = inputs
        if (inputs.length === 1 && only) {
          outcomes.set(only.id, { kind: 'fail', message: `${e.code}: ${e.message}` })
          return
        }
        for (const input of inputs) {
          await new Promise((resolve) => setImmediate(resolve))
          await send(ctx, [input])
        }
        return
      }
      for (const i of inputs)
        outcomes.set(i.id, {
          kind: 'retry',
          message: `${e.code ?? 'TRANSFORM_FAILED'}: ${e.message}`,
        })
      return
    }
    const groups = groupEffects(effects)
    const bucket = bucketFor(d, def)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < groups.length) {
        const group = groups[next++] as Effect[]
        await bucket.take(group.length)
        await runGroup(ctx, group, inputs)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker))
  }

  async function runGroup(
    ctx: SendCtx,
    group: Effect[],
    inputs: DestinationInput[],
  ): Promise<void> {
    const { d, def, settings, outcomes } = ctx
    const ids = [...new Set(group.flatMap((e) => e.itemIds))]
    let result: GroupResult
    try {
      result = await executeGroup(group, {
        classify: def.classifyResponse,
        timeoutMs,
        now: clock,
        fetch: options.fetch ?? guard.fetch,
        pool: (ref) => poolFor(d.id, String(settings[ref] ?? '')),
        exportRoot,
        directory: String(settings.directory ?? '.'),
      })
    } catch (err) {
      for (const id of ids) outcomes.set(id, { kind: 'retry', message: (err as Error).message })
      return
    }
    recordLog(ctx, result, ids, group)
    const c = result.classification
    if (c.outcome === 'success') {
      for (const id of ids) outcomes.set(id, { kind: 'success' })
    } else if (c.outcome === 'partial') {
      const failed = new Map(c.failed.map((f) => [f.itemId, f]))
      // A partial answer mid-chain stops the chain: the other items still need the later steps.
      const complete = result.type !== 'http' || result.steps.length === group.length
      for (const id of ids) {
        const f = failed.get(id)
        outcomes.set(
          id,
          !f
            ? complete
              ? { kind: 'success' }
              : { kind: 'retry', message: 'the chain stopped at a partial failure; sending again' }
            : f.retryable
              ? { kind: 'retry', message: f.message }
              : { kind: 'fail', message: f.message },
        )
      }
    } else if (c.outcome === 'retry') {
      for (const id of ids)
        outcomes.set(id, {
          kind: 'retry',
          message: c.message,
          ...(c.retryAfterMs === undefined ? {} : { retryAfterMs: c.retryAfterMs }),
        })
    } else if (ids.length > 1 && bisectEnabled && !wholeRequestRefused(result)) {
      // A rejected batch: split it to isolate the record the vendor refuses.
      const mine = inputs.filter((i) => ids.includes(i.id))
      const half = Math.ceil(mine.length / 2)
      await send(ctx, mine.slice(0, half))
      await send(ctx, mine.slice(half))
    } else {
      for (const id of ids) outcomes.set(id, { kind: 'fail', message: c.message })
    }
  }

  /**
   * Answers that no subset would change (credentials, redirects, an address or scheme the
   * outbound policy refuses): do not bisect those.
   */
  function wholeRequestRefused(result: GroupResult): boolean {
    if (result.type !== 'http') {
      const ex = result.execution
      return !ex.ok && (ex.error.code.startsWith('OUTBOUND_') || ex.error.code === 'UNSAFE_PATH')
    }
    const last = result.steps[result.steps.length - 1]?.execution
    if (!last) return false
    if (!last.ok) return refusedCodes.has(last.error.code)
    return [401, 403, 405, 407].includes(last.status) || (last.status >= 300 && last.status < 400)
  }

  function recordLog(ctx: SendCtx, result: GroupResult, ids: string[], group: Effect[]): void {
    const at = new Date(clock()).toISOString()
    const attempt = Math.max(...ids.map((id) => ctx.attemptOf.get(id) ?? 1))
    const status = (o: string) =>
      o === 'success' ? 'success' : o === 'fail' ? 'failed' : o === 'retry' ? 'retry' : 'partial'
    const type = ctx.d.type
    const push = (row: Omit<LogRow, 'job_ids' | 'attempt' | 'at'>) => {
      ctx.log.push({ job_ids: ids, attempt, at, ...row })
      metrics?.requests.inc({ destination_type: type, outcome: row.status })
      if (row.latency_ms !== null)
        metrics?.requestDuration.observe({ destination_type: type }, row.latency_ms / 1000)
    }
    const message = (c: { outcome: string; message?: string }) =>
      c.outcome === 'success' ? null : (c.message ?? null)
    if (result.type === 'http') {
      for (const step of result.steps) {
        if (step.skipped) continue
        const ex = step.execution
        const c = step.classification
        push({
          status: status(c.outcome),
          request: redactEffectForLog(step.effect, ctx.secrets),
          response_status: ex && ex.ok ? ex.status : null,
          response_excerpt: ex && ex.ok ? ex.bodyExcerpt : null,
          latency_ms: ex ? ex.latencyMs : null,
          error:
            c.outcome === 'partial'
              ? c.failed
                  .map((f) => `${f.itemId}: ${f.message}`)
                  .join('; ')
                  .slice(0, 2000)
              : (message(c as { outcome: string; message?: string }) ??
                (ex && !ex.ok ? ex.error.message : null)),
        })
      }
    } else {
      const ex = result.execution
      push({
        status: status(result.classification.outcome),
        request: redactEffectForLog(group[0] as Effect, ctx.secrets),
        response_status: null,
        response_excerpt: !ex.ok ? null : 'rowCount' in ex ? `${ex.rowCount} rows` : 'written',
        latency_ms: ex.latencyMs,
        error: ex.ok ? null : ex.error.message,
      })
    }
  }

  async function settle(
    d: DestinationRow,
    def: AnyDestination | undefined,
    jobs: ClaimedJob[],
    outcomes: Map<string, Outcome>,
    log: LogRow[],
  ): Promise<void> {
    const now = clock()
    const nowIso = new Date(now).toISOString()
    const type = d.type
    const updates = jobs.map((j) => {
      const o: Outcome = outcomes.get(j.id) ?? {
        kind: 'retry',
        message: 'the transform returned nothing for this item',
      }
      if (o.kind === 'success')
        return { id: j.id, state: 'succeeded', next: null, error: null, finished: nowIso }
      if (o.kind === 'skip')
        return { id: j.id, state: 'skipped', next: null, error: o.message, finished: nowIso }
      if (o.kind === 'fail')
        return { id: j.id, state: 'dead', next: null, error: o.message, finished: nowIso }
      const delay = o.retryAfterMs ?? backoffMs(j.attempts)
      const dead = j.attempts >= maxAttempts || now + delay - j.createdAt > maxAgeMs
      return dead
        ? {
            id: j.id,
            state: 'dead',
            next: null,
            error: `retry budget exhausted after ${j.attempts} attempts: ${o.message}`,
            finished: nowIso,
          }
        : {
            id: j.id,
            state: 'pending',
            next: new Date(now + delay).toISOString(),
            error: o.message,
            finished: null,
          }
    })
    const successes = log.filter((l) => l.status === 'success' || l.status === 'partial').length
    const failures = log.filter((l) => l.status === 'retry' || l.status === 'failed').length
    const lastError = [...log].reverse().find((l) => l.error)?.error ?? null
    await db.transaction(async (tx) => {
      await tx.query(
        `UPDATE delivery_jobs j SET state = x.state,
           next_attempt_at = coalesce(x.next, j.next_attempt_at), last_error = x.error,
           finished_at = x.finished, locked_until = NULL, updated_at = $2
         FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, state text, next timestamptz,
           error text, finished timestamptz)
         WHERE j.id = x.id`,
        [JSON.stringify(updates), nowIso],
      )
      if (log.length > 0) {
        await tx.query(
          `INSERT INTO delivery_attempts (workspace_id, destination_id, job_ids, attempt, status,
             request, response_status, response_excerpt, latency_ms, error, at)
           SELECT $2, $3, ARRAY(SELECT jsonb_array_elements_text(x.job_ids))::bigint[], x.attempt,
             x.status, x.request, x.response_status, x.response_excerpt, x.latency_ms, x.error, x.at
           FROM jsonb_to_recordset($1::jsonb) AS x(job_ids jsonb, attempt int, status text,
             request jsonb, response_status int, response_excerpt text, latency_ms float8,
             error text, at timestamptz)`,
          [JSON.stringify(log), d.workspaceId, d.id],
        )
      }
      if (successes > 0) {
        await tx.query(
          `UPDATE destinations SET consecutive_failures = 0, status = 'healthy',
             last_success_at = $3 WHERE workspace_id = $1 AND id = $2`,
          [d.workspaceId, d.id, nowIso],
        )
      } else if (failures > 0) {
        await tx.query(
          `UPDATE destinations SET consecutive_failures = consecutive_failures + $3,
             status = CASE WHEN consecutive_failures + $3 >= $4 THEN 'degraded' ELSE status END,
             last_failure_at = $5, last_error = $6
           WHERE workspace_id = $1 AND id = $2`,
          [d.workspaceId, d.id, failures, degradedAfter, nowIso, lastError],
        )
      }
    })
    if (metrics && def) {
      for (const u of updates) {
        const outcome = u.state === 'pending' ? 'retried' : u.state
        metrics.jobs.inc({ destination_type: type, outcome })
      }
    }
  }

  async function serveDestination(destinationId: string): Promise<void> {
    // A bounded number of claims per turn, so that with more busy destinations than worker
    // slots the others get their turn at the next tick.
    for (let round = 0; round < 20; round++) {
      const d = await destinationsRepository.getById(db, destinationId)
      if (!d || !d.enabled) return
      let limit = 100
      try {
        limit = getDestination(d.type).manifest.maxBatchSize
      } catch {
        // an unknown type: serveClaim dead-letters its jobs with the reason
      }
      const jobs = await claim(destinationId, limit)
      if (jobs.length === 0) return
      await serveClaim(d, jobs)
      if (stopping) return
    }
  }

  async function sweepLeases(now: number): Promise<void> {
    if (now - lastLeaseSweep < 5_000) return
    lastLeaseSweep = now
    await db.query(
      `UPDATE delivery_jobs SET state = 'pending', locked_until = NULL
       WHERE state = 'in_flight' AND locked_until < $1`,
      [new Date(now).toISOString()],
    )
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

  async function tick(): Promise<void> {
    while ((await consumeOutbox()) > 0) {
      // fan out everything pending
    }
    const now = clock()
    await sweepLeases(now)
    for (const id of await dueDestinations(now)) spawn(id)
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
    },
    wake: loop.wake,
    runOnce,
    consumeOutbox,
  }
}

/** Insert jobs (one statement); a job whose idempotency key exists is not enqueued again. */
export async function insertJobs(
  tx: Queryable,
  jobs: Record<string, unknown>[],
  nowIso: string,
): Promise<number> {
  if (jobs.length === 0) return 0
  const r = await tx.query(
    `INSERT INTO delivery_jobs (workspace_id, destination_id, kind, profile_id, input,
       idempotency_key, next_attempt_at, created_at, updated_at)
     SELECT workspace_id, destination_id, kind, profile_id, input, idempotency_key, $2, $2, $2
     FROM jsonb_to_recordset($1::jsonb) AS x(workspace_id text, destination_id text, kind text,
       profile_id text, input jsonb, idempotency_key text)
     ON CONFLICT (destination_id, idempotency_key) DO NOTHING`,
    [JSON.stringify(jobs), nowIso],
  )
  return r.rowCount
}
