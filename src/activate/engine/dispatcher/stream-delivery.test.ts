/**
 * Stream destinations end to end: events tracked into Kindred, fanned out and delivered by the
 * dispatcher to the machine's real RabbitMQ, Redis, NATS JetStream and Mosquitto, then read back
 * from the broker. The publisher reaches each broker through a TCP proxy, which the outage test
 * stops (every connection cut, new ones refused, as in a broker restart) and starts again:
 * every event tracked before, during and after the outage is on the broker in the end.
 */
import { randomBytes } from 'node:crypto'
import amqp from 'amqplib'
import mqtt from 'mqtt'
import { createClient } from 'redis'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect as natsConnect } from '@nats-io/transport-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../../testing/test-server.js'
import { createDestinationsModule } from '../../destinations-module.js'
import { until } from '../../../testing/test-receiver.js'
import { requireBroker, viaPort, type BrokerName } from '../../../testing/brokers.js'
import { startTcpProxy, type TcpProxy } from '../../../testing/tcp-proxy.js'

const run = randomBytes(4).toString('hex')

interface Reader {
  /** Bodies on the broker, in arrival order. */
  bodies(): Promise<string[]>
  close(): Promise<void>
}

interface Broker {
  type: string
  settings(url: string): Record<string, unknown>
  reader(url: string): Promise<Reader>
}

const brokers: Record<BrokerName, Broker> = {
  amqp: {
    type: 'builtin.rabbitmq',
    settings: (url) => ({ url, routingKey: `kindred-e2e-${run}` }),
    async reader(url) {
      const queue = `kindred-e2e-${run}`
      const conn = await amqp.connect(url)
      const ch = await conn.createChannel()
      await ch.assertQueue(queue, { durable: true })
      const got: string[] = []
      await ch.consume(queue, (m) => m && got.push(m.content.toString('utf8')), { noAck: true })
      return {
        bodies: async () => [...got],
        async close() {
          await ch.deleteQueue(queue).catch(() => undefined)
          await conn.close().catch(() => undefined)
        },
      }
    },
  },
  redis: {
    type: 'builtin.redis-streams',
    settings: (url) => ({ url, stream: `kindred-e2e:${run}` }),
    async reader(url) {
      const client = createClient({ url })
      await client.connect()
      const key = `kindred-e2e:${run}`
      return {
        bodies: async () => (await client.xRange(key, '-', '+')).map((e) => String(e.message.body)),
        async close() {
          await client.del(key).catch(() => undefined)
          await client.close()
        },
      }
    },
  },
  nats: {
    type: 'builtin.nats',
    settings: (url) => ({ url, subject: `kindred.e2e.${run}` }),
    async reader(url) {
      const nc = await natsConnect({ servers: url })
      const jsm = await jetstreamManager(nc)
      const stream = `KINDRED_E2E_${run}`
      await jsm.streams.add({ name: stream, subjects: [`kindred.e2e.${run}`] })
      return {
        async bodies() {
          const n = (await jsm.streams.info(stream)).state.messages
          const out: string[] = []
          for (let seq = 1; seq <= n; seq++) {
            const m = await jsm.streams.getMessage(stream, { seq })
            if (m) out.push(m.string())
          }
          return out
        },
        async close() {
          await jsm.streams.delete(stream).catch(() => undefined)
          await nc.close()
        },
      }
    },
  },
  mqtt: {
    type: 'builtin.mqtt',
    settings: (url) => ({ url, topic: `kindred/e2e/${run}` }),
    async reader(url) {
      const sub = await mqtt.connectAsync(url, { clientId: `kindred-e2e-${run}` })
      const got: string[] = []
      sub.on('message', (_t, payload) => got.push(payload.toString('utf8')))
      await sub.subscribeAsync(`kindred/e2e/${run}`, { qos: 1 })
      return {
        bodies: async () => [...got],
        async close() {
          await sub.endAsync()
        },
      }
    },
  },
}

let k: TestKindred
let writeKey: string

beforeAll(async () => {
  k = await startTestKindred({
    modules: [
      createDestinationsModule({
        baseDelayMs: 20,
        maxDelayMs: 200,
        pollIntervalMs: 50,
        maxAttempts: 100,
        random: () => 0.5,
        requestTimeoutMs: 3_000,
      }),
    ],
  })
  writeKey = (await k.createSource()).writeKey
})

afterAll(async () => {
  await k.close()
})

interface Delivered {
  kind: string
  event: { event: string; messageId: string; properties: Record<string, unknown> }
  profile: { id: string } | null
}

describe.each(Object.keys(brokers) as BrokerName[])('%s through the dispatcher', (name) => {
  const broker = brokers[name]
  let brokerUrl: string
  let proxy: TcpProxy
  let reader: Reader
  let destinationId: string
  const event = `Stream ${name} ${run}`

  beforeAll(async () => {
    brokerUrl = await requireBroker(name)
    const target = new URL(brokerUrl)
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) })
    reader = await broker.reader(brokerUrl)
    const res = await k.admin('/api/v1/destinations', {
      body: {
        type: broker.type,
        name: `stream ${name}`,
        settings: broker.settings(viaPort(brokerUrl, proxy.port)),
        actions: { forwardEvents: { events: [event] } },
      },
    })
    expect(res.status).toBe(201)
    destinationId = ((await res.json()) as { id: string }).id
  })

  afterAll(async () => {
    await k.admin(`/api/v1/destinations/${destinationId}`, { method: 'DELETE' })
    await reader.close()
    await proxy.stop()
  })

  async function track(messageId: string, n: number) {
    const res = await k.track(writeKey, '/v1/track', {
      userId: `u-${name}`,
      event,
      messageId,
      properties: { n, note: 'Zoë ✓ "quoted"' },
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
  }

  async function delivered(count: number): Promise<Delivered[]> {
    const bodies = await until(async () => {
      const b = await reader.bodies()
      return b.length >= count ? b : undefined
    }, 20_000)
    return bodies.map((b) => JSON.parse(b) as Delivered)
  }

  it('delivers a tracked event, read back from the broker', async () => {
    await track(`${run}-${name}-first`, 0)
    const [got] = await delivered(1)
    expect(got?.kind).toBe('event')
    expect(got?.event).toMatchObject({
      event,
      messageId: `${run}-${name}-first`,
      properties: { n: 0, note: 'Zoë ✓ "quoted"' },
    })
    expect(got?.profile?.id).toEqual(expect.any(String))
    const log = (await (
      await k.admin(`/api/v1/destinations/${destinationId}/deliveries`)
    ).json()) as {
      data: { status: string; responseExcerpt: string | null }[]
    }
    expect(log.data[0]).toMatchObject({
      status: 'success',
      responseExcerpt: '1 messages confirmed',
    })
    // One connection for the destination, not one per message.
    expect(proxy.accepted).toBe(1)
  })

  it('loses nothing across a broker outage (connections cut, then back)', async () => {
    await track(`${run}-${name}-before`, 1)
    await delivered(2)
    await proxy.stop()
    for (let n = 2; n <= 5; n++) await track(`${run}-${name}-during-${n}`, n)
    // The dispatcher tried and was told to retry while the broker was away.
    await until(async () => {
      const log = (await (
        await k.admin(`/api/v1/destinations/${destinationId}/deliveries`)
      ).json()) as { data: { status: string }[] }
      return log.data.some((r) => r.status !== 'success')
    }, 20_000)
    await proxy.start()
    await track(`${run}-${name}-after`, 6)
    const got = await delivered(7)
    const ids = new Set(got.map((g) => g.event.messageId))
    const expected = [
      'first',
      'before',
      'during-2',
      'during-3',
      'during-4',
      'during-5',
      'after',
    ].map((s) => `${run}-${name}-${s}`)
    for (const id of expected) expect(ids.has(id), id).toBe(true)
    // At least once; JetStream's duplicate window makes it exactly once.
    if (name === 'nats') expect(got).toHaveLength(7)
  })
})
