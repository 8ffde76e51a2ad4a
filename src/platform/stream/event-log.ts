/**
 * The event-log port. Ingest appends (and answers 200 only once `append` resolves, i.e. the
 * events are durable); processors read in order and keep a cursor (in the store, in the same
 * transaction as their effects).
 * Adapters: `file-event-log.ts` (embedded default: segment files with group commit and fsync),
 * `postgres-event-log.ts` (Postgres server, shared by many ingest nodes), `nats-event-log.ts`
 * (NATS JetStream, partitioned: processors on many machines share the partitions).
 * @module
 */
import { KindredError } from '../../protocol/errors.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import type { RawEvents, RejectedEvent } from '../../protocol/raw-events.js'
import type { Queryable } from '../store/db.js'

export interface LogEntry {
  workspaceId: string
  sourceId: string
  receivedAt: string
  events: KindredEvent[]
  /** `JSON.stringify(events)` when the caller already has it (ingest does): saves a pass. */
  eventsJson?: string
  /**
   * The same events as the client sent them (ingest's fast path, ADR 0005). A log that can store
   * bytes keeps these instead of serialising `events`; readers still get canonical `events`.
   */
  rawEvents?: RawEvents
  /** `events.length`, when `events` is computed on demand (a getter over `rawEvents`). */
  eventCount?: number
}

export interface LogRecord extends LogEntry {
  /** Position in the log after this record; strictly increasing. Cursors store it. */
  seq: number
  /**
   * Events of this record the reader could not turn into canonical events (stored by older
   * rules): the processor sets them aside instead of failing on them forever.
   */
  rejected?: RejectedEvent[]
}

export interface EventLogWriter {
  /** Resolves once the entry is durable. Rejects with OVERLOADED when the queue is full. */
  append(entry: LogEntry): Promise<void>
  /** Called after each durable group, so an in-process processor can wake at once. */
  onAppended(listener: () => void): () => void
  /** Waits for queued appends, then stops accepting new ones. */
  close(): Promise<void>
  /**
   * Removes a person's events from what the log keeps on disk (privacy deletion). Logs whose
   * storage the store's erasure already covers (the `event_log` table) or that expire on their
   * own (JetStream `max_age`) leave it out.
   */
  erase?(request: LogErasure): Promise<LogErasureResult>
}

export interface LogErasure {
  workspaceId: string
  /** Lower-case identifier values: a record mentioning none of them is left alone unread. */
  needles: string[]
  /** The event belongs to the person (their identifiers); others' events are always kept. */
  concerns(event: KindredEvent): boolean
}

export interface LogErasureResult {
  /** Records rewritten without the person's events. */
  records: number
  /** The person's events removed. */
  events: number
  /**
   * Records not yet consumed whose remaining events did not fit in the record's bytes: left as
   * they are; once the processor has applied them an erasure again blanks them.
   */
  deferred: number
}

export interface EventLogReader {
  /**
   * The partitions this process should consume now (each has its own cursor). Absent: the log is
   * one partition, 0. A partitioned log changes the answer as processors join and leave.
   */
  partitions?(): readonly number[]
  /**
   * Records of `partition` after position `afterSeq`, in order, about `maxEvents` events (always
   * at least one record when any is there). `tx` is the processor's transaction (used by
   * table-backed logs).
   */
  read(tx: Queryable, afterSeq: number, maxEvents: number, partition?: number): Promise<LogRecord[]>
  /** Everything of `partition` up to `seq` is applied (committed): the log may drop it. */
  release?(seq: number, partition?: number): Promise<void>
}

export interface EventLog extends EventLogWriter, EventLogReader {}

/** How many events an entry holds, without building them when they are computed on demand. */
export function entryEventCount(entry: LogEntry): number {
  return entry.eventCount ?? entry.events.length
}

/**
 * Why an adapter refuses an append now, or undefined: it is closing (UNAVAILABLE) or its queue
 * is full (OVERLOADED). Both say "retry" (Retry-After: 1), which SDKs do for 503 and 429.
 */
export function refuseAppend(
  closed: boolean,
  queuedEvents: number,
  adding: number,
  maxQueuedEvents: number,
): KindredError | undefined {
  if (closed) {
    return new KindredError('UNAVAILABLE', 'shutting down; retry against another node', {
      headers: { 'Retry-After': '1' },
    })
  }
  if (queuedEvents + adding > maxQueuedEvents) {
    return new KindredError('OVERLOADED', 'ingest is saturated; retry shortly', {
      headers: { 'Retry-After': '1' },
    })
  }
  return undefined
}
