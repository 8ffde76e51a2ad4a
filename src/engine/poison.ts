/**
 * Poison pills: an event that makes every attempt at its batch fail would stop the processor for
 * good (the cursor cannot pass it). After a few failures at the same position the processor asks
 * this module to find the culprits by bisection: halves of the batch are applied inside a
 * savepoint and rolled back, down to single events. Only events that fail on their own are set
 * aside (quarantined with the error, replayable); if every event fails alone the cause is not in
 * the events (the store is down, a bug in a stage) and nothing is set aside.
 */
import type { Queryable } from '../store/db.js'
import type { ProcessedEvent } from './processor.js'

export interface PoisonEvent {
  event: ProcessedEvent
  error: unknown
}

/** Keeps poison events somewhere durable, in the batch transaction (the quarantine). */
export type PoisonHandler = (tx: Queryable, poison: PoisonEvent[]) => Promise<void>

/** Consecutive failures at one log position before bisection starts. */
export const POISON_AFTER_FAILURES = 3

async function probe(
  tx: Queryable,
  events: ProcessedEvent[],
  apply: (tx: Queryable, events: ProcessedEvent[]) => Promise<unknown>,
): Promise<PoisonEvent[]> {
  if (events.length === 0) return []
  await tx.query('SAVEPOINT kindred_poison_probe')
  let error: unknown
  try {
    // Stages set profileIds on the objects they get: probe on copies.
    await apply(
      tx,
      events.map((e) => ({ ...e })),
    )
  } catch (err) {
    error = err ?? new Error('unknown failure')
  }
  await tx.query('ROLLBACK TO SAVEPOINT kindred_poison_probe')
  if (error === undefined) return []
  if (events.length === 1) return [{ event: events[0] as ProcessedEvent, error }]
  const mid = Math.ceil(events.length / 2)
  return [
    ...(await probe(tx, events.slice(0, mid), apply)),
    ...(await probe(tx, events.slice(mid), apply)),
  ]
}

/** The batch without its poison events, which `handler` has kept. */
export async function setPoisonAside(
  tx: Queryable,
  batch: ProcessedEvent[],
  apply: (tx: Queryable, events: ProcessedEvent[]) => Promise<unknown>,
  handler: PoisonHandler,
): Promise<ProcessedEvent[]> {
  const poison = await probe(tx, batch, apply)
  if (poison.length === 0 || (poison.length === batch.length && batch.length > 1)) return batch
  await handler(tx, poison)
  const out = new Set(poison.map((p) => p.event))
  return batch.filter((e) => !out.has(e))
}
