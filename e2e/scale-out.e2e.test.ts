/**
 * Scale-out with real services: Postgres server + NATS JetStream, 2 ingest, 3 processor, 1
 * dispatcher and 1 scheduler processes. 100k synthetic events (shoppers browsing anonymously on
 * 1–3 devices, then logging in: cross-device and cross-partition merges) go through both ingest
 * nodes; one processor is killed with SIGKILL mid-run. Afterwards every acknowledged event is in
 * the store exactly once, the surviving processors own every partition, and the identity graph
 * equals the one a single `--role all` process builds from the same events. Every remaining
 * process then stops cleanly (exit 0) on SIGTERM.
 *
 * Needs KINDRED_TEST_DATABASE_URL and KINDRED_TEST_NATS_URL (`.ci/run` provides both).
 * KINDRED_SCALE_OUT_EVENTS changes the event count (default 100,000).
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { connect } from '@nats-io/transport-node'
import { jetstreamManager } from '@nats-io/jetstream'
import { createTestDatabase } from '../src/testing/databases.js'
import { generateEvents, type GeneratedEvent } from '../bench/data-generator.js'
import { spawnKindred, waitHealthy, type KindredProcess } from './support/server.js'

const databaseUrl = process.env.KINDRED_TEST_DATABASE_URL
const natsUrl = process.env.KINDRED_TEST_NATS_URL
const totalEvents = Number(process.env.KINDRED_SCALE_OUT_EVENTS ?? 100_000)
const token = 'scale-out-admin-token-0123456789'
const batchSize = 100
const senders = 4
const suffix = randomBytes(4).toString('hex')
const stream = `KINDRED_TEST_${suffix}`
const eventLog = `${natsUrl ?? ''}?stream=${stream}&subjects=kindred.test.${suffix}&partitions=8&rebalanceMs=500`

const children: ({ name: string } & KindredProcess)[] = []
const databases: { url: string; drop(): Promise<void> }[] = []

function port(): number {
  return 20_000 + Math.floor(Math.random() * 30_000)
}

function startNode(name: string, role: string, p: number, env: Record<string, string>) {
  const node = spawnKindred({ port: p, token, args: ['--role', role], env })
  const entry = { name, ...node }
  children.push(entry)
  return { ...entry, url: `http://127.0.0.1:${p}` }
}

async function stopCleanly(c: { name: string } & KindredProcess) {
  if (c.child.exitCode !== null) return c.child.exitCode
  const exited = new Promise<number | null>((r) => c.child.on('exit', (code) => r(code)))
  c.child.kill('SIGTERM')
  const code = await exited
  if (code !== 0) throw new Error(`${c.name} exited ${code} on SIGTERM: ${c.output()}`)
  return code
}

async function createSource(base: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'web',
      settings: { rateLimit: { eventsPerSecond: 1_000_000, burst: 1_000_000 } },
    }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { writeKey: string }).writeKey
}

/** Sends every batch (retrying 503s, as SDKs do); returns the acknowledged messageIds. */
async function sendAll(
  bases: string[],
  writeKey: string,
  events: GeneratedEvent[],
  onProgress?: (sent: number) => void,
): Promise<Set<string>> {
  const acked = new Set<string>()
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  let next = 0
  let sent = 0
  await Promise.all(
    Array.from({ length: senders }, async (_, s) => {
      for (;;) {
        const start = next
        next += batchSize
        if (start >= events.length) return
        const batch = events.slice(start, start + batchSize)
        const body = JSON.stringify({ batch })
        for (let attempt = 0; ; attempt++) {
          const base = bases[(start / batchSize + s + attempt) % bases.length] as string
          const res = await fetch(`${base}/v1/batch`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json' },
            body,
          }).catch(() => undefined)
          if (res?.status === 200) {
            for (const e of batch) acked.add(e.messageId)
            break
          }
          if (res && res.status !== 503) throw new Error(`batch: ${res.status} ${await res.text()}`)
          if (attempt > 50) throw new Error('batch: ingest kept failing')
          await new Promise((r) => setTimeout(r, 200))
        }
        sent += batch.length
        onProgress?.(sent)
      }
    }),
  )
  return acked
}

async function waitProcessed(db: pg.Client, expected: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs
  let n = 0
  while (Date.now() < until) {
    n = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]?.n ?? 0
    if (n >= expected) return n
    await new Promise((r) => setTimeout(r, 500))
  }
  return n
}

/** Profiles as a canonical set of sets of identifiers (profile ids differ between runs). */
async function identityGraph(db: pg.Client): Promise<string[]> {
  const r = await db.query<{ ids: string }>(
    `SELECT string_agg(type || ':' || value, ' ' ORDER BY type, value) AS ids
     FROM identities WHERE workspace_id = 'default' GROUP BY profile_id`,
  )
  return r.rows.map((x) => x.ids).sort()
}

async function partitionsOf(url: string): Promise<number[]> {
  const res = await fetch(`${url}/healthz`)
  return ((await res.json()) as { partitions: number[] }).partitions
}

let scaled: pg.Client
let single: pg.Client
let scaledUrl: string
let singleUrl: string

beforeAll(async () => {
  if (!databaseUrl || !natsUrl) {
    throw new Error(
      'scale-out e2e needs KINDRED_TEST_DATABASE_URL (Postgres server) and KINDRED_TEST_NATS_URL ' +
        '(NATS with JetStream): run it through .ci/run, which starts both and sets them',
    )
  }
  for (let i = 0; i < 2; i++) databases.push(await createTestDatabase(databaseUrl))
  scaledUrl = databases[0]?.url as string
  singleUrl = databases[1]?.url as string
  scaled = new pg.Client({ connectionString: scaledUrl })
  single = new pg.Client({ connectionString: singleUrl })
  await scaled.connect()
  await single.connect()
})

afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL')
  await scaled?.end().catch(() => undefined)
  await single?.end().catch(() => undefined)
  for (const d of databases) await d.drop().catch(() => undefined)
  if (natsUrl) {
    const nc = await connect({ servers: natsUrl })
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined)
    await nc.close()
  }
})

it(
  `2 ingest + 3 processors on NATS: ${totalEvents} events, a processor SIGKILLed, exactly once, same identity graph as one process`,
  { timeout: 600_000 },
  async () => {
    const started = Date.now()
    const events = generateEvents({ seed: 9, events: totalEvents, idPrefix: `so${suffix}` })
    const people = new Set(events.map((e) => e.userId ?? e.anonymousId)).size
    // One secret key for every node: they share the database (and its encrypted secrets).
    const secretKey = randomBytes(32).toString('hex')
    const env = {
      DATABASE_URL: scaledUrl,
      KINDRED_EVENT_LOG: eventLog,
      KINDRED_SECRET_KEY: secretKey,
    }

    // The first node migrates the fresh database; the others start together once it is up.
    const ingest = [startNode('ingest-1', 'ingest', port(), env)]
    await waitHealthy(ingest[0]!.url, ingest[0]!)
    ingest.push(startNode('ingest-2', 'ingest', port(), env))
    const processors = [1, 2, 3].map((i) => startNode(`processor-${i}`, 'processor', port(), env))
    const workers = [
      startNode('dispatcher', 'dispatcher', port(), env),
      startNode('scheduler', 'scheduler', port(), env),
    ]
    for (const c of [...ingest, ...processors, ...workers]) await waitHealthy(c.url, c)
    const writeKey = await createSource(ingest[0]!.url)

    // Let the three processors settle on a fair share (ceil(8/3) = 3 at most each).
    const settleUntil = Date.now() + 20_000
    let owned: number[][] = []
    while (Date.now() < settleUntil) {
      owned = await Promise.all(processors.map((p) => partitionsOf(p.url)))
      if (owned.every((o) => o.length >= 2 && o.length <= 3)) break
      await new Promise((r) => setTimeout(r, 250))
    }
    expect(owned.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])

    // SIGKILL processor 1 once a quarter of the events is sent and some are processed.
    const victim = processors[0]!
    let killed: Promise<void> | undefined
    const sendStart = Date.now()
    const acked = await sendAll(
      ingest.map((i) => i.url),
      writeKey,
      events,
      (sent) => {
        if (killed || sent < totalEvents / 4) return
        killed = (async () => {
          const before = await waitProcessed(scaled, 1, 30_000)
          expect(before).toBeGreaterThan(0)
          victim.child.kill('SIGKILL')
        })()
      },
    )
    const sendSeconds = (Date.now() - sendStart) / 1000
    await killed
    expect(victim.child.signalCode ?? (await new Promise((r) => victim.child.on('exit', r)))).toBe(
      'SIGKILL',
    )
    expect(acked.size).toBe(new Set(events.map((e) => e.messageId)).size)

    const processed = await waitProcessed(scaled, acked.size, 240_000)
    const processSeconds = (Date.now() - sendStart) / 1000
    expect(processed).toBe(acked.size)
    // Nothing more arrives late (a double apply would show up here).
    await new Promise((r) => setTimeout(r, 1_500))
    const counts = await scaled.query<{ n: number; ids: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS ids FROM events',
    )
    expect(counts.rows[0]).toEqual({ n: acked.size, ids: acked.size })
    const stored = await scaled.query<{ message_id: string }>('SELECT message_id FROM events')
    expect(stored.rows.every((r) => acked.has(r.message_id))).toBe(true)
    const survivors = await Promise.all(processors.slice(1).map((p) => partitionsOf(p.url)))
    expect(survivors.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])

    // Every process still running stops cleanly on SIGTERM.
    for (const c of [...ingest, ...processors.slice(1), ...workers]) await stopCleanly(c)
    const scaledGraph = await identityGraph(scaled)

    // The reference: one `--role all` process (Postgres event log, no NATS) on a fresh database.
    const one = startNode('single', 'all', port(), { DATABASE_URL: singleUrl })
    await waitHealthy(one.url, one)
    const singleKey = await createSource(one.url)
    const singleStart = Date.now()
    await sendAll([one.url], singleKey, events)
    expect(await waitProcessed(single, acked.size, 240_000)).toBe(acked.size)
    const singleSeconds = (Date.now() - singleStart) / 1000
    await stopCleanly(one)
    const singleGraph = await identityGraph(single)

    const merged = scaledGraph.filter((ids) => ids.split(' ').length > 2).length
    process.stdout.write(
      `scale-out e2e: ${acked.size} events (${people} people/devices), ${scaledGraph.length} profiles ` +
        `(${merged} with >2 identifiers); 2 ingest + 3 processors: sent in ${sendSeconds.toFixed(1)} s, ` +
        `all processed after ${processSeconds.toFixed(1)} s (${Math.round(acked.size / processSeconds)} events/s); ` +
        `one process: ${singleSeconds.toFixed(1)} s; whole test ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    )
    expect(merged).toBeGreaterThan(0)
    expect(scaledGraph.length).toBe(singleGraph.length)
    expect(scaledGraph).toEqual(singleGraph)
  },
)
