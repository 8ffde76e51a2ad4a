/**
 * The event-log port. Ingest appends (and answers 200 only once `append` resolves, i.e. the
 * events are durable); processors read in order and keep a cursor per partition.
 * Adapters: `postgres-event-log.ts` (default; PGlite or a Postgres server) and NATS JetStream.
 * @module
 */
import type { KindredEvent } from '../protocol/event-schema.js'

export interface LogEntry {
  workspaceId: string
  sourceId: string
  receivedAt: string
  events: KindredEvent[]
}

export interface LogRecord extends LogEntry {
  /** Position in the log (monotonic per partition). */
  seq: number
}

export interface EventLogWriter {
  /** Resolves once the entry is durable. Rejects with OVERLOADED when the queue is full. */
  append(entry: LogEntry): Promise<void>
  /** Called after each durable group, so an in-process processor can wake at once. */
  onAppended(listener: () => void): () => void
  /** Waits for queued appends, then stops accepting new ones. */
  close(): Promise<void>
}
