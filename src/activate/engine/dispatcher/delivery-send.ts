/**
 * Sending one claim's inputs: the pure transform (run on every attempt, so timestamps and
 * signatures are fresh), its effects grouped into execution units and sent through the
 * destination's token bucket, a few at a time, and each answer turned into per-item outcomes
 * (`groupOutcomes` in core/delivery-policy.ts). A rejected batch is bisected, transformed again
 * on each half, until the refused record is alone, unless no subset could change the answer.
 */
import {
  groupEffects,
  runTransform,
  type AnyDestination,
  type DestinationInput,
  type Effect,
} from '../../core/index.js'
import {
  configFailure,
  groupOutcomes,
  transformErrorKind,
  wholeRequestRefused,
  type DeliveryOutcome,
  type ExecutionSummary,
} from '../../core/delivery-policy.js'
import type { TokenBucket } from '../../../platform/jobs/token-bucket.js'
import {
  executeGroup,
  type FetchLike,
  type GroupResult,
  type SqlPoolLike,
  type StreamPublishers,
} from '../executors/index.js'
import type { DestinationRow } from '../destinations-repository.js'
import { countRequests, logRowsOf, type DispatcherMetrics, type LogRow } from './delivery-log.js'

export interface SendDeps {
  clock: () => number
  timeoutMs: number
  /** Execution units in flight at once for this destination. */
  concurrency: number
  bisect: boolean
  fetch: FetchLike
  pool(destinationId: string, connectionString: string): SqlPoolLike
  exportRoot: string
  /** Broker connections of stream destinations, pooled per destination. */
  streams: StreamPublishers
  bucket: TokenBucket
  metrics?: DispatcherMetrics
}

/** One claim being sent: what it accumulates for the settlement. */
export interface SendContext {
  d: DestinationRow
  def: AnyDestination
  settings: Record<string, unknown>
  secrets: string[]
  outcomes: Map<string, DeliveryOutcome>
  log: LogRow[]
  attemptOf: Map<string, number>
  /** Set when the stored configuration turned out invalid (the destination is degraded). */
  configError?: string
  /**
   * Epoch ms until which the vendor's quota refuses this destination's requests (set by a quota
   * answer): the claim's remaining groups are not sent, they wait for the reset too.
   */
  quotaUntil?: number
}

export function summarize(result: GroupResult): ExecutionSummary {
  if (result.type !== 'http') {
    const ex = result.execution
    return ex.ok
      ? { type: result.type, ok: true }
      : { type: result.type, ok: false, code: ex.error.code }
  }
  const last = result.steps[result.steps.length - 1]?.execution
  if (!last) return { type: 'http' }
  return {
    type: 'http',
    last: last.ok ? { ok: true, status: last.status } : { ok: false, code: last.error.code },
  }
}

export async function sendInputs(
  deps: SendDeps,
  ctx: SendContext,
  inputs: DestinationInput[],
): Promise<void> {
  if (inputs.length === 0) return
  const { d, def, settings, outcomes } = ctx
  let effects: Effect[]
  try {
    const result = runTransform(def, inputs, { settings, destinationId: d.id, now: deps.clock() })
    for (const s of result.skipped)
      outcomes.set(s.itemId, { kind: 'skip', message: `${s.code}: ${s.message}` })
    effects = result.effects
  } catch (err) {
    const e = err as { code?: string; message: string }
    const kind = transformErrorKind(e.code)
    if (kind === 'config') {
      const failure = configFailure(e.code as string, e.message)
      ctx.configError = `${e.code}: ${e.message}`
      for (const i of inputs) outcomes.set(i.id, failure)
      return
    }
    if (kind === 'items') {
      // The transform fails on this data and would on every retry: find the items it fails
      // for (one at a time, yielding in between, since each may use a whole render budget)
      // and fail only those.
      const [only] = inputs
      if (inputs.length === 1 && only) {
        outcomes.set(only.id, { kind: 'fail', message: `${e.code}: ${e.message}` })
        return
      }
      for (const input of inputs) {
        await new Promise((resolve) => setImmediate(resolve))
        await sendInputs(deps, ctx, [input])
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
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < groups.length) {
      const group = groups[next++] as Effect[]
      if (waitForQuota(deps, ctx, group)) continue
      await deps.bucket.take(group.length)
      if (waitForQuota(deps, ctx, group)) continue
      await runGroup(deps, ctx, group, inputs)
    }
  }
  await Promise.all(Array.from({ length: Math.min(deps.concurrency, groups.length) }, worker))
}

/**
 * While the vendor's quota is exhausted, a group is not sent: its items wait for the reset like
 * the ones it refused (no attempt used, `nextJobState`), instead of each spending a request the
 * vendor would refuse.
 */
function waitForQuota(deps: SendDeps, ctx: SendContext, group: Effect[]): boolean {
  const now = deps.clock()
  if (ctx.quotaUntil === undefined || ctx.quotaUntil <= now) return false
  const outcome: DeliveryOutcome = {
    kind: 'retry',
    message: "not sent: the vendor's quota is exhausted until its reset",
    retryAfterMs: ctx.quotaUntil - now,
    quota: true,
  }
  for (const id of new Set(group.flatMap((e) => e.itemIds))) ctx.outcomes.set(id, outcome)
  return true
}

async function runGroup(
  deps: SendDeps,
  ctx: SendContext,
  group: Effect[],
  inputs: DestinationInput[],
): Promise<void> {
  const { d, def, settings, outcomes } = ctx
  const ids = [...new Set(group.flatMap((e) => e.itemIds))]
  let result: GroupResult
  try {
    result = await executeGroup(group, {
      classify: def.classifyResponse,
      timeoutMs: deps.timeoutMs,
      now: deps.clock,
      fetch: deps.fetch,
      pool: (ref) => deps.pool(d.id, String(settings[ref] ?? '')),
      exportRoot: deps.exportRoot,
      directory: String(settings.directory ?? '.'),
      streams: {
        publishers: deps.streams,
        key: d.id,
        url: (ref) => String(settings[ref] ?? ''),
      },
    })
  } catch (err) {
    for (const id of ids) outcomes.set(id, { kind: 'retry', message: (err as Error).message })
    return
  }
  const rows = logRowsOf(result, group, {
    ids,
    attempt: Math.max(...ids.map((id) => ctx.attemptOf.get(id) ?? 1)),
    at: new Date(deps.clock()).toISOString(),
    secrets: ctx.secrets,
  })
  ctx.log.push(...rows)
  countRequests(deps.metrics, d.type, rows)
  const c = result.classification
  if (c.outcome === 'retry' && c.quota && c.retryAfterMs !== undefined)
    ctx.quotaUntil = Math.max(ctx.quotaUntil ?? 0, deps.clock() + c.retryAfterMs)
  const per = groupOutcomes(result.classification, ids, {
    // A partial answer mid-chain stops the chain: the other items still need the later steps.
    complete: result.type !== 'http' || result.steps.length === group.length,
    canBisect: deps.bisect && !wholeRequestRefused(summarize(result)),
  })
  if (per === 'bisect') {
    // A rejected batch: split it to isolate the record the vendor refuses.
    const mine = inputs.filter((i) => ids.includes(i.id))
    const half = Math.ceil(mine.length / 2)
    await sendInputs(deps, ctx, mine.slice(0, half))
    await sendInputs(deps, ctx, mine.slice(half))
    return
  }
  for (const [id, o] of per) outcomes.set(id, o)
}
