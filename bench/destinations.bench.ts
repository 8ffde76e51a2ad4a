/**
 * Destinations: Kindred `--role all` on the embedded store delivering to a local node:http webhook
 * receiver (answers 200 at once) on the same machine.
 *
 * 1. Event-to-webhook latency: BENCH_PROBES single track calls (default 200), one every
 *    BENCH_PROBE_INTERVAL_MS (default 50 ms); latency = from just before the tracking POST to the
 *    webhook request's arrival (ingest, processor micro-batch, job insert, dispatcher wake, HTTP).
 * 2. Dispatcher throughput: BENCH_JOBS events (default 5,000) sent in 100-event batches, forwarded
 *    to a webhook (rate limit raised out of the way) one request per event, and in `batch` mode
 *    (100 events per request); requests/s (and events/s) = deliveries / (last arrival − first).
 *
 * `node --import tsx bench/destinations.bench.ts` → bench/results/destinations.{json,md}, then
 * docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { renderBenchmarks } from './render.js'
import {
  freePort,
  machine,
  spawnNode,
  stop,
  waitFor,
  writeResult,
  quantile,
  fmt,
  round,
} from './support.js'

const probes = Number(process.env.BENCH_PROBES ?? 200)
const probeIntervalMs = Number(process.env.BENCH_PROBE_INTERVAL_MS ?? 50)
const jobs = Number(process.env.BENCH_JOBS ?? 5_000)
const concurrency = Number(process.env.BENCH_DISPATCH_CONCURRENCY ?? 16)
const token = 'bench-admin-token-0123456789'

interface Arrival {
  at: number
  body: string
}

async function startReceiver() {
  const arrivals = new Map<string, Arrival[]>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const at = performance.now()
      const key = req.url ?? '/'
      let list = arrivals.get(key)
      if (!list) arrivals.set(key, (list = []))
      list.push({ at, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { base, arrivals, close: () => new Promise<void>((r) => server.close(() => r())) }
}

async function main() {
  const receiver = await startReceiver()
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-bench-dest-'))
  const port = freePort()
  const base = `http://127.0.0.1:${port}`
  const kindred = spawnNode(
    ['bin/kindred.js', 'start', '--port', String(port), '--data-dir', dataDir, '--role', 'all'],
    {
      KINDRED_ADMIN_TOKEN: token,
      LOG_LEVEL: 'warn',
      KINDRED_CONSOLE_BUILD: '0',
      HOST: '127.0.0.1',
      // The receiver is on loopback, which destinations may reach only when allowed.
      KINDRED_OUTBOUND_ALLOW: '127.0.0.0/8',
      KINDRED_DISPATCHER_CONCURRENCY: String(concurrency),
    },
  )
  try {
    await waitFor(`${base}/healthz`, kindred)
    const admin = async (p: string, body: unknown) => {
      const res = await fetch(`${base}${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      if (res.status >= 300) throw new Error(`${p}: ${res.status} ${await res.text()}`)
      return (await res.json()) as Record<string, unknown>
    }
    const { writeKey } = (await admin('/api/v1/sources', {
      name: 'bench',
      settings: { rateLimit: { eventsPerSecond: 10_000_000, burst: 10_000_000 } },
    })) as { writeKey: string }
    const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
    const hook = (name: string, event: string, batch = false) =>
      admin('/api/v1/destinations', {
        type: 'builtin.webhook',
        name,
        settings: {
          url: `${receiver.base}/${name}`,
          signingSecret: 'bench-signing-secret-0123',
          batch,
        },
        actions: { forwardEvents: { events: [event] } },
        rateLimit: 100_000,
      })
    await hook('probe', 'Probe')
    await hook('single', 'Load')
    await hook('batched', 'Load Batched', true)

    // 1. Latency
    const sentAt = new Map<string, number>()
    const ackedAt = new Map<string, number>()
    for (let i = 0; i < probes; i++) {
      const id = `probe-${i}`
      sentAt.set(id, performance.now())
      const res = await fetch(`${base}/v1/track`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: `probe-user-${i}`, event: 'Probe', messageId: id }),
      })
      if (res.status !== 200) throw new Error(`track: ${res.status}`)
      ackedAt.set(id, performance.now())
      await sleep(probeIntervalMs)
    }
    const deadline = Date.now() + 30_000
    while ((receiver.arrivals.get('/probe')?.length ?? 0) < probes && Date.now() < deadline)
      await sleep(50)
    const probeArrivals = (receiver.arrivals.get('/probe') ?? []).map((a) => ({
      at: a.at,
      id: (JSON.parse(a.body) as { event: { messageId: string } }).event.messageId,
    }))
    const latencies = probeArrivals
      .map((a) => a.at - (sentAt.get(a.id) ?? a.at))
      .sort((a, b) => a - b)
    // The ack can come after the webhook already got the event (the processor reads the log as
    // soon as it is committed): clamp at 0.
    const afterAck = probeArrivals
      .map((a) => Math.max(0, a.at - (ackedAt.get(a.id) ?? a.at)))
      .sort((a, b) => a - b)

    // 2. Throughput (single requests, then batches of 100)
    const throughput = async (event: string, key: string, perRequest: number) => {
      const body = (i: number) =>
        JSON.stringify({
          batch: Array.from({ length: 100 }, (_, j) => ({
            type: 'track',
            userId: `load-${(i * 100 + j) % 1000}`,
            event,
            properties: { i: i * 100 + j, price: 19.99 },
          })),
        })
      for (let i = 0; i < jobs / 100; i++) {
        const res = await fetch(`${base}/v1/batch`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: body(i),
        })
        if (res.status !== 200) throw new Error(`batch: ${res.status}`)
      }
      const expected = Math.ceil(jobs / perRequest)
      const end = Date.now() + 180_000
      const count = () => receiver.arrivals.get(key)?.length ?? 0
      // Batch mode: a claim holds up to 100 jobs, so requests carry up to 100 events each.
      const events = () =>
        (receiver.arrivals.get(key) ?? []).reduce(
          (n, a) =>
            n + (perRequest === 1 ? 1 : (JSON.parse(a.body) as { batch: unknown[] }).batch.length),
          0,
        )
      while ((perRequest === 1 ? count() < expected : events() < jobs) && Date.now() < end)
        await sleep(50)
      const list = receiver.arrivals.get(key) ?? []
      const first = list[0]?.at ?? 0
      const last = list[list.length - 1]?.at ?? 0
      const seconds = Math.max(0.001, (last - first) / 1000)
      return {
        requests: list.length,
        events: events(),
        seconds: round(seconds, 2),
        requestsPerSec: Math.round(list.length / seconds),
        eventsPerSec: Math.round(events() / seconds),
      }
    }
    // Baseline, same run: plain fetch POSTs from this process to the same receiver, as many in
    // flight as the dispatcher may have, no store and no bookkeeping.
    const baselineCount = Math.min(jobs, 2_000)
    const b0 = performance.now()
    let nextBaseline = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (nextBaseline++ < baselineCount) {
          const res = await fetch(`${receiver.base}/baseline`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"kind":"event"}',
          })
          await res.text()
        }
      }),
    )
    const baselineRps = Math.round(baselineCount / ((performance.now() - b0) / 1000))
    const single = await throughput('Load', '/single', 1)
    const batched = await throughput('Load Batched', '/batched', 100)

    const results = {
      machine: machine(),
      probes,
      probeIntervalMs,
      jobs,
      concurrencyPerDestination: concurrency,
      latency: {
        delivered: latencies.length,
        p50Ms: round(quantile(latencies, 0.5)),
        p99Ms: round(quantile(latencies, 0.99)),
        maxMs: round(latencies[latencies.length - 1] ?? NaN),
        afterAckP50Ms: round(quantile(afterAck, 0.5)),
        afterAckP99Ms: round(quantile(afterAck, 0.99)),
      },
      throughput: { single, batched, baselineFetchRequestsPerSec: baselineRps },
    }
    const m = results.machine
    const md = `## Destinations: event-to-webhook latency and dispatcher throughput

Kindred \`--role all\` on the embedded store (PGlite) delivering signed webhooks to a local node:http
receiver that answers 200 at once; both on the same machine (${m.cpuModel}, ${m.cores} cores,
Node ${m.node}, ${m.date}).

**Event-to-webhook latency** (${results.latency.delivered} of ${probes} single track calls, one every
${probeIntervalMs} ms; from just before the tracking POST to the webhook's arrival: ingest commit,
processor micro-batch, job insert, dispatcher wake-up, signed HTTP request):
p50 **${results.latency.p50Ms} ms**, p99 **${results.latency.p99Ms} ms**, max ${results.latency.maxMs} ms.
From the tracking API's 200 (the event is durable) to the webhook's arrival: p50
${results.latency.afterAckP50Ms} ms, p99 ${results.latency.afterAckP99Ms} ms.

**Dispatcher throughput** (${fmt(jobs)} events forwarded to one webhook destination, rate limit
raised out of the way, ${concurrency} requests in flight per destination; from the first delivery
to the last):

| mode | requests | events | seconds | requests/s | events/s |
|---|---:|---:|---:|---:|---:|
| one request per event | ${fmt(single.requests)} | ${fmt(single.events)} | ${single.seconds} | ${fmt(single.requestsPerSec)} | ${fmt(single.eventsPerSec)} |
| \`batch: true\` (≤ 100 per request) | ${fmt(batched.requests)} | ${fmt(batched.events)} | ${batched.seconds} | ${fmt(batched.requestsPerSec)} | ${fmt(batched.eventsPerSec)} |

Baseline in the same run: plain \`fetch\` POSTs from the benchmark process to the same receiver,
${concurrency} in flight, nothing else: **${fmt(baselineRps)} requests/s**; the dispatcher's one-request-per-event
rate is **${round(single.requestsPerSec / baselineRps, 2)}×** that. The machine is shared (load average
${loadavg()
  .map((l) => l.toFixed(1))
  .join(' / ')} at the end of the run on ${m.cores} cores), so every figure here is
noisy: an upper bound on latency, a lower bound on throughput.

Each delivery also writes its attempt to the delivery log and settles its jobs in the store, so
these rates include the bookkeeping that makes deliveries inspectable and replayable. Events are
sent while the dispatcher works, so ingest and processing share the cores with it.
`
    writeResult('destinations', results, md)
    renderBenchmarks()
    process.stdout.write(md)
  } finally {
    await stop(kindred)
    await receiver.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
