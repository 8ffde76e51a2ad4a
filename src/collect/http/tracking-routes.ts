import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors'
import {
  KindredError,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
  MAX_INFLATED_BYTES,
  batchElementRanges,
  batchEnvelopeSchema,
  eventSizeLowerBound,
  eventsFromRaw,
  normalizeEvent,
  quickCheckEvent,
  scanJson,
  scanPathString,
  serializeEvent,
  zodIssues,
  type EventType,
  type FieldIssue,
  type KindredEvent,
  type RawEvents,
} from '../../protocol/index.js'
import type { Source } from '../../platform/store/repositories/sources-repository.js'
import type { LogEntry } from '../../platform/stream/event-log.js'
import { writeKeyFromHeader, type Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { sendError } from '../../platform/http/errors.js'

import { piiPoliciesFor } from '../../govern/index.js'
import { protectEvent } from '../../govern/core/index.js'
import { suppressionMatcher, suppressedCounter } from '../../govern/index.js'
const singlePaths: Record<string, EventType> = {
  track: 'track',
  t: 'track',
  identify: 'identify',
  i: 'identify',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
}

/**
 * CORS for the tracking API (@fastify/cors). Browser SDKs post cross-origin with credentials:
 * the origin is echoed (a wildcard is not allowed with credentials). Allow-Credentials stays
 * although this API sets and reads no cookies: analytics.js sends `Authorization` on
 * credentialed requests, which a browser refuses without it. It grants nothing here, since a
 * write key (public on websites anyway) is all these routes accept. A preflight is allowed the
 * headers it asks for (analytics.js: Authorization, Content-Type, X-Retry-Count; other SDKs send
 * their own), answered 204 and cached for a day; one without Origin or a requested method still
 * gets its 204, as before the plugin.
 */
const trackingCors: FastifyCorsOptions = {
  origin: true,
  credentials: true,
  methods: ['GET', 'POST', 'OPTIONS'],
  maxAge: 86_400,
  strictPreflight: false,
}

/** Decode by Content-Encoding and never trust Content-Type (SDKs mislabel gzip and JSON). */
function decodeBody(req: FastifyRequest): Buffer {
  const body = req.body
  const raw = Buffer.isBuffer(body) ? body : Buffer.alloc(0)
  const encoding = (req.headers['content-encoding'] ?? 'identity').toString().toLowerCase().trim()
  try {
    switch (encoding) {
      case 'identity':
      case '':
        return raw
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(raw, { maxOutputLength: MAX_INFLATED_BYTES })
      case 'deflate':
        return inflateSync(raw, { maxOutputLength: MAX_INFLATED_BYTES })
      case 'br':
        return brotliDecompressSync(raw, { maxOutputLength: MAX_INFLATED_BYTES })
      default:
        throw new KindredError(
          'UNSUPPORTED_ENCODING',
          `Content-Encoding "${encoding}" is not supported; use gzip`,
        )
    }
  } catch (err) {
    if (err instanceof KindredError) throw err
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new KindredError('BATCH_TOO_LARGE', `inflated body exceeds ${MAX_BATCH_BYTES} bytes`)
    }
    throw new KindredError('INVALID_JSON', `body could not be decoded as ${encoding}`)
  }
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0)
    throw new KindredError('INVALID_JSON', 'request body is empty; send a JSON object')
  try {
    return JSON.parse(buf.toString('utf8'))
  } catch (err) {
    throw new KindredError(
      'INVALID_JSON',
      `request body is not valid JSON: ${(err as Error).message}`,
    )
  }
}

/**
 * Refuses a body holding what the pipeline cannot store or process (see json-scan.ts): a 400
 * naming the limit. In a batch the event is named by its index, and the whole request is
 * refused, as for any other event that fails (SDKs retry whole requests).
 */
function refuseUnholdable(buf: Buffer, batch: boolean): void {
  const found = scanJson(buf)
  if (!found) return
  const [top, index, ...rest] = found.path
  const inEvent = batch && top === 'batch' && typeof index === 'number'
  const issue: FieldIssue = {
    ...(inEvent ? { index } : {}),
    path: scanPathString(inEvent ? rest : found.path),
    code: found.code,
    message: found.message,
  }
  throw new KindredError(
    found.code === 'invalid_utf8' ? 'INVALID_JSON' : 'VALIDATION_FAILED',
    inEvent
      ? `event ${index as number} rejected (${found.message}); nothing in this batch was accepted`
      : found.message,
    { details: [issue] },
  )
}

export function registerTrackingRoutes(app: FastifyInstance, ctx: AppContext, auth: Auth): void {
  async function authenticate(req: FastifyRequest, body: unknown): Promise<Source> {
    const bodyKey =
      typeof body === 'object' &&
      body !== null &&
      typeof (body as { writeKey?: unknown }).writeKey === 'string'
        ? ((body as { writeKey: string }).writeKey as string)
        : undefined
    const writeKey = writeKeyFromHeader(req.headers.authorization) ?? bodyKey
    if (!writeKey) {
      throw new KindredError(
        'UNAUTHORIZED',
        'missing write key: send it as the HTTP Basic username or as "writeKey"',
      )
    }
    const source = await auth.sourceForIngestKey(writeKey)
    if (!source) throw new KindredError('UNAUTHORIZED', 'invalid write key')
    return source
  }

  function rateLimit(source: Source, n: number): void {
    const config = source.settings.rateLimit ?? ctx.config.defaultRateLimit
    const r = ctx.rateLimiter.take(source.id, n, config)
    if (!r.ok) {
      throw new KindredError(
        'RATE_LIMITED',
        `rate limit of ${config.eventsPerSecond} events/s exceeded; retry later`,
        {
          headers: {
            'Retry-After': String(r.retryAfterSeconds),
            'X-RateLimit-Reset': String(r.resetAtMs),
          },
          details: { eventsPerSecond: config.eventsPerSecond, burst: config.burst },
        },
      )
    }
  }

  const piiPolicies = piiPoliciesFor(ctx)
  const suppressions = suppressionMatcher(ctx.db)

  async function ingest(
    req: FastifyRequest,
    reply: FastifyReply,
    mode: { kind: 'single'; type: EventType } | { kind: 'batch'; correctSkew: boolean },
  ): Promise<FastifyReply> {
    let source: Source | undefined
    try {
      const buf = decodeBody(req)
      if (mode.kind === 'single' && buf.length > MAX_EVENT_BYTES) {
        throw new KindredError(
          'EVENT_TOO_LARGE',
          `event is ${buf.length} bytes; the limit is ${MAX_EVENT_BYTES}`,
        )
      }
      if (buf.length > MAX_BATCH_BYTES) {
        throw new KindredError(
          'BATCH_TOO_LARGE',
          `batch is ${buf.length} bytes; the limit is ${MAX_BATCH_BYTES}`,
        )
      }
      // Both paths below (raw bytes kept, or canonical events) store only what this lets through.
      refuseUnholdable(buf, mode.kind === 'batch')
      const body = parseJson(buf)
      source = await authenticate(req, body)
      // PII controls (ADR 0003) rewrite events before the event log, and suppression drops some:
      // both need canonical events, so either one turns the raw-body fast path off (ADR 0005).
      const pii = await piiPolicies.forSource(source)
      const guarded =
        pii !== undefined ||
        (await suppressions.active(source.workspaceId, () => ctx.clock().getTime()))
      const receivedAt = ctx.clock()
      const receivedAtIso = receivedAt.toISOString()
      const madeIds: string[] = []
      const newMessageId = () => {
        const id = ctx.newId('message')
        madeIds.push(id)
        return id
      }
      const events: KindredEvent[] = []
      /** Serialised events (slow path only): they size-check each event and become the record. */
      const parts: string[] = []
      const issues: FieldIssue[] = []
      /**
       * Fast path (ADR 0005): the log keeps the body as sent, so no event is serialised here. Not
       * when the bytes hold a NUL escape (serializeEvent explains those) or a writeKey (a secret
       * the canonical event drops).
       */
      let rawEvents: RawEvents | undefined
      const noNul = !guarded && buf.indexOf('\\u0000') < 0
      // Suppression matches identifiers as sent, so it checks the events before PII hashing.
      const asSent: KindredEvent[] = []
      if (mode.kind === 'single') {
        rateLimit(source, 1)
        const r = normalizeEvent(body, mode.type, { receivedAt, receivedAtIso, newMessageId })
        if (r.ok && noNul && (body as { writeKey?: unknown }).writeKey === undefined) {
          events.push(r.event)
          rawEvents = {
            body: buf,
            batch: false,
            impliedType: mode.type,
            correctSkew: true,
            madeIds,
          }
        } else {
          const original = r.ok ? r.event : undefined
          if (r.ok && pii) r.event = protectEvent(r.event, pii)
          const serialized = r.ok ? serializeEvent(r.event) : r
          if (r.ok && serialized.ok) {
            if (original) asSent.push(original)
            events.push(r.event)
            parts.push(serialized.json)
          } else if (!serialized.ok) issues.push(...serialized.issues)
        }
      } else {
        const env = batchEnvelopeSchema.safeParse(body)
        if (!env.success) {
          throw new KindredError('VALIDATION_FAILED', 'body must be {"batch": [events…]}', {
            details: zodIssues(env.error),
          })
        }
        const batch = env.data.batch
        if (batch.length === 0) throw new KindredError('VALIDATION_FAILED', 'batch is empty')
        if (batch.length > MAX_BATCH_EVENTS) {
          throw new KindredError(
            'BATCH_TOO_LARGE',
            `batch has ${batch.length} events; the limit is ${MAX_BATCH_EVENTS}`,
          )
        }
        rateLimit(source, batch.length)
        const envelope = {
          ...(env.data.context ? { context: env.data.context } : {}),
          ...(env.data.integrations ? { integrations: env.data.integrations } : {}),
          ...(env.data.sentAt ? { sentAt: env.data.sentAt } : {}),
        }
        const options = {
          receivedAt,
          receivedAtIso,
          newMessageId,
          envelope,
          correctSkew: mode.correctSkew,
        }
        const keepRaw =
          noNul &&
          env.data.writeKey === undefined &&
          !batch.some((e) => (e as { writeKey?: unknown } | null)?.writeKey !== undefined)
        const tooLarge = (index: number, size: number): FieldIssue => ({
          index,
          path: '',
          code: 'event_too_large',
          message: `event is ${size} bytes; the limit is ${MAX_EVENT_BYTES}`,
        })
        // Only a body over 32 KB can hold an event over 32 KB, and only when the other events
        // leave it room: then the events' bytes as sent are found by a scan (cheaper than
        // serialising, and exactly what the limit is on).
        let sizes: Array<[number, number]> | undefined
        let sizesKnown = true
        if (keepRaw && buf.length > MAX_EVENT_BYTES) {
          const bounds = batch.map(eventSizeLowerBound)
          const all = bounds.reduce((a, b) => a + b, 0)
          if (bounds.some((b) => buf.length - (all - b) > MAX_EVENT_BYTES)) {
            sizes = batchElementRanges(buf, batch.length)
            sizesKnown = sizes !== undefined
          }
        }
        if (keepRaw && sizesKnown) {
          // Canonical events are made on demand (the live feed, table logs) or by the reader:
          // here each event is only checked, in order, making the messageIds the reader reuses.
          batch.forEach((raw, index) => {
            const quick = quickCheckEvent(raw)
            if (quick) {
              if (quick.needsId) newMessageId()
            } else {
              const r = normalizeEvent(raw, undefined, options)
              if (!r.ok) {
                issues.push(...r.issues.map((i) => ({ ...i, index })))
                return
              }
            }
            const range = sizes?.[index]
            if (range !== undefined && range[1] - range[0] > MAX_EVENT_BYTES)
              issues.push(tooLarge(index, range[1] - range[0]))
          })
          rawEvents = {
            body: buf,
            batch: true,
            envelope,
            correctSkew: mode.correctSkew,
            madeIds,
          }
        } else {
          // Only a body over 32 KB can hold an event over 32 KB. The canonical event is
          // serialised anyway (it is the record); only when it comes near the limit is the event
          // as sent measured exactly, since the limit is on what the client sent.
          const checkSizes = buf.length > MAX_EVENT_BYTES
          batch.forEach((raw, index) => {
            const r = normalizeEvent(raw, undefined, options)
            const original = r.ok ? r.event : undefined
            if (r.ok && pii) r.event = protectEvent(r.event, pii)
            const serialized = r.ok ? serializeEvent(r.event) : r
            if (!serialized.ok || !r.ok) {
              if (!serialized.ok) issues.push(...serialized.issues.map((i) => ({ ...i, index })))
              return
            }
            const json = serialized.json
            if (checkSizes && json.length > MAX_EVENT_BYTES / 4) {
              const size = Buffer.byteLength(JSON.stringify(raw))
              if (size > MAX_EVENT_BYTES) {
                issues.push(tooLarge(index, size))
                return
              }
            }
            if (original) asSent.push(original)
            events.push(r.event)
            parts.push(json)
          })
        }
      }
      if (issues.length > 0) {
        // All-or-nothing: SDKs retry whole requests, so a partial accept would duplicate or lose.
        const tooLarge = issues.some((i) => i.code === 'event_too_large')
        throw new KindredError(
          tooLarge ? 'EVENT_TOO_LARGE' : 'VALIDATION_FAILED',
          mode.kind === 'batch'
            ? `${new Set(issues.map((i) => i.index)).size} event(s) rejected; nothing in this batch was accepted`
            : 'event rejected',
          { details: issues },
        )
      }
      let entry = logEntry(source, receivedAtIso, events, parts, rawEvents, body)
      if (guarded) {
        // Suppressed identifiers (privacy): dropped and counted, still a 200 so SDKs do not retry.
        const kept = await suppressions.filter(source.workspaceId, asSent, () =>
          ctx.clock().getTime(),
        )
        if (kept.length < events.length) {
          suppressedCounter(ctx.metrics.registry).inc(events.length - kept.length)
          entry = logEntry(
            source,
            receivedAtIso,
            kept.map((i) => events[i] as KindredEvent),
            kept.map((i) => parts[i] as string),
            undefined,
            body,
          )
        }
      }
      const count = entry.eventCount ?? entry.events.length
      if (count > 0) await ctx.eventLog.append(entry)
      ctx.metrics.eventsReceived.inc(count)
      if (ctx.liveFeed.has(source.id)) {
        for (const event of entry.events) {
          ctx.liveFeed.publish(source.id, {
            receivedAt: event.receivedAt,
            status: 'accepted',
            event,
          })
        }
      }
      return reply.code(200).send({ success: true })
    } catch (err) {
      const ke = err instanceof KindredError ? err : undefined
      ctx.metrics.eventsRejected.inc({ code: ke?.code ?? 'INTERNAL' })
      if (source && ke && ctx.liveFeed.has(source.id)) {
        const details = Array.isArray(ke.details)
          ? (ke.details as FieldIssue[])
          : [{ path: '', code: ke.code, message: ke.message }]
        ctx.liveFeed.publish(source.id, {
          receivedAt: ctx.clock().toISOString(),
          status: 'rejected',
          event: safeBody(req),
          errors: details,
        })
      }
      return sendError(reply, err, req)
    }
  }

  function registerV1(v1: FastifyInstance): void {
    for (const [path, type] of Object.entries(singlePaths)) {
      v1.post(`/${path}`, (req, reply) => ingest(req, reply, { kind: 'single', type }))
    }
    v1.post('/batch', (req, reply) => ingest(req, reply, { kind: 'batch', correctSkew: true }))
    v1.post('/b', (req, reply) => ingest(req, reply, { kind: 'batch', correctSkew: true }))
    v1.post('/import', (req, reply) => ingest(req, reply, { kind: 'batch', correctSkew: false }))

    // analytics.js fetches its settings from `${cdnURL}/v1/projects/:writeKey/settings` first.
    v1.get<{ Params: { writeKey: string } }>('/projects/:writeKey/settings', async (req, reply) => {
      const source = await auth.sourceForWriteKey(req.params.writeKey)
      if (!source) return sendError(reply, new KindredError('NOT_FOUND', 'unknown write key'))
      const host = req.headers.host ?? 'localhost'
      return {
        integrations: {
          'Segment.io': {
            apiKey: req.params.writeKey,
            apiHost: `${host}/v1`,
            // analytics.js posts to https:// unless told otherwise: say how this host was reached
            // (behind a TLS-terminating proxy, `trustProxy` makes this https).
            protocol: req.protocol,
            unbundledIntegrations: [],
            addBundledMetadata: true,
          },
        },
        plan: {
          track: { __default: { enabled: true, integrations: {} } },
          identify: { __default: { enabled: true } },
          group: { __default: { enabled: true } },
        },
        edgeFunction: {},
        analyticsNextEnabled: true,
        middlewareSettings: {},
        enabledMiddleware: {},
        metrics: { sampleRate: 0 },
        legacyVideoPluginsEnabled: false,
        remotePlugins: [],
      }
    })
  }

  // A scope of its own under /v1: the CORS hook and the plugin's `OPTIONS *` preflight route
  // serve the tracking API only, and the admin API stays same-origin.
  void app.register(
    async (v1) => {
      await v1.register(fastifyCors, trackingCors)
      registerV1(v1)
    },
    { prefix: '/v1' },
  )
}

/**
 * The log entry of an accepted request. On the batch fast path the canonical events were never
 * built: `events` makes them on first use (live feed, table logs) exactly as the reader will.
 */
function logEntry(
  source: Source,
  receivedAt: string,
  events: KindredEvent[],
  parts: string[],
  rawEvents: RawEvents | undefined,
  body: unknown,
): LogEntry {
  const base = { workspaceId: source.workspaceId, sourceId: source.id, receivedAt }
  if (!rawEvents) return { ...base, events, eventsJson: `[${parts.join(',')}]` }
  if (!rawEvents.batch) return { ...base, events, rawEvents }
  const count = (body as { batch: unknown[] }).batch.length
  let made: KindredEvent[] | undefined
  const stored = {
    t: null,
    k: rawEvents.correctSkew,
    m: rawEvents.madeIds,
    v: rawEvents.envelope ?? null,
    a: true,
    b: body,
  }
  return {
    ...base,
    rawEvents,
    eventCount: count,
    get events() {
      return (made ??= eventsFromRaw(stored, receivedAt))
    },
  }
}

function safeBody(req: FastifyRequest): unknown {
  try {
    const buf = decodeBody(req)
    return buf.length <= MAX_EVENT_BYTES
      ? JSON.parse(buf.toString('utf8'))
      : { truncated: true, bytes: buf.length }
  } catch {
    return null
  }
}
