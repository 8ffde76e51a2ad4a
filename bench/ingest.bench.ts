/**
 * Ingest throughput: Kindred (durable: 200 only after the event log commit) against a bare
 * node:http JSON-parsing server, same bodies, same load generator, same run.
 * `npm run bench:ingest` → bench/results/ingest.{json,md}, then docs/benchmarks.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
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

/** CPU time (user + system) a child has used, in ms, from /proc (Linux). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
  } catch {
    return NaN
  }
}

async function load(url: string, body: string, pid: number | undefined, auth?: string) {
  // Warm-up (JIT, caches, first segment file) is not measured.
  await autocannon({
    url,
    method: 'POST',
    connections,
    duration: 2,
    body,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
  })
  const cpu0 = cpuMs(pid)
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: durationSec,
    body,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
  })
  const cpu = cpuMs(pid) - cpu0
  return {
    /** Server CPU per request (ms): far less sensitive to a busy machine than throughput. */
    cpuMsPerRequest: cpu / result.requests.total,
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
  const bareBatch = await load(`http://127.0.0.1:${barePort}/v1/batch`, batchBody, bare.pid)
  const bareSingle = await load(`http://127.0.0.1:${barePort}/v1/track`, singleBody, bare.pid)
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
  const kBatch = await load(`http://127.0.0.1:${port}/v1/batch`, batchBody, kindred.pid, auth)
  const kSingle = await load(`http://127.0.0.1:${port}/v1/track`, singleBody, kindred.pid, auth)
  await stop(kindred)
  rmSync(dataDir, { recursive: true, force: true })

  const rows = [
    {
      name: 'batches of 100 events',
      bare: bareBatch.requestsPerSec * 100,
      kindred: kBatch.requestsPerSec * 100,
      events: 100,
      k: kBatch,
      b: bareBatch,
    },
    {
      name: 'single events',
      bare: bareSingle.requestsPerSec,
      kindred: kSingle.requestsPerSec,
      events: 1,
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
    bareCpuUsPerEvent: Number(((r.b.cpuMsPerRequest * 1000) / r.events).toFixed(2)),
    kindredCpuUsPerEvent: Number(((r.k.cpuMsPerRequest * 1000) / r.events).toFixed(2)),
    cpuRatio: Number((r.b.cpuMsPerRequest / r.k.cpuMsPerRequest).toFixed(3)),
  }))
  const m = results.machine as ReturnType<typeof machine>
  const md = `## Ingest throughput (durable) vs a bare node:http JSON server

Same bodies, same load generator (autocannon, ${connections} connections, ${durationSec} s each), same run.
Kindred runs \`--role ingest\` on the embedded store (PGlite): a 200 means the events are committed
to the event log. Machine: ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${m.date}.

| workload | bare node:http (events/s) | Kindred (events/s) | ratio | Kindred p99 (ms) | non-2xx | bare CPU/event (µs) | Kindred CPU/event (µs) | CPU ratio |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${(
  results.rows as {
    workload: string
    bareEventsPerSec: number
    kindredEventsPerSec: number
    ratio: number
    kindredP99Ms: number
    kindredNon2xx: number
    bareCpuUsPerEvent: number
    kindredCpuUsPerEvent: number
    cpuRatio: number
  }[]
)
  .map(
    (r) =>
      `| ${r.workload} | ${r.bareEventsPerSec.toLocaleString('en')} | ${r.kindredEventsPerSec.toLocaleString('en')} | ${r.ratio} | ${r.kindredP99Ms} | ${r.kindredNon2xx} | ${r.bareCpuUsPerEvent} | ${r.kindredCpuUsPerEvent} | ${r.cpuRatio} |`,
  )
  .join('\n')}

Load generator and server share the machine's ${m.cores} cores, for both columns alike. "CPU/event"
is the server process's CPU time (user + system, from /proc) over the measured run divided by the
events it accepted; "CPU ratio" (bare ÷ Kindred) is what the throughput ratio would be with a core
each and no contention, and it moves far less than throughput when other jobs load the machine.
Before/after ADR 0005 (the log keeps request bodies as sent; batch events are checked, not
rebuilt), median (range) of 3 rounds of bare / before / after servers side by side on 2026-11-25:
CPU ratio 0.338 → 0.446 for batches (Kindred 14.6 (14.0–14.9) → 11.1 (10.3–12.6) µs/event, bare
4.9), 0.318 → 0.327 for single events (HTTP, not JSON, dominates them).

Before/after the ingest hardening and the capability layout, 2 rounds of 5 s each per build, side
by side on 2026-12-03 on a machine loaded by other jobs (so CPU per event, not throughput): the
hardening (one scan of every body for depth, surrogates, UTF-8 and numbers; body and header time
limits; a per-e-mail sign-in bucket) took batches from 4.95 / 5.61 to 7.74 / 6.39 µs per event and
single events from 76 / 88 to 100 / 103 µs; the layout move then changed nothing beyond noise
(7.22 / 7.86 and 90 / 97 µs). The scan itself went from 199 to 91 µs per 51 KB batch (a native
UTF-8 check and a tight string loop), against 212 µs for \`JSON.parse\` of the same body. End-to-end processing (\`bench:processing\`, 30,000 events, role \`all\`)
cost 212 ms of CPU per 1,000 events before the move and 202 / 221 ms after, in the same run.
`
  writeResult('ingest', results, md)
  renderBenchmarks()
  process.stdout.write(md)
}

await main()
