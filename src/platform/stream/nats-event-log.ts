/**
 * The scale-out event log: a NATS JetStream stream split into P partitions (subjects
 * `<prefix>.<partition>`), P fixed per deployment (recorded in the stream's description and checked
 * on every start). See docs/adr/0004-jetstream-partitions-with-postgres-leases.md.
 *
 * Writing: each request chunk is split by partition (a hash of workspace + userId, else
 * anonymousId) and published with a msgID (JetStream drops a re-publish inside the duplicate
 * window); `append` resolves only after every part's PubAck, so ingest answers 200 only for
 * events the stream has stored.
 *
 * Reading: partitions are owned through Postgres session advisory locks (freed by the server the
 * moment the owner's connection dies, so a SIGKILLed processor's partitions are free at once).
 * Each owned partition has an ordered consumer starting after the cursor stored in
 * `stream_cursors`, which the processor commits with the batch's effects: exactly-once effect comes
 * from Postgres, never from NATS acks. Every processor also holds a membership lock; the count of
 * those is the number of live processors, and each one keeps ceil(P / live) partitions.
 * @module
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
} from '@nats-io/jetstream'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import {
  entryEventCount,
  refuseAppend,
  type EventLog,
  type LogEntry,
  type LogRecord,
} from './event-log.js'

export const natsEventLogConfigSchema = z.object({
  servers: z.array(z.string().min(1)).min(1),
  stream: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'stream names are letters, digits, _ and -')
    .default('KINDRED_EVENTS'),
  subjectPrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a subject prefix is dot-separated tokens')
    .default('kindred.events'),
  partitions: z.coerce.number().int().min(1).max(1024).default(8),
  replicas: z.coerce.number().int().min(1).max(5).default(1),
  /** How long the stream keeps events; longer than the worst processor outage you plan for. */
  maxAgeHours: z.coerce
    .number()
    .positive()
    .default(24 * 7),
  /** How often a processor re-counts live processors and takes or gives partitions. */
  rebalanceMs: z.coerce.number().int().min(50).max(60_000).default(2_000),
})
export type NatsEventLogConfig = z.infer<typeof natsEventLogConfigSchema>

/**
 * Parses `KINDRED_EVENT_LOG`: `nats://host:4222[,nats://host2:4222][?stream=…&partitions=8&
 * replicas=3&subjects=kindred.events&maxAgeHours=168&rebalanceMs=2000]`.
 */
export function parseNatsEventLogUrl(url: string): NatsEventLogConfig {
  const [serverPart = '', query = ''] = url.split('?', 2)
  const servers = serverPart.split(',').filter((s) => s.length > 0)
  const params = Object.fromEntries(new URLSearchParams(query))
  const { subjects, ...rest } = params
  const parsed = natsEventLogConfigSchema.safeParse({
    servers,
    ...rest,
    ...(subjects === undefined ? {} : { subjectPrefix: subjects }),
  })
  if (!parsed.success || !servers.every((s) => /^(nats|tls):\/\//.test(s))) {
    throw new KindredError(
      'CONFIG_INVALID',
      'KINDRED_EVENT_LOG must look like nats://host:4222[,nats://host2:4222][?stream=KINDRED_EVENTS&partitions=8&replicas=3]',
      { details: parsed.success ? { servers } : z.treeifyError(parsed.error) },
    )
  }
  return parsed.data
}

/** FNV-1a 32-bit: stable across processes and versions (the partition of a key never moves). */
export function hashKey(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * The partition of an event: one person's events (same userId, or same anonymousId before they
 * are identified) land on one partition and are applied in order. An anonymous device's events
 * and the identified ones can sit on two partitions: the merge is then a cross-partition one,
 * made safe by the identity stage's row locks, not by ordering.
 */
export function partitionOf(
  workspaceId: string,
  event: Pick<KindredEvent, 'userId' | 'anonymousId' | 'messageId'>,
  partitions: number,
): number {
  const routing = event.userId ?? event.anonymousId ?? event.messageId
  return hashKey(`${workspaceId}\u0000${routing}`) % partitions
}

export interface NatsEventLogOptions extends NatsEventLogConfig {
  /** Postgres server holding the cursors; also hosts the partition leases. */
  databaseUrl: string
  /** Take partitions and read them (processor roles). Ingest-only nodes only publish. */
  consume: boolean
  /** Cursor namespace, the processor's `consumer` (one group of processors per name). */
  consumer?: string
  /** Events buffered per owned partition ahead of the processor. */
  maxBufferedEvents?: number
  /** Events waiting for acks before ingest answers 503 (back-pressure). */
  maxQueuedEvents?: number
  publishTimeoutMs?: number
  onError?: (err: unknown, what: string) => void
}

export interface NatsEventLog extends EventLog {
  readonly config: NatsEventLogConfig
  partitions(): readonly number[]
  release(seq: number, partition?: number): Promise<void>
}

interface Feed {
  partition: number
  /** Cursor the buffer continues from: the buffer holds exactly the messages after it. */
  base: number
  buffer: { seq: number; records: LogRecord[]; events: number }[]
  bufferedEvents: number
  generation: number
  messages: ConsumerMessages | undefined
  space: (() => void) | undefined
}

interface WireRecord {
  workspaceId: string
  sourceId: string
  receivedAt: string
  events: KindredEvent[]
}

const describe = (partitions: number) => `kindred event log; partitions=${partitions}`

export async function openNatsEventLog(options: NatsEventLogOptions): Promise<NatsEventLog> {
  const config = natsEventLogConfigSchema.parse(options)
  const { stream, partitions, subjectPrefix } = config
  const consumer = options.consumer ?? 'processor'
  const maxBuffered = options.maxBufferedEvents ?? 20_000
  const maxQueuedEvents = options.maxQueuedEvents ?? 200_000
  const publishTimeoutMs = options.publishTimeoutMs ?? 10_000
  const onError = options.onError ?? (() => undefined)
  const subject = (p: number) => `${subjectPrefix}.${p}`

  const nc: NatsConnection = await connect({
    servers: config.servers,
    name: `kindred-${options.consume ? 'processor' : 'ingest'}`,
    maxReconnectAttempts: -1,
  })
  try {
    await ensureStream(nc, config)
  } catch (err) {
    await nc.close()
    throw err
  }
  const js: JetStreamClient = jetstream(nc, { timeout: publishTimeoutMs })

  const listeners = new Set<() => void>()
  const notify = () => {
    for (const l of listeners) l()
  }

  // ------------------------------------------------------------------------------------------
  // Writer
  // ------------------------------------------------------------------------------------------
  const node = randomUUID()
  let counter = 0
  let queuedEvents = 0
  let closed = false
  const inFlight = new Set<Promise<unknown>>()

  async function publishEntry(entry: LogEntry, id: string): Promise<void> {
    const parts = new Map<number, KindredEvent[]>()
    for (const e of entry.events) {
      const p = partitionOf(entry.workspaceId, e, partitions)
      let list = parts.get(p)
      if (!list) parts.set(p, (list = []))
      list.push(e)
    }
    const head = `{"workspaceId":${JSON.stringify(entry.workspaceId)},"sourceId":${JSON.stringify(
      entry.sourceId,
    )},"receivedAt":${JSON.stringify(entry.receivedAt)},"events":`
    await Promise.all(
      [...parts].map(([p, events]) => {
        const json =
          parts.size === 1 && entry.eventsJson !== undefined
            ? entry.eventsJson
            : JSON.stringify(events)
        // The msgID makes a retried publish of this part a no-op inside the duplicate window.
        return js.publish(subject(p), `${head}${json}}`, {
          msgID: `${id}.${p}`,
          expect: { streamName: stream },
          timeout: publishTimeoutMs,
        })
      }),
    )
  }

  // ------------------------------------------------------------------------------------------
  // Reader: partition leases and one ordered consumer per owned partition
  // ------------------------------------------------------------------------------------------
  const feeds = new Map<number, Feed>()
  const lockKey = hashKey(`kindred:${stream}:${consumer}:partitions`) & 0x7fffffff
  const memberKey = hashKey(`kindred:${stream}:${consumer}:members`) & 0x7fffffff
  let lockClient: pg.Client | undefined
  let rebalanceTimer: NodeJS.Timeout | undefined
  let rebalancing: Promise<void> | undefined

  async function runFeed(feed: Feed): Promise<void> {
    const generation = feed.generation
    try {
      const c = await js.consumers.get(stream, {
        filter_subjects: subject(feed.partition),
        ...(feed.base > 0
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: feed.base + 1 }
          : { deliver_policy: DeliverPolicy.All }),
      })
      if (generation !== feed.generation) return
      const messages = await c.consume({ max_messages: 256 })
      feed.messages = messages
      if (generation !== feed.generation) {
        await messages.close()
        return
      }
      for await (const m of messages) {
        if (generation !== feed.generation) break
        const wire = m.json<WireRecord>()
        const records: LogRecord[] = [{ ...wire, seq: m.seq }]
        feed.buffer.push({ seq: m.seq, records, events: wire.events.length })
        feed.bufferedEvents += wire.events.length
        notify()
        while (feed.bufferedEvents > maxBuffered && generation === feed.generation) {
          await new Promise<void>((resolve) => (feed.space = resolve))
        }
      }
    } catch (err) {
      if (generation === feed.generation && !closed) {
        onError(err, `reading partition ${feed.partition}`)
        await new Promise((r) => setTimeout(r, 1_000))
        if (generation === feed.generation && feeds.get(feed.partition) === feed) restart(feed)
      }
    }
  }

  function stopFeed(feed: Feed): void {
    feed.generation++
    feed.buffer = []
    feed.bufferedEvents = 0
    const m = feed.messages
    feed.messages = undefined
    feed.space?.()
    if (m) void m.close().catch(() => undefined)
  }

  function restart(feed: Feed, from = feed.base): void {
    stopFeed(feed)
    feed.base = from
    void runFeed(feed)
  }

  function startFeed(partition: number, base: number): void {
    const feed: Feed = {
      partition,
      base,
      buffer: [],
      bufferedEvents: 0,
      generation: 0,
      messages: undefined,
      space: undefined,
    }
    feeds.set(partition, feed)
    void runFeed(feed)
  }

  async function cursorOf(db: pg.Client, partition: number): Promise<number> {
    const r = await db.query<{ position: string }>(
      'SELECT position FROM stream_cursors WHERE consumer = $1 AND partition = $2',
      [consumer, partition],
    )
    return Number(r.rows[0]?.position ?? 0)
  }

  function dropAll(): void {
    for (const f of feeds.values()) stopFeed(f)
    feeds.clear()
  }

  async function connectLocks(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: options.databaseUrl })
    client.on('error', (err) => {
      // The server freed our locks with the connection: stop reading what we no longer own.
      onError(err, 'partition lease connection lost')
      if (lockClient === client) lockClient = undefined
      dropAll()
    })
    await client.connect()
    for (;;) {
      const member = Math.floor(Math.random() * 0x7fffffff)
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        memberKey,
        member,
      ])
      if (r.rows[0]?.ok) return client
    }
  }

  async function rebalance(): Promise<void> {
    if (closed) return
    lockClient ??= await connectLocks()
    const db = lockClient
    const live = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND classid = $1::int8::oid AND objsubid = 2`,
      [memberKey],
    )
    const members = Math.max(1, live.rows[0]?.n ?? 1)
    const fair = Math.ceil(partitions / members)
    // Give back the extras (highest first) so newcomers can take them.
    const owned = [...feeds.keys()].sort((a, b) => b - a)
    while (owned.length > fair) {
      const p = owned.shift() as number
      const feed = feeds.get(p)
      if (feed) stopFeed(feed)
      feeds.delete(p)
      await db.query('SELECT pg_advisory_unlock($1, $2)', [lockKey, p])
    }
    if (feeds.size >= fair) return
    // Start the search at a random partition so newcomers do not all race for the same ones.
    const offset = Math.floor(Math.random() * partitions)
    for (let i = 0; i < partitions && feeds.size < fair && !closed; i++) {
      const p = (offset + i) % partitions
      if (feeds.has(p)) continue
      const r = await db.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
        lockKey,
        p,
      ])
      if (r.rows[0]?.ok) startFeed(p, await cursorOf(db, p))
    }
  }

  function scheduleRebalance(): void {
    if (closed) return
    rebalancing = rebalance()
      .catch((err: unknown) => {
        onError(err, 'partition rebalance')
        const c = lockClient
        lockClient = undefined
        dropAll()
        if (c) void c.end().catch(() => undefined)
      })
      .finally(() => {
        rebalancing = undefined
        if (!closed) rebalanceTimer = setTimeout(scheduleRebalance, config.rebalanceMs)
      })
  }

  if (options.consume) {
    // The first rebalance happens before open returns, so a lone processor starts owning all.
    scheduleRebalance()
    await rebalancing
  }

  return {
    config,
    append(entry) {
      const count = entryEventCount(entry)
      const refused = refuseAppend(closed, queuedEvents, count, maxQueuedEvents)
      if (refused) return Promise.reject(refused)
      queuedEvents += count
      const p = publishEntry(entry, `${node}.${++counter}`).then(
        () => notify(),
        (err: unknown) => {
          throw new KindredError('UNAVAILABLE', 'the event log could not be written; retry', {
            cause: err,
            headers: { 'Retry-After': '1' },
          })
        },
      )
      const tracked = p.finally(() => {
        queuedEvents -= count
        inFlight.delete(tracked)
      })
      inFlight.add(tracked)
      return tracked
    },
    onAppended(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    partitions() {
      return [...feeds.keys()].sort((a, b) => a - b)
    },
    read(_tx, afterSeq, maxEvents, partition = 0) {
      const feed = feeds.get(partition)
      if (!feed) return Promise.resolve([])
      if (afterSeq !== feed.base) {
        // Another processor moved this partition on (or we never read it): follow its cursor.
        restart(feed, afterSeq)
        return Promise.resolve([])
      }
      const out: LogRecord[] = []
      let events = 0
      for (const item of feed.buffer) {
        if (out.length > 0 && events + item.events > maxEvents) break
        out.push(...item.records)
        events += item.events
      }
      return Promise.resolve(out)
    },
    release(seq, partition = 0) {
      const feed = feeds.get(partition)
      if (!feed) return Promise.resolve()
      let dropped = 0
      while (feed.buffer.length > 0 && (feed.buffer[0]?.seq ?? Infinity) <= seq) {
        dropped += feed.buffer.shift()?.events ?? 0
      }
      feed.bufferedEvents -= dropped
      feed.base = Math.max(feed.base, seq)
      if (feed.bufferedEvents <= maxBuffered) {
        const wake = feed.space
        feed.space = undefined
        wake?.()
      }
      return Promise.resolve()
    },
    async close() {
      if (closed) return
      closed = true
      if (rebalanceTimer) clearTimeout(rebalanceTimer)
      await Promise.allSettled([...inFlight])
      await rebalancing
      dropAll()
      // Ending the session frees our partition and membership locks for the others at once.
      await lockClient?.end().catch(() => undefined)
      lockClient = undefined
      await nc.drain().catch(() => undefined)
    },
  }
}

/** Creates the stream, or checks that an existing one has this deployment's partition count. */
async function ensureStream(nc: NatsConnection, config: NatsEventLogConfig): Promise<void> {
  const jsm = await jetstreamManager(nc)
  const wanted = describe(config.partitions)
  let info
  try {
    info = await jsm.streams.info(config.stream)
  } catch (err) {
    if (!/not found/i.test(String((err as Error).message))) throw err
  }
  if (info) {
    if (info.config.description !== wanted) {
      throw new KindredError(
        'CONFIG_INVALID',
        `stream ${config.stream} was created with "${info.config.description ?? ''}", not ${config.partitions} partitions; the partition count is fixed per deployment (use the recorded one or a new stream)`,
      )
    }
    return
  }
  await jsm.streams.add({
    name: config.stream,
    description: wanted,
    subjects: [`${config.subjectPrefix}.*`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: config.replicas,
    max_age: Math.round(config.maxAgeHours * 3600 * 1e9),
    duplicate_window: 2 * 60 * 1e9,
  })
}
