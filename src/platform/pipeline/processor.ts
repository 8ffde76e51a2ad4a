import type { KindredEvent } from '../../protocol/event-schema.js'
import type { Db, Queryable } from '../store/db.js'
import type { EventLogReader, LogRecord } from '../stream/event-log.js'
import { pollingLoop } from '../jobs/loops.js'
import type { Metrics } from '../metrics/metrics.js'
import {
  POISON_AFTER_FAILURES,
  keepAside,
  setPoisonAside,
  type PoisonEvent,
  type PoisonHandler,
  type SkipHandler,
} from './poison.js'

export interface ProcessedEvent {
  workspaceId: string
  sourceId: string
  seq: number
  event: KindredEvent
  profileId: string | null
}

/** Every stage works per workspace (rules, definitions and destinations are per workspace). */
export function groupByWorkspace(batch: readonly ProcessedEvent[]): Map<string, ProcessedEvent[]> {
  const groups = new Map<string, ProcessedEvent[]>()
  for (const e of batch) {
    let list = groups.get(e.workspaceId)
    if (!list) groups.set(e.workspaceId, (list = []))
    list.push(e)
  }
  return groups
}

/**
 * A stage applied inside the processor's transaction, in order, after dedup. Identity resolution
 * assigns `profileId`s; later stages (profiles, computed traits, segments, outbox) read them.
 */
export type ProcessorStage = ((tx: Queryable, batch: ProcessedEvent[]) => Promise<void>) & {
  /** After the batch's transaction commits (a stage may publish what it learnt, e.g. a cache). */
  committed?(): void
  /** After it rolled back. */
  rolledBack?(): void
}

/**
 * Runs after dedup and before every stage: returns the events to apply. What it leaves out it
 * must keep elsewhere in the same transaction (tracking-plan quarantine), never drop.
 */
export type ProcessorFilter = (tx: Queryable, batch: ProcessedEvent[]) => Promise<ProcessedEvent[]>

export interface ProcessorOptions {
  db: Db
  log: EventLogReader
  metrics: Metrics
  consumer?: string
  /** Most events applied in one micro-batch (one transaction). */
  maxBatchEvents?: number
  /** Fallback poll when no in-process append wakes us (other ingest nodes). */
  pollIntervalMs?: number
  /** Run first, over the fresh events: may set events aside (data quality). */
  filters?: ProcessorFilter[]
  /** Run before the batch's events are inserted (identity: they decide each event's profile). */
  stages?: ProcessorStage[]
  /** Run after the events are inserted (computed traits, segments, destinations read them). */
  postStages?: ProcessorStage[]
  onError?: (err: unknown) => void
  /** Keeps events that fail their batch on their own (see poison.ts); without it, retry forever. */
  onPoison?: PoisonHandler
  /** An event that could neither be applied nor kept aside was skipped (already counted). */
  onSkip?: SkipHandler
  onBatch?: (batch: ProcessedEvent[]) => void
  /** A batch failing or in flight this long while events wait counts as stalled (default 60 s). */
  stallAfterMs?: number
  /** Time source of the stall check (tests). */
  now?: () => number
}

/** Is the processor moving? `/healthz` degrades while `stalled`. */
export interface ProcessorHealth {
  stalled: boolean
  reason?: string
  consecutiveFailures: number
  /** Events in the last batch read (also when it failed): the lag. */
  lag: number
  lastProgressAt: string | null
}

export interface Processor {
  /** Applies at most one micro-batch; returns how many log events it consumed. */
  runOnce(): Promise<number>
  /** Runs until caught up with the log (tests, `kindred reprocess`). */
  drain(): Promise<number>
  start(): void
  wake(): void
  stop(): Promise<void>
  health(): ProcessorHealth
}

const eventColumns = `workspace_id text, profile_id text, source_id text, message_id text, seq bigint,
  type text, event text, user_id text, anonymous_id text, "timestamp" timestamptz,
  received_at timestamptz, properties jsonb, traits jsonb, context jsonb, payload jsonb`

export function createProcessor(options: ProcessorOptions): Processor {
  const { db, metrics } = options
  const consumer = options.consumer ?? 'processor'
  const maxBatchEvents = options.maxBatchEvents ?? 2_000
  const pollIntervalMs = options.pollIntervalMs ?? 200
  const stages = options.stages ?? []
  const hooked = [...stages, ...(options.postStages ?? [])]
  /** Consecutive failures per partition; a batch that keeps failing has its poison set aside. */
  const failures = new Map<number, number>()
  const now = options.now ?? Date.now
  const stallAfterMs = options.stallAfterMs ?? 60_000
  /** Events read by the batch in flight or last attempted, per partition (the lag on failure). */
  const pending = new Map<number, number>()
  let lastProgressAt: number | undefined
  let inFlightSince: number | undefined
  let lastError: string | undefined
  const onSkip: SkipHandler = (skipped, keepError) => {
    metrics.eventsSkipped.inc({ reason: 'set_aside_failed' })
    options.onSkip?.(skipped, keepError)
  }

  function health(): ProcessorHealth {
    const worst = Math.max(0, ...failures.values())
    const lag = Math.max(0, ...pending.values())
    const t = now()
    let reason: string | undefined
    if (worst >= POISON_AFTER_FAILURES) {
      reason = `the current batch failed ${worst} times in a row${lastError ? `: ${lastError}` : ''}`
    } else if (inFlightSince !== undefined && t - inFlightSince > stallAfterMs) {
      reason = `a batch has been in flight for ${Math.round((t - inFlightSince) / 1000)} s`
    } else if (
      lag > 0 &&
      worst > 0 &&
      lastProgressAt !== undefined &&
      t - lastProgressAt > stallAfterMs
    ) {
      reason = `the cursor has not advanced for ${Math.round((t - lastProgressAt) / 1000)} s with ${lag} events waiting`
    }
    metrics.processorStalled.set(reason ? 1 : 0)
    return {
      stalled: reason !== undefined,
      ...(reason ? { reason } : {}),
      consecutiveFailures: worst,
      lag,
      lastProgressAt: lastProgressAt === undefined ? null : new Date(lastProgressAt).toISOString(),
    }
  }

  async function applyEvents(tx: Queryable, unique: ProcessedEvent[]): Promise<ProcessedEvent[]> {
    let fresh = unique
    for (const filter of options.filters ?? []) fresh = await filter(tx, fresh)
    for (const stage of stages) await stage(tx, fresh)
    if (fresh.length > 0) await insertEvents(tx, fresh)
    if (fresh.length > 0) for (const stage of options.postStages ?? []) await stage(tx, fresh)
    return fresh
  }

  /**
   * Events the log could not decode under today's rules are kept aside like poison (reason
   * `poison`, with why), or skipped and counted when there is nowhere to keep them.
   */
  async function setRejectedAside(tx: Queryable, records: LogRecord[]): Promise<number> {
    const poison: PoisonEvent[] = []
    for (const r of records) {
      for (const rej of r.rejected ?? []) {
        const raw = rej.raw
        const obj =
          typeof raw === 'object' && raw !== null && !Array.isArray(raw)
            ? (raw as Record<string, unknown>)
            : { value: raw }
        const messageId =
          typeof obj.messageId === 'string' && obj.messageId !== ''
            ? obj.messageId
            : `undecodable-${r.seq}-${rej.index}`
        const event = { ...obj, messageId } as unknown as KindredEvent
        poison.push({
          event: {
            workspaceId: r.workspaceId,
            sourceId: r.sourceId,
            seq: r.seq,
            event,
            profileId: null,
          },
          error: new Error(rej.message),
        })
      }
    }
    if (poison.length === 0) return 0
    if (options.onPoison) await keepAside(tx, poison, options.onPoison, onSkip)
    else {
      metrics.eventsSkipped.inc({ reason: 'undecodable' }, poison.length)
      for (const p of poison) options.onSkip?.(p, p.error)
    }
    return poison.length
  }

  async function applyBatch(
    tx: Queryable,
    partition: number,
  ): Promise<{ consumed: number; applied: ProcessedEvent[]; lastSeq?: number }> {
    await tx.query(
      `INSERT INTO stream_cursors (consumer, partition, position) VALUES ($1, $2, 0)
       ON CONFLICT (consumer, partition) DO NOTHING`,
      [consumer, partition],
    )
    // The row lock makes concurrent processors of one partition take turns (a partition lease
    // that changes hands mid-batch costs a wait, never a double apply).
    const cur = await tx.query<{ position: number | string }>(
      'SELECT position FROM stream_cursors WHERE consumer = $1 AND partition = $2 FOR UPDATE',
      [consumer, partition],
    )
    const position = Number(cur.rows[0]?.position ?? 0)
    const records: LogRecord[] = await options.log.read(tx, position, maxBatchEvents, partition)
    if (records.length === 0) return { consumed: 0, applied: [] }
    pending.set(
      partition,
      records.reduce((n, r) => n + r.events.length + (r.rejected?.length ?? 0), 0),
    )

    const all: ProcessedEvent[] = []
    for (const r of records) {
      for (const event of r.events) {
        all.push({
          workspaceId: r.workspaceId,
          sourceId: r.sourceId,
          seq: r.seq,
          event,
          profileId: null,
        })
      }
    }
    const rejected = await setRejectedAside(tx, records)
    const unique = await dedup(tx, all)
    const healthy =
      (failures.get(partition) ?? 0) >= POISON_AFTER_FAILURES && options.onPoison
        ? await setPoisonAside(tx, unique, applyEvents, options.onPoison, onSkip)
        : unique
    const fresh = await applyEvents(tx, healthy)
    const last = records[records.length - 1] as LogRecord
    await tx.query(
      'UPDATE stream_cursors SET position = $2, updated_at = now() WHERE consumer = $1 AND partition = $3',
      [consumer, last.seq, partition],
    )
    metrics.eventsDuplicate.inc(all.length - unique.length)
    return { consumed: all.length + rejected, applied: fresh, lastSeq: last.seq }
  }

  async function runPartition(partition: number): Promise<number> {
    const end = metrics.processorBatchDuration.startTimer()
    let result: Awaited<ReturnType<typeof applyBatch>>
    inFlightSince = now()
    try {
      result = await db.transaction((tx) => applyBatch(tx, partition))
      failures.delete(partition)
    } catch (err) {
      inFlightSince = undefined
      for (const stage of hooked) stage.rolledBack?.()
      // A lost race says nothing about the events: only other failures point at a poison pill.
      if (!isRace(err)) failures.set(partition, (failures.get(partition) ?? 0) + 1)
      lastError = (err instanceof Error ? err.message : String(err)).slice(0, 200)
      // The events read are still waiting: the lag stays visible while the batch fails.
      metrics.processorLag.set(Math.max(1, ...pending.values()))
      metrics.processorFailures.set(Math.max(0, ...failures.values()))
      health()
      throw err
    }
    inFlightSince = undefined
    lastProgressAt = now()
    metrics.processorLastProgress.set(lastProgressAt / 1000)
    pending.delete(partition)
    metrics.processorFailures.set(Math.max(0, ...failures.values()))
    for (const stage of hooked) stage.committed?.()
    const { consumed, applied, lastSeq } = result
    if (consumed > 0) {
      // Only after COMMIT may the log forget what this batch read.
      if (lastSeq !== undefined) await options.log.release?.(lastSeq, partition)
      end()
      metrics.eventsProcessed.inc(applied.length)
      options.onBatch?.(applied)
    }
    metrics.processorLag.set(consumed >= maxBatchEvents ? consumed : 0)
    health()
    return consumed
  }

  // Partitioned logs: one micro-batch from the next owned partition that has events, round robin.
  let turn = 0
  async function runOnce(): Promise<number> {
    const owned = options.log.partitions?.() ?? [0]
    for (let i = 0; i < owned.length; i++) {
      const partition = owned[(turn + i) % owned.length] as number
      const n = await runPartition(partition)
      if (n > 0) {
        turn = (turn + i + 1) % owned.length
        return n
      }
    }
    return 0
  }

  async function drain(): Promise<number> {
    let total = 0
    for (;;) {
      const n = await runOnce()
      if (n === 0) return total
      total += n
    }
  }

  const loop = pollingLoop(async () => (await runOnce()) > 0, {
    intervalMs: pollIntervalMs,
    onError: (err) => options.onError?.(err),
    // Lost a race with another processor (deadlock, serialization, a key inserted first): the
    // batch rolled back whole, so retry it soon; anything else backs off longer.
    errorDelayMs: (err) => (isRace(err) ? 20 + Math.random() * 80 : 500),
  })

  return {
    runOnce,
    drain,
    start: loop.start,
    wake: loop.wake,
    stop: loop.stop,
    health,
  }
}

/** Deadlock, serialization failure, or a key another processor inserted first. */
function isRace(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code
  return code === '40P01' || code === '40001' || code === '23505'
}

/** Keeps the first occurrence of each (source, messageId) never stored before. */
async function dedup(tx: Queryable, batch: ProcessedEvent[]): Promise<ProcessedEvent[]> {
  if (batch.length === 0) return batch
  const res = await tx.query<{ source_id: string; message_id: string }>(
    `INSERT INTO event_ids (workspace_id, source_id, message_id, seen_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
     ON CONFLICT DO NOTHING RETURNING source_id, message_id`,
    [
      batch.map((e) => e.workspaceId),
      batch.map((e) => e.sourceId),
      batch.map((e) => e.event.messageId),
      batch.map((e) => e.event.receivedAt),
    ],
  )
  const fresh = new Set(res.rows.map((r) => `${r.source_id}\u0000${r.message_id}`))
  const out: ProcessedEvent[] = []
  for (const e of batch) {
    const key = `${e.sourceId}\u0000${e.event.messageId}`
    if (fresh.delete(key)) out.push(e)
  }
  return out
}

async function insertEvents(tx: Queryable, batch: ProcessedEvent[]): Promise<void> {
  const rows = batch.map(({ workspaceId, sourceId, seq, event, profileId }) => {
    const { properties, traits, context, ...payload } = event
    return {
      workspace_id: workspaceId,
      profile_id: profileId,
      source_id: sourceId,
      message_id: event.messageId,
      seq,
      type: event.type,
      event:
        event.event ??
        (event.type === 'page' || event.type === 'screen' ? (event.name ?? null) : null),
      user_id: event.userId ?? null,
      anonymous_id: event.anonymousId ?? null,
      timestamp: event.timestamp,
      received_at: event.receivedAt,
      properties,
      traits,
      context,
      payload,
    }
  })
  await tx.query(
    `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event, user_id,
       anonymous_id, "timestamp", received_at, properties, traits, context, payload)
     SELECT workspace_id, profile_id, source_id, message_id, seq, type, event, user_id, anonymous_id,
       "timestamp", received_at, properties, traits, context, payload
     FROM jsonb_to_recordset($1::jsonb) AS x(${eventColumns})`,
    [JSON.stringify(rows)],
  )
}
