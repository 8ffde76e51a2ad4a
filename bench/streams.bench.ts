/**
 * Stream destinations: confirmed messages per second from the stream executor to the machine's
 * real RabbitMQ, Redis, NATS JetStream and Mosquitto (src/testing/brokers.ts addresses), in
 * effects of 100 messages (the manifests' batch size), one effect in flight, three ways:
 *
 * - **pooled**: `executeStream` through one `createStreamPublishers` pool (what the dispatcher
 *   does: one connection per destination, reused);
 * - **connect per effect**: the same, but the connection dropped after every effect (what opening
 *   a connection per delivery would cost);
 * - **bare client** (baseline): the client library itself on one connection, the same batches,
 *   the same confirmations (AMQP confirms, XADD replies, PubAcks, PUBACKs), nothing of Kindred.
 *
 * BENCH_STREAM_MESSAGES (default 5,000) per mode and protocol.
 * `node --import tsx bench/streams.bench.ts` → bench/results/streams.{json,md}, then
 * docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import amqp from 'amqplib'
import mqtt from 'mqtt'
import { createClient } from 'redis'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect as natsConnect } from '@nats-io/transport-node'
import type { StreamEffect, StreamProtocol } from '../src/activate/core/contract.js'
import {
  createStreamPublishers,
  executeStream,
} from '../src/activate/engine/executors/stream-executor.js'
import { loopbackGuard } from '../src/testing/mock-vendor.js'
import { requireBroker, type BrokerName } from '../src/testing/brokers.js'
import { renderBenchmarks } from './render.js'
import { fmt, machine, round, writeResult } from './support.js'

const total = Number(process.env.BENCH_STREAM_MESSAGES ?? 5_000)
const batch = 100
const run = randomBytes(4).toString('hex')
// A body the size of a typical forwarded event (≈ 600 bytes of JSON).
const body = JSON.stringify({
  kind: 'event',
  id: 'job_x',
  event: {
    type: 'track',
    event: 'Order Completed',
    messageId: 'm'.repeat(36),
    properties: { order_id: 'o_1', revenue: 42.5, currency: 'EUR', items: ['a', 'b', 'c'] },
    context: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 '.repeat(10) },
    timestamp: '2026-11-25T09:59:58.000Z',
  },
  profile: { id: 'prof_1', traits: { email: 'ada@example.com', plan: 'pro' } },
})

function effects(protocol: StreamProtocol, target: string, mode: string): StreamEffect[] {
  const out: StreamEffect[] = []
  for (let i = 0; i < total; i += batch) {
    const messages = Array.from({ length: Math.min(batch, total - i) }, (_, j) => ({
      itemId: `job_${i + j}`,
      messageId: `${run}-${mode}-${i + j}`,
      body,
    }))
    out.push({
      type: 'stream',
      protocol,
      connectionRef: 'url',
      target,
      messages,
      idempotencyKey: `${run}-${mode}-${i}`,
      itemIds: messages.map((m) => m.itemId),
    })
  }
  return out
}

interface Target {
  protocol: StreamProtocol
  target: string
  setup(url: string): Promise<void>
  bare(url: string, batches: StreamEffect[]): Promise<void>
  cleanup(url: string): Promise<void>
}

const targets: Record<BrokerName, Target> = {
  amqp: {
    protocol: 'amqp',
    target: `kindred-bench-${run}`,
    async setup(url) {
      const c = await amqp.connect(url)
      const ch = await c.createChannel()
      await ch.assertQueue(`kindred-bench-${run}`, { durable: true })
      await c.close()
    },
    async bare(url, batches) {
      const c = await amqp.connect(url)
      const ch = await c.createConfirmChannel()
      for (const e of batches) {
        for (const m of e.messages)
          ch.publish('', e.target, Buffer.from(m.body), {
            persistent: true,
            mandatory: true,
            messageId: m.messageId,
            contentType: 'application/json',
          })
        await ch.waitForConfirms()
      }
      await c.close()
    },
    async cleanup(url) {
      const c = await amqp.connect(url)
      const ch = await c.createChannel()
      await ch.deleteQueue(`kindred-bench-${run}`)
      await c.close()
    },
  },
  redis: {
    protocol: 'redis',
    target: `kindred-bench:${run}`,
    async setup() {},
    async bare(url, batches) {
      const c = createClient({ url })
      await c.connect()
      for (const e of batches)
        await Promise.all(
          e.messages.map((m) => c.xAdd(e.target, '*', { id: m.messageId, body: m.body })),
        )
      await c.close()
    },
    async cleanup(url) {
      const c = createClient({ url })
      await c.connect()
      await c.del(`kindred-bench:${run}`)
      await c.close()
    },
  },
  nats: {
    protocol: 'nats',
    target: `kindred.bench.${run}`,
    async setup(url) {
      const nc = await natsConnect({ servers: url })
      await (
        await jetstreamManager(nc)
      ).streams.add({ name: `KINDRED_BENCH_${run}`, subjects: [`kindred.bench.${run}`] })
      await nc.close()
    },
    async bare(url, batches) {
      const nc = await natsConnect({ servers: url })
      const js = jetstream(nc)
      for (const e of batches)
        await Promise.all(
          e.messages.map((m) => js.publish(e.target, m.body, { msgID: m.messageId })),
        )
      await nc.close()
    },
    async cleanup(url) {
      const nc = await natsConnect({ servers: url })
      await (await jetstreamManager(nc)).streams.delete(`KINDRED_BENCH_${run}`)
      await nc.close()
    },
  },
  mqtt: {
    protocol: 'mqtt',
    target: `kindred/bench/${run}`,
    async setup() {},
    async bare(url, batches) {
      const c = await mqtt.connectAsync(url)
      for (const e of batches)
        await Promise.all(e.messages.map((m) => c.publishAsync(e.target, m.body, { qos: 1 })))
      await c.endAsync()
    },
    async cleanup() {},
  },
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return (performance.now() - t0) / 1000
}

const rows: {
  broker: BrokerName
  pooled: number
  perEffect: number
  bare: number
}[] = []
for (const name of Object.keys(targets) as BrokerName[]) {
  const t = targets[name]
  const url = await requireBroker(name)
  await t.setup(url)
  // Warm-up (JIT, the broker's first queue/stream pages), not measured.
  await t.bare(url, effects(t.protocol, t.target, 'warm').slice(0, 5))
  const bareSeconds = await timed(() => t.bare(url, effects(t.protocol, t.target, 'bare')))
  const pool = createStreamPublishers({ guard: loopbackGuard })
  const pooledSeconds = await timed(async () => {
    for (const e of effects(t.protocol, t.target, 'pooled')) {
      const r = await executeStream(e, url, pool, { key: 'bench', timeoutMs: 30_000 })
      if (!r.ok) throw new Error(`${name}: ${r.error.message}`)
    }
  })
  const perEffectSeconds = await timed(async () => {
    for (const e of effects(t.protocol, t.target, 'per-effect')) {
      const r = await executeStream(e, url, pool, { key: 'bench', timeoutMs: 30_000 })
      if (!r.ok) throw new Error(`${name}: ${r.error.message}`)
      await pool.drop('bench')
    }
  })
  await pool.close()
  await t.cleanup(url)
  rows.push({
    broker: name,
    pooled: total / pooledSeconds,
    perEffect: total / perEffectSeconds,
    bare: total / bareSeconds,
  })
  process.stdout.write(`${name}: ${JSON.stringify(rows.at(-1))}\n`)
}

const m = machine()
const load = loadavg().map((v) => v.toFixed(1))
const label: Record<BrokerName, string> = {
  amqp: 'RabbitMQ (confirm channel, persistent)',
  redis: 'Redis Streams (XADD)',
  nats: 'NATS JetStream (PubAck, Nats-Msg-Id)',
  mqtt: 'Mosquitto (MQTT QoS 1)',
}
const md = `## Stream destinations: confirmed messages per second

The stream executor publishing ${fmt(total)} messages of ${body.length} bytes per broker, in
effects of ${batch} (the manifests' batch size), one effect in flight, to the machine's local
brokers (${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${m.date}). Baseline in the
same run: the client library itself on one connection, the same batches and confirmations.

| broker | bare client (baseline) msg/s | pooled (the dispatcher's way) msg/s | pooled / baseline | connect per effect msg/s | per effect / pooled |
|---|---:|---:|---:|---:|---:|
${rows
  .map(
    (r) =>
      `| ${label[r.broker]} | ${fmt(r.bare)} | ${fmt(r.pooled)} | ${round(r.pooled / r.bare, 2)}× | ${fmt(r.perEffect)} | ${round(r.perEffect / r.pooled, 2)}× |`,
  )
  .join('\n')}

Modes run in the order baseline, pooled, connect per effect, after an unmeasured warm-up.
Load average at the end: ${load.join(' / ')} on ${m.cores} cores (the machine is shared, so
figures are noisy; ratios within a row come from the same minute). The dispatcher adds its own
bookkeeping (claims, delivery log, settling) on top of these rates.
`
writeResult('streams', { total, batch, bodyBytes: body.length, machine: m, load, rows }, md)
renderBenchmarks()
process.stdout.write(md)
