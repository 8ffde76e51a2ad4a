/**
 * @module engine/effects/http-executor
 * Sends `http` effects. The only place destination HTTP requests leave the process.
 *
 * - Redirects are not followed (`redirect: 'manual'`): a signed or authenticated request must not
 *   be replayed to another host; a 3xx is reported and classified as a failure.
 * - The response body is read up to `maxBodyBytes` (the rest is discarded), so a misbehaving
 *   vendor cannot exhaust memory; `bodyExcerpt` is the short part the delivery log keeps.
 * - Network failures are classified (timeout, refused, DNS, reset, TLS) and are retryable; an
 *   address or scheme the outbound policy refuses is not (retrying cannot change the answer, and
 *   the operator or editor must act).
 * - Without an injected `fetch`, requests go through a strict outbound guard (public addresses
 *   only, connection pinned to the checked address): callers widen it with their own guard.
 */
import type { Classification, ClassifyResponse, HttpEffect } from '../../core/contract.js'
import { extractCaptures, resolveEffect, shouldSkip } from '../../core/shared/chain.js'
import { createOutboundGuard, type OutboundGuard } from './outbound-guard.js'

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

export interface HttpExecuteOptions {
  /** Defaults to a strict outbound guard's fetch (public addresses only). */
  fetch?: FetchLike
  timeoutMs: number
  /** Response bytes kept for classification (default 1 MiB). */
  maxBodyBytes?: number
  /** Characters kept in `bodyExcerpt` (default 2,000). */
  excerptChars?: number
}

export type NetworkErrorCode =
  | 'TIMEOUT'
  | 'CONNECTION_REFUSED'
  | 'DNS_FAILURE'
  | 'CONNECTION_RESET'
  | 'TLS_FAILURE'
  | 'NETWORK_ERROR'
  | 'OUTBOUND_ADDRESS_REFUSED'
  | 'OUTBOUND_SCHEME_REFUSED'
  | 'OUTBOUND_URL_INVALID'

/** Refusals of the outbound policy: permanent, so never retried. */
export const refusedCodes: ReadonlySet<NetworkErrorCode> = new Set([
  'OUTBOUND_ADDRESS_REFUSED',
  'OUTBOUND_SCHEME_REFUSED',
  'OUTBOUND_URL_INVALID',
])

let strictGuard: OutboundGuard | undefined
function defaultFetch(): FetchLike {
  strictGuard ??= createOutboundGuard()
  return strictGuard.fetch
}

export type HttpExecution =
  | {
      ok: true
      status: number
      /** Lower-case names. */
      headers: Record<string, string>
      body: string
      bodyExcerpt: string
      truncated: boolean
      latencyMs: number
    }
  | { ok: false; error: { code: NetworkErrorCode; message: string }; latencyMs: number }

function errorCode(err: unknown): NetworkErrorCode {
  const e = err as {
    name?: string
    code?: string
    cause?: { code?: string; name?: string; errors?: { code?: string }[] }
  }
  // Happy-eyeballs connects fail with an AggregateError whose parts carry the codes.
  const code = e.cause?.code ?? e.cause?.errors?.[0]?.code ?? e.code ?? ''
  const name = e.name ?? ''
  if (refusedCodes.has(code as NetworkErrorCode)) return code as NetworkErrorCode
  if (name === 'TimeoutError' || name === 'AbortError' || /TIMEOUT/.test(code)) return 'TIMEOUT'
  if (code === 'ECONNREFUSED') return 'CONNECTION_REFUSED'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'DNS_FAILURE'
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET')
    return 'CONNECTION_RESET'
  if (/CERT|SSL|TLS/.test(code)) return 'TLS_FAILURE'
  return 'NETWORK_ERROR'
}

async function readCapped(
  res: Response,
  max: number,
): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false }
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let truncated = false
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (size + value.byteLength > max) {
      chunks.push(value.subarray(0, max - size))
      truncated = true
      await reader.cancel()
      break
    }
    chunks.push(value)
    size += value.byteLength
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated }
}

/** Send one request. Never throws for network or HTTP errors: they are in the result. */
export async function executeHttp(
  effect: HttpEffect,
  opts: HttpExecuteOptions,
): Promise<HttpExecution> {
  const doFetch = opts.fetch ?? defaultFetch()
  const started = performance.now()
  try {
    const res = await doFetch(effect.url, {
      method: effect.method,
      headers: effect.headers,
      body: effect.body ?? undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
    })
    const { text, truncated } = await readCapped(res, opts.maxBodyBytes ?? 1_048_576)
    const headers: Record<string, string> = {}
    res.headers.forEach((v, k) => (headers[k.toLowerCase()] = v))
    const max = opts.excerptChars ?? 2_000
    return {
      ok: true,
      status: res.status,
      headers,
      body: text,
      bodyExcerpt: text.length > max ? `${text.slice(0, max)}…` : text,
      truncated,
      latencyMs: performance.now() - started,
    }
  } catch (err) {
    const code = errorCode(err)
    const cause = (err as { cause?: { message?: string } }).cause?.message
    const message = `${code}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`
    return { ok: false, error: { code, message }, latencyMs: performance.now() - started }
  }
}

/** A network failure as a classification: retry, except what the outbound policy refuses. */
export function classifyExecution(
  execution: HttpExecution,
  effect: HttpEffect,
  classify: ClassifyResponse,
  now: number,
): Classification {
  if (!execution.ok)
    return refusedCodes.has(execution.error.code)
      ? { outcome: 'fail', message: execution.error.message }
      : { outcome: 'retry', message: execution.error.message }
  return classify(
    { status: execution.status, headers: execution.headers, body: execution.body },
    { effect, now },
  )
}

export interface ChainStep {
  /** The step as sent, captured values filled in. */
  effect: HttpEffect
  execution: HttpExecution | null
  skipped: boolean
  classification: Classification
}

export interface ChainResult {
  /** The outcome of the whole group: the first non-success step's, else the last step's. */
  classification: Classification
  steps: ChainStep[]
}

/**
 * Run one execution unit from `groupEffects` (a chain, or a single effect): steps in order,
 * captures carried forward, stopping at the first step that does not succeed. A `partial` step
 * whose refused items are all permanent failures goes on with the rest (its failures are kept
 * in the chain's outcome); one with retryable failures ends the chain with that partial outcome.
 */
export async function executeHttpChain(
  steps: HttpEffect[],
  opts: HttpExecuteOptions & { classify: ClassifyResponse; now?: () => number },
): Promise<ChainResult> {
  const now = opts.now ?? (() => Date.now())
  const values: Record<string, unknown> = {}
  const done: ChainStep[] = []
  const refused: Extract<Classification, { outcome: 'partial' }>['failed'] = []
  let classification: Classification = { outcome: 'success' }
  for (const step of steps) {
    const effect = resolveEffect(step, values)
    if (shouldSkip(effect, values)) {
      done.push({ effect, execution: null, skipped: true, classification: { outcome: 'success' } })
      continue
    }
    const unresolved = /\$\{[a-zA-Z][a-zA-Z0-9_]*\}/.exec(`${effect.url} ${effect.body ?? ''}`)
    if (unresolved) {
      classification = {
        outcome: 'fail',
        message: `a previous step's response lacked ${unresolved[0]}: the vendor answered in an unexpected shape`,
      }
      done.push({ effect, execution: null, skipped: false, classification })
      break
    }
    const execution = await executeHttp(effect, opts)
    const c = classifyExecution(execution, effect, opts.classify, now())
    done.push({ effect, execution, skipped: false, classification: c })
    // A step the vendor accepted but for records it refused for good (Google's
    // partialFailureError, HubSpot's 207) lets the chain go on for the rest: the refused items
    // fail with the vendor's reason, the others still need the later steps (Google's `run`).
    const permanentOnly = c.outcome === 'partial' && c.failed.every((f) => !f.retryable)
    if (c.outcome !== 'success' && !permanentOnly) {
      classification = c
      break
    }
    if (c.outcome === 'partial') refused.push(...c.failed)
    classification = refused.length > 0 ? { outcome: 'partial', failed: [...refused] } : c
    if (execution.ok) Object.assign(values, extractCaptures(step.captures, execution.body))
  }
  return { classification, steps: done }
}
