/**
 * Ingest throughput: Kindred (durable: 200 only after the event log commit) against a bare
 * node:http JSON-parsing server, same bodies, same load generator, same run.
 * `npm run bench:ingest` → bench/results/ingest.{json,md}, then docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { freePort, machine, repoRoot, spawnNode, stop, waitFor, writeResult } from './support.js'
import { renderBenchmarks } from './render.js'

const durationSec = Number(process.env.BENCH_DURATION ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)

function event(i: number) {
  return {
    type: 'track',
    event: 'Product Viewed',
    userId: `user-${i % 1000}`,
    anonymousId: `anon-${i}`,
    messageId: `bench-${i}`,
    timestamp: '2026-01-01T00:00:00.000Z',
    properties: { product_id: `p-${i % 500}`, price: 19.99, currency: 'EUR', category: 'shoes' },
    context: {
      library: { name: 'analytics-node', version: '3.1.0' },
      ip: '203.0.113.9',
      userAgent: 'Mozilla/5.0',
    },
  }
}

const batchBody = JSON.stringify({ batch: Array.from({ length: 100 }, (_, i) => event(i)) })
const singleBody = JSON.stringify(event(1))

async function load(url: string, body: string, auth?: string) {
  // Warm-up (JIT, caches, first segment file) is not measured.
  await autocannon({
    url,
    method: 'POST',
    connections,
    duration: 2,
    body,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
  })
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: durationSec,
    body,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
  })
  return {
    requestsPerSec: result.requests.average,
    non2xx: result.non2xx,
    errors: result.errors,
    p99Ms: result.latency.p99,
  }
}

async function main() {
  const results: Record<string, unknown> = { machine: machine(), durationSec, connections }

  const barePort = freePort()
  const bare = spawnNode([
    '--import',
    'tsx',
    path.join(repoRoot, 'bench/bare-http-server.ts'),
    String(barePort),
  ])
  await waitFor(`http://127.0.0.1:${barePort}/`, bare)
  const bareBatch = await load(`http://127.0.0.1:${barePort}/v1/batch`, batchBody)
  const bareSingle = await load(`http://127.0.0.1:${barePort}/v1/track`, singleBody)
  await stop(bare)

  const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-bench-'))
  const port = freePort()
  const token = 'bench-admin-token-0123456789'
  const kindred = spawnNode(
    ['bin/kindred.js', 'start', '--port', String(port), '--data-dir', dataDir, '--role', 'ingest'],
    {
      KINDRED_ADMIN_TOKEN: token,
      LOG_LEVEL: 'warn',
      KINDRED_CONSOLE_BUILD: '0',
      HOST: '127.0.0.1',
    },
  )
  await waitFor(`http://127.0.0.1:${port}/healthz`, kindred)
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({
      name: 'bench',
      settings: { rateLimit: { eventsPerSecond: 10_000_000, burst: 10_000_000 } },
    }),
  })
  const { writeKey } = (await res.json()) as { writeKey: string }
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  const kBatch = await load(`http://127.0.0.1:${port}/v1/batch`, batchBody, auth)
  const kSingle = await load(`http://127.0.0.1:${port}/v1/track`, singleBody, auth)
  await stop(kindred)
  rmSync(dataDir, { recursive: true, force: true })

  const rows = [
    {
      name: 'batches of 100 events',
      bare: bareBatch.requestsPerSec * 100,
      kindred: kBatch.requestsPerSec * 100,
      k: kBatch,
      b: bareBatch,
    },
    {
      name: 'single events',
      bare: bareSingle.requestsPerSec,
      kindred: kSingle.requestsPerSec,
      k: kSingle,
      b: bareSingle,
    },
  ]
  results.rows = rows.map((r) => ({
    workload: r.name,
    bareEventsPerSec: Math.round(r.bare),
    kindredEventsPerSec: Math.round(r.kindred),
    ratio: Number((r.kindred / r.bare).toFixed(3)),
    kindredP99Ms: r.k.p99Ms,
    kindredNon2xx: r.k.non2xx,
    kindredErrors: r.k.errors,
  }))
  const m = results.machine as ReturnType<typeof machine>
  const md = `## Ingest throughput (durable) vs a bare node:http JSON server

Same bodies, same load generator (autocannon, ${connections} connections, ${durationSec} s each), same run.
Kindred runs \`--role ingest\` on the embedded store (PGlite): a 200 means the events are committed
to the event log. Machine: ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${m.date}.

| workload | bare node:http (events/s) | Kindred (events/s) | ratio | Kindred p99 (ms) | non-2xx |
|---|---:|---:|---:|---:|---:|
${(
  results.rows as {
    workload: string
    bareEventsPerSec: number
    kindredEventsPerSec: number
    ratio: number
    kindredP99Ms: number
    kindredNon2xx: number
  }[]
)
  .map(
    (r) =>
      `| ${r.workload} | ${r.bareEventsPerSec.toLocaleString('en')} | ${r.kindredEventsPerSec.toLocaleString('en')} | ${r.ratio} | ${r.kindredP99Ms} | ${r.kindredNon2xx} |`,
  )
  .join('\n')}

Load generator and server share the machine's ${m.cores} cores, for both columns alike.
`
  writeResult('ingest', results, md)
  renderBenchmarks()
  process.stdout.write(md)
}

await main()
