/**
 * The stream executor against the machine's real brokers (RabbitMQ, Redis, NATS JetStream,
 * Mosquitto at their default local addresses; see src/testing/brokers.ts): what is published is
 * read back from the broker byte for byte, connections are reused, and refusals, outages and
 * unroutable messages are classified as the dispatcher needs them.
 */
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import amqp from 'amqplib'
import mqtt from 'mqtt'
import { createClient } from 'redis'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect as natsConnect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StreamEffect, StreamProtocol } from '../../core/contract.js'
import { loopbackGuard } from '../../../testing/mock-vendor.js'
import { requireBroker, viaPort } from '../../../testing/brokers.js'
import { startTcpProxy } from '../../../testing/tcp-proxy.js'
import { until } from '../../../testing/test-receiver.js'
import {
  createStreamPublishers,
  executeStream,
  type StreamPublisher,
  type StreamPublishers,
} from './stream-executor.js'
import { executeGroup } from './index.js'
import { defaultClassify } from '../../core/shared/classify.js'
import { createOutboundGuard } from './outbound-guard.js'

const run = randomBytes(4).toString('hex')
const publishers = createStreamPublishers({ guard: loopbackGuard, connectTimeoutMs: 3_000 })

function effect(
  protocol: StreamProtocol,
  target: string,
  n: number,
  extra: Partial<StreamEffect> = {},
): StreamEffect {
  const messages = Array.from({ length: n }, (_, i) => ({
    itemId: `job_${i}`,
    messageId: `${run}-${protocol}-${i}`,
    // Bodies with what a careless client would mangle: non-ASCII, quotes, a newline.
    body: JSON.stringify({ kind: 'event', id: `job_${i}`, name: `Zoë "${i}"\n✓` }),
  }))
  return {
    type: 'stream',
    protocol,
    connectionRef: 'url',
    target,
    messages,
    idempotencyKey: `${run}-${protocol}`,
    itemIds: messages.map((m) => m.itemId),
    ...extra,
  }
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

afterAll(async () => {
  await publishers.close()
})

describe('RabbitMQ (AMQP 0-9-1)', () => {
  let url: string
  let conn: amqp.ChannelModel
  let ch: amqp.Channel
  const queue = `kindred-test-${run}`
  beforeAll(async () => {
    url = await requireBroker('amqp')
    conn = await amqp.connect(url)
    ch = await conn.createChannel()
    await ch.assertQueue(queue, { durable: true })
  })
  afterAll(async () => {
    await ch.deleteQueue(queue).catch(() => undefined)
    await conn.close().catch(() => undefined)
  })

  it('publishes persistent messages with their ids, confirmed, read back exactly', async () => {
    const e = effect('amqp', queue, 3, { exchange: '' })
    const r = await executeStream(e, url, publishers, { key: 'amqp', timeoutMs: 5_000 })
    expect(r).toMatchObject({ ok: true, published: 3 })
    const got: amqp.GetMessage[] = []
    await until(async () => {
      const m = await ch.get(queue, { noAck: true })
      if (m) got.push(m)
      return got.length === 3
    })
    expect(got.map((m) => m.content.toString('utf8'))).toEqual(e.messages.map((m) => m.body))
    expect(got.map((m) => m.properties.messageId)).toEqual(e.messages.map((m) => m.messageId))
    expect(got.every((m) => m.properties.deliveryMode === 2)).toBe(true)
    expect(got[0]?.properties.contentType).toBe('application/json')
  })

  it('reuses one connection across publishes', async () => {
    const a = await publishers.get('amqp', 'amqp', url)
    await executeStream(effect('amqp', queue, 1), url, publishers, {
      key: 'amqp',
      timeoutMs: 5_000,
    })
    expect(await publishers.get('amqp', 'amqp', url)).toBe(a)
    await ch.purgeQueue(queue)
  })

  it('refuses, retryably, a message no queue takes (mandatory + return), never "delivered"', async () => {
    const r = await executeStream(effect('amqp', `no-such-queue-${run}`, 2), url, publishers, {
      key: 'amqp',
      timeoutMs: 5_000,
    })
    expect(r).toMatchObject({ ok: false, error: { code: 'BROKER_REFUSED', retryable: true } })
    if (!r.ok) expect(r.error.message).toMatch(/no queue is bound/)
  })

  it('refused credentials are not retried', async () => {
    const bad = new URL(url)
    bad.username = 'guest'
    bad.password = 'wrong-password'
    const r = await executeStream(effect('amqp', queue, 1), bad.toString(), publishers, {
      key: 'amqp-bad',
      timeoutMs: 5_000,
    })
    expect(r).toMatchObject({ ok: false, error: { code: 'BROKER_AUTH_REFUSED', retryable: false } })
  })
})

describe('Redis Streams', () => {
  let url: string
  let client: ReturnType<typeof createClient>
  const key = `kindred-test:${run}`
  beforeAll(async () => {
    url = await requireBroker('redis')
    client = createClient({ url })
    await client.connect()
  })
  afterAll(async () => {
    await client.del(key).catch(() => undefined)
    await client.close()
  })

  it('XADDs one entry per message (id and body fields), read back exactly', async () => {
    const e = effect('redis', key, 3, { maxLen: 1000 })
    const r = await executeStream(e, url, publishers, { key: 'redis', timeoutMs: 5_000 })
    expect(r).toMatchObject({ ok: true, published: 3 })
    const entries = await client.xRange(key, '-', '+')
    expect(entries.map((x) => x.message)).toEqual(
      e.messages.map((m) => ({ id: m.messageId, body: m.body })),
    )
  })
})

describe('the connection pool (Redis behind a TCP proxy)', () => {
  it('concurrent sends share one connection; a cut one is replaced on the next send', async () => {
    const url = new URL(await requireBroker('redis'))
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) })
    const pool = createStreamPublishers({ guard: loopbackGuard, connectTimeoutMs: 3_000 })
    const via = viaPort(url.toString(), proxy.port)
    const key = `kindred-test-pool:${run}`
    const client = createClient({ url: url.toString() })
    await client.connect()
    try {
      const send = () =>
        executeStream(effect('redis', key, 2), via, pool, { key: 'p', timeoutMs: 3_000 })
      const first = await Promise.all([send(), send(), send(), send()])
      expect(first.every((r) => r.ok)).toBe(true)
      expect(proxy.accepted).toBe(1)

      await proxy.stop()
      const down = await send()
      expect(down).toMatchObject({ ok: false, error: { retryable: true } })
      await proxy.start()
      expect(await send()).toMatchObject({ ok: true })
      expect(proxy.accepted).toBe(2)
      // Everything confirmed is there: 4 sends before the cut and 1 after, 2 entries each.
      expect(await client.xLen(key)).toBe(10)
    } finally {
      await client.del(key)
      await client.close()
      await pool.close()
      await proxy.stop()
    }
  })
})

describe('NATS JetStream', () => {
  let url: string
  const stream = `KINDRED_TEST_${run}`
  const subject = `kindred.test.${run}`
  let nc: Awaited<ReturnType<typeof natsConnect>>
  beforeAll(async () => {
    url = await requireBroker('nats')
    nc = await natsConnect({ servers: url })
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: stream, subjects: [subject], duplicate_window: 120_000_000_000 })
  })
  afterAll(async () => {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.delete(stream).catch(() => undefined)
    await nc.close()
  })

  it('publishes with Nats-Msg-Id, acked, and a retried publish is stored once', async () => {
    const e = effect('nats', subject, 3)
    expect(
      await executeStream(e, url, publishers, { key: 'nats', timeoutMs: 5_000 }),
    ).toMatchObject({
      ok: true,
    })
    // The same effect again (a retry after a lost answer): JetStream drops the duplicates.
    expect(
      await executeStream(e, url, publishers, { key: 'nats', timeoutMs: 5_000 }),
    ).toMatchObject({
      ok: true,
    })
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info(stream)
    expect(info.state.messages).toBe(3)
    for (let seq = 1; seq <= 3; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq })
      expect(m?.string()).toBe(e.messages[seq - 1]?.body)
      expect(m?.header.get('Nats-Msg-Id')).toBe(e.messages[seq - 1]?.messageId)
    }
  })

  it('a subject no stream captures is a retryable failure', async () => {
    const r = await executeStream(effect('nats', `kindred.nowhere.${run}`, 1), url, publishers, {
      key: 'nats',
      timeoutMs: 3_000,
    })
    expect(r).toMatchObject({ ok: false, error: { retryable: true } })
  })
})

describe('MQTT (Mosquitto)', () => {
  let url: string
  let sub: mqtt.MqttClient
  const topic = `kindred/test/${run}`
  const got: { topic: string; body: string; qos: number }[] = []
  beforeAll(async () => {
    url = await requireBroker('mqtt')
    sub = await mqtt.connectAsync(url, { clientId: `kindred-test-sub-${run}` })
    sub.on('message', (t, payload, packet) =>
      got.push({ topic: t, body: payload.toString('utf8'), qos: packet.qos }),
    )
    await sub.subscribeAsync(topic, { qos: 1 })
  })
  afterAll(async () => {
    await sub.endAsync()
  })

  it('publishes with QoS 1 (PUBACKed), received exactly', async () => {
    const e = effect('mqtt', topic, 3)
    const r = await executeStream(e, url, publishers, { key: 'mqtt', timeoutMs: 5_000 })
    expect(r).toMatchObject({ ok: true, published: 3 })
    await until(() => got.length >= 3)
    expect(got.map((g) => g.body).sort()).toEqual(e.messages.map((m) => m.body).sort())
    expect(got.every((g) => g.topic === topic && g.qos === 1)).toBe(true)
  })
})

describe('every protocol', () => {
  it.each(['amqp', 'redis', 'nats', 'mqtt'] as const)(
    '%s: an unreachable broker is retryable; a loopback broker under the strict policy is refused',
    async (protocol) => {
      const base = {
        amqp: 'amqp://guest:guest@x',
        redis: 'redis://x',
        nats: 'nats://x',
        mqtt: 'mqtt://x',
      }[protocol]
      const down = viaPort(base, await closedPort())
      const r = await executeStream(effect(protocol, 't', 1), down, publishers, {
        key: `down-${protocol}`,
        timeoutMs: 3_000,
      })
      expect(r).toMatchObject({ ok: false, error: { retryable: true } })

      const strict = createStreamPublishers({ guard: createOutboundGuard() })
      const refused = await executeStream(effect(protocol, 't', 1), down, strict, {
        key: 'strict',
        timeoutMs: 3_000,
      })
      expect(refused).toMatchObject({
        ok: false,
        error: { code: 'OUTBOUND_ADDRESS_REFUSED', retryable: false },
      })
      await strict.close()
    },
  )

  it('a URL of another protocol is refused, not retried', async () => {
    const r = await executeStream(effect('redis', 't', 1), 'amqp://127.0.0.1:5672', publishers, {
      key: 'wrong',
      timeoutMs: 3_000,
    })
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'OUTBOUND_SCHEME_REFUSED', retryable: false },
    })
  })
})

describe('what a broker confirmed decides the outcome (executeGroup)', () => {
  /** A pool whose one publisher refuses the given items, counting connects and drops. */
  function fakePool(refuse: string[]) {
    const stats = { connects: 0, drops: 0 }
    const publisher: StreamPublisher = {
      open: true,
      publish: async (e) =>
        e.messages
          .filter((m) => refuse.includes(m.itemId))
          .map((m) => ({ itemId: m.itemId, message: 'nack' })),
      close: async () => undefined,
    }
    const pool: StreamPublishers = {
      get: async () => {
        stats.connects++
        return publisher
      },
      drop: async () => {
        stats.drops++
      },
      close: async () => undefined,
    }
    return { pool, stats }
  }
  const deps = (pool: StreamPublishers) => ({
    classify: defaultClassify,
    timeoutMs: 1_000,
    streams: { publishers: pool, key: 'd', url: () => 'redis://127.0.0.1:6379' },
  })

  it('all confirmed: success, and the connection is kept', async () => {
    const { pool, stats } = fakePool([])
    const r = await executeGroup([effect('redis', 'k', 3)], deps(pool))
    expect(r.classification).toEqual({ outcome: 'success' })
    expect(stats).toEqual({ connects: 1, drops: 0 })
  })

  it('some refused: partial, only those retried', async () => {
    const { pool } = fakePool(['job_1'])
    const r = await executeGroup([effect('redis', 'k', 3)], deps(pool))
    expect(r.classification).toEqual({
      outcome: 'partial',
      failed: [{ itemId: 'job_1', message: 'nack', retryable: true }],
    })
  })

  it('all refused: retry, and the connection is dropped', async () => {
    const { pool, stats } = fakePool(['job_0', 'job_1'])
    const r = await executeGroup([effect('redis', 'k', 2)], deps(pool))
    expect(r.classification).toMatchObject({ outcome: 'retry' })
    expect(stats.drops).toBe(1)
  })
})
