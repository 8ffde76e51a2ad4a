/**
 * @module engine/effects/stream-executor
 * Publishes `stream` effects (RabbitMQ, Redis Streams, NATS JetStream, MQTT destinations) on one
 * pooled connection per destination and broker URL, opened on first use and reused until it
 * breaks: a broken or timed-out connection is closed and dropped, and the next attempt opens a
 * new one (the client libraries' own reconnect loops are off, so a connection is always one the
 * outbound guard checked when it was opened, and an outage surfaces as a retry at once).
 *
 * A message counts as published only once the broker confirmed it: an AMQP publisher confirm
 * (`basic.ack`, and not returned as unroutable), the XADD reply, the JetStream `PubAck`, the MQTT
 * PUBACK. A nack, an unreachable broker or a timeout is retryable; a refused address, a bad URL
 * or refused credentials are not (no retry would change them).
 */
import type { StreamEffect, StreamMessage, StreamProtocol } from '../../core/contract.js'
import {
  BROKER_SCHEMES,
  brokerTarget,
  formatIp,
  parseIp,
  type OutboundTarget,
} from '../../../protocol/outbound-policy.js'
import { createOutboundGuard, type OutboundGuard } from './outbound-guard.js'
import { connectAmqp } from './amqp-publisher.js'
import { connectMqtt } from './mqtt-publisher.js'
import { connectNats } from './nats-publisher.js'
import { connectRedis } from './redis-publisher.js'

/** What a broker said about one message: nothing (confirmed) or why not. */
export type MessageFailure = { itemId: string; message: string }

/** One open connection to a broker, able to publish an effect's messages. */
export interface StreamPublisher {
  /** Resolves once every message was confirmed or refused; the refused ones are returned. */
  publish(effect: StreamEffect, timeoutMs: number): Promise<MessageFailure[]>
  /** False once the connection closed or failed: the pool opens another. */
  readonly open: boolean
  close(): Promise<void>
}

/** Where a publisher connects: the checked address, and the name for TLS and credentials. */
export interface BrokerEndpoint {
  url: URL
  target: OutboundTarget
  tls: boolean
  /** The address the guard checked (connect here, not to the name: DNS rebinding). */
  address: string
  /** `address` as a URL host (IPv6 in brackets). */
  urlHost: string
  connectTimeoutMs: number
}

export type StreamExecution =
  | { ok: true; published: number; latencyMs: number }
  | {
      ok: false
      error: { code: string; message: string; retryable: boolean }
      /** Set when only some messages failed (the others were confirmed). */
      failed?: MessageFailure[]
      latencyMs: number
    }

const SCHEMES: Record<StreamProtocol, string[]> = {
  amqp: ['amqp:', 'amqps:'],
  redis: ['redis:', 'rediss:'],
  nats: ['nats:', 'tls:'],
  mqtt: ['mqtt:', 'mqtts:'],
}

const CONNECTORS: Record<StreamProtocol, (e: BrokerEndpoint) => Promise<StreamPublisher>> = {
  amqp: connectAmqp,
  redis: connectRedis,
  nats: connectNats,
  mqtt: connectMqtt,
}

/** Credentials the broker refused: a human must fix them, retrying would not. */
const AUTH_REFUSED =
  /ACCESS_REFUSED|WRONGPASS|NOAUTH|authori[sz]ation|not authori[sz]ed|bad user ?name or password|authentication/i

export class StreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message)
  }
}

function classifyError(err: unknown): { code: string; message: string; retryable: boolean } {
  if (err instanceof StreamError)
    return { code: err.code, message: err.message, retryable: err.retryable }
  const e = err as { code?: unknown; message?: string }
  const message = e.message ?? String(err)
  const code = typeof e.code === 'string' ? e.code : 'BROKER_ERROR'
  if (code.startsWith('OUTBOUND_')) return { code, message, retryable: false }
  if (AUTH_REFUSED.test(message)) return { code: 'BROKER_AUTH_REFUSED', message, retryable: false }
  return { code, message: `${code}: ${message}`, retryable: true }
}

/** Rejects after `ms` (the publish is abandoned; its connection is dropped by the caller). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StreamError('TIMEOUT', `${what} timed out after ${ms} ms`, true)),
      ms,
    )
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

/** Per-message outcomes of settled publishes, in message order. */
export function failuresOf(
  messages: StreamMessage[],
  results: PromiseSettledResult<unknown>[],
): MessageFailure[] {
  const failed: MessageFailure[] = []
  results.forEach((r, i) => {
    const m = messages[i]
    if (m && r.status === 'rejected') {
      const reason = r.reason as { message?: string }
      failed.push({ itemId: m.itemId, message: reason.message ?? String(r.reason) })
    }
  })
  return failed
}

type Entry = { url: string; publisher: Promise<StreamPublisher> }

export interface StreamPublishers {
  /** The open publisher for this destination and URL, connecting when there is none. */
  get(key: string, protocol: StreamProtocol, rawUrl: string): Promise<StreamPublisher>
  /** Close and forget the destination's connection (only this one, when given). */
  drop(key: string, publisher?: StreamPublisher): Promise<void>
  close(): Promise<void>
}

/**
 * The pool the dispatcher keeps (one per process). Without a guard only public broker hosts are
 * reachable; tests pass one that allows loopback explicitly.
 */
export function createStreamPublishers(
  options: { guard?: OutboundGuard; connectTimeoutMs?: number } = {},
): StreamPublishers {
  const guard = options.guard ?? createOutboundGuard()
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000
  const pool = new Map<string, Entry>()

  async function connect(protocol: StreamProtocol, rawUrl: string): Promise<StreamPublisher> {
    const t = brokerTarget(rawUrl, SCHEMES[protocol])
    if (!t.ok) throw new StreamError(t.refusal.code, t.refusal.message, false)
    const pinned = await guard.resolve(t.target.host, t.target.port)
    const ip = parseIp(pinned.address)
    const shown = ip ? formatIp(ip) : pinned.address
    const endpoint: BrokerEndpoint = {
      url: t.url,
      target: t.target,
      tls: t.tls,
      address: shown,
      urlHost: shown.includes(':') ? `[${shown}]` : shown,
      connectTimeoutMs,
    }
    return withTimeout(
      CONNECTORS[protocol](endpoint),
      connectTimeoutMs,
      `connecting to ${t.target.host}:${t.target.port}`,
    )
  }

  /** Forget and close an entry, unless a newer one took its place meanwhile. */
  async function dropEntry(key: string, entry: Entry): Promise<void> {
    if (pool.get(key) === entry) pool.delete(key)
    const p = await entry.publisher.catch(() => undefined)
    await p?.close().catch(() => undefined)
  }

  async function get(
    key: string,
    protocol: StreamProtocol,
    rawUrl: string,
  ): Promise<StreamPublisher> {
    const hit = pool.get(key)
    if (hit && hit.url === rawUrl) {
      const p = await hit.publisher.catch(() => undefined)
      if (p?.open) return p
    }
    if (hit) await dropEntry(key, hit)
    const current = pool.get(key)
    // Another send of this destination opened one while this one waited: share it.
    if (current && current !== hit) return get(key, protocol, rawUrl)
    const entry: Entry = { url: rawUrl, publisher: connect(protocol, rawUrl) }
    pool.set(key, entry)
    try {
      return await entry.publisher
    } catch (err) {
      if (pool.get(key) === entry) pool.delete(key)
      throw err
    }
  }

  return {
    get,
    async drop(key, publisher) {
      const entry = pool.get(key)
      if (!entry) return
      // A failed send drops the connection it used, not one a concurrent send opened since.
      if (publisher && (await entry.publisher.catch(() => undefined)) !== publisher) {
        await publisher.close().catch(() => undefined)
        return
      }
      await dropEntry(key, entry)
    },
    async close() {
      await Promise.all([...pool.entries()].map(([key, entry]) => dropEntry(key, entry)))
    },
  }
}

/**
 * Publish one effect through the pool (key: the destination id). Never throws.
 * A failed publish drops the connection, so a retry starts on a fresh one.
 */
export async function executeStream(
  effect: StreamEffect,
  rawUrl: string,
  publishers: StreamPublishers,
  options: { key: string; timeoutMs: number },
): Promise<StreamExecution> {
  const started = performance.now()
  const elapsed = () => performance.now() - started
  let failed: MessageFailure[]
  let publisher: StreamPublisher | undefined
  try {
    publisher = await publishers.get(options.key, effect.protocol, rawUrl)
    failed = await withTimeout(
      publisher.publish(effect, options.timeoutMs),
      options.timeoutMs,
      `publishing to ${effect.target}`,
    )
  } catch (err) {
    // A connect that failed left nothing in the pool; a publish that failed drops its connection.
    if (publisher) await publishers.drop(options.key, publisher)
    return { ok: false, error: classifyError(err), latencyMs: elapsed() }
  }
  if (failed.length === 0)
    return { ok: true, published: effect.messages.length, latencyMs: elapsed() }
  await publishers.drop(options.key, publisher)
  const first = failed[0]?.message ?? 'refused'
  return {
    ok: false,
    error: {
      code: 'BROKER_REFUSED',
      message: `${failed.length} of ${effect.messages.length} messages not confirmed: ${first}`,
      retryable: true,
    },
    ...(failed.length < effect.messages.length ? { failed } : {}),
    latencyMs: elapsed(),
  }
}

/** Default ports by scheme, for publishers that take host and port apart. */
export function portOf(e: BrokerEndpoint): number {
  return e.target.port || (BROKER_SCHEMES[e.url.protocol]?.port ?? 0)
}
