/**
 * @module destinations/shared/classify
 * The shared reading of a vendor's answer: success, retry (honouring `Retry-After`), or fail
 * with the vendor's own error message. Destinations wrap it for per-item partial failures.
 */
import type { Classification, ClassifyContext, HttpResponseLike } from '../contract.js'

/**
 * `Retry-After` as a delay in ms: delta-seconds (`"120"`) or an HTTP date (`"Wed, 21 Oct 2015
 * 07:28:00 GMT"`), relative to `now`. Undefined when absent or unreadable; never negative.
 * @example parseRetryAfter('1', 0) // 1000
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (v === '') return undefined
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

function firstString(...values: unknown[]): string | undefined {
  for (const v of values) if (typeof v === 'string' && v.trim() !== '') return v
  return undefined
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown
  } catch {
    return undefined
  }
}

/**
 * The vendor's error message from a response body, trying the shapes vendors use:
 * `{error:{message}}` (Meta, Google), `{message}` (HubSpot, Braze), `{detail,title}`
 * (Mailchimp), `{errors:[{detail}]}` (Klaviyo JSON:API), else the text itself (Slack).
 */
export function extractErrorMessage(body: string, max = 500): string {
  const json = asRecord(parseJson(body))
  let msg: string | undefined
  if (json) {
    const error = asRecord(json.error)
    const errors = Array.isArray(json.errors) ? json.errors.map(asRecord) : []
    const first = errors[0]
    msg = firstString(
      error?.error_user_msg,
      error?.message,
      typeof json.error === 'string' ? json.error : undefined,
      json.detail,
      json.message,
      first?.detail,
      first?.message,
      first?.title,
      json.title,
    )
  }
  const text = (msg ?? body).trim()
  if (text === '') return '(empty response body)'
  return text.length > max ? `${text.slice(0, max)}…` : text
}

/**
 * A protobuf JSON `Duration` (`"3600s"`, `"1.5s"`) in ms, as Google's `retryDelay` is written;
 * undefined when absent or unreadable.
 * @example parseProtoDuration('1.5s') // 1500
 */
export function parseProtoDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = /^(\d+(?:\.\d+)?)s$/.exec(value.trim())
  return m ? Math.round(Number(m[1]) * 1000) : undefined
}

/**
 * A reset given as a Unix time in seconds (Braze's `X-RateLimit-Reset`), as a delay from `now`;
 * undefined when absent or unreadable, never negative.
 */
export function delayUntilEpochSeconds(value: string | undefined, now: number): number | undefined {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined
  return Math.max(0, Math.round(Number(value) * 1000) - now)
}

/**
 * A retry that waits for the vendor's quota to reset: the dispatcher does not count it as a
 * failed attempt (the request was refused for the moment, not for its content).
 */
export function quotaRetry(message: string, retryAfterMs: number): Classification {
  return { outcome: 'retry', retryAfterMs, message, quota: true }
}

/**
 * The shared rules: 2xx and `okStatuses` succeed; 429, 408 and 5xx other than 501/505 retry;
 * everything else fails fast with the vendor's message (including 3xx: redirects are not
 * followed, a signed request must not be replayed to another host). A 429 with `Retry-After`
 * is the vendor's quota stating its reset (RFC 6585 §4): a quota wait, which uses no attempt.
 */
export function defaultClassify(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  const { status } = res
  if ((status >= 200 && status < 300) || ctx.effect.okStatuses?.includes(status)) {
    return { outcome: 'success' }
  }
  const message = `HTTP ${status}: ${extractErrorMessage(res.body)}`
  if (status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505)) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], ctx.now)
    if (retryAfterMs === undefined) return { outcome: 'retry', message }
    return status === 429
      ? quotaRetry(message, retryAfterMs)
      : { outcome: 'retry', retryAfterMs, message }
  }
  return { outcome: 'fail', message }
}
