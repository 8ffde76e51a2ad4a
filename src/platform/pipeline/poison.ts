/**
 * Poison pills: an event that makes every attempt at its batch fail would stop the processor for
 * good (the cursor cannot pass it). After a few failures at the same position the processor asks
 * this module to find the culprits by bisection: halves of the batch are applied inside a
 * savepoint and rolled back, down to single events. Only events that fail on their own are set
 * aside (quarantined with the error, replayable); if every event fails alone the cause is not in
 * the events (the store is down, a bug in a stage) and nothing is set aside — unless every one of
 * them fails on its content (see `isContentError`): a batch of nothing but poison is set aside too.
 *
 * Setting aside cannot block the log: the handler runs in its own savepoint, and an event it
 * fails to keep is skipped, reported through `onSkip` (logged and counted), never retried forever.
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

/**
 * A failure caused by what an event holds, not by the store or the code around it: a stack
 * overflow on deep data, or a Postgres data exception (SQLSTATE class 22: invalid text or JSON,
 * an out-of-range number or date, …) or a statement too complex for it (54001).
 */
export function isContentError(err: unknown): boolean {
  if (err instanceof RangeError) return true
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('22') || code === '54001')
}

/** Called for each event that could be neither applied nor kept aside: it is skipped. */
export type SkipHandler = (skipped: PoisonEvent, keepError: unknown) => void

/** The batch without its poison events, which `handler` has kept (or `onSkip` was told of). */
export async function setPoisonAside(
  tx: Queryable,
  batch: ProcessedEvent[],
  apply: (tx: Queryable, events: ProcessedEvent[]) => Promise<unknown>,
  handler: PoisonHandler,
  onSkip: SkipHandler = () => {},
): Promise<ProcessedEvent[]> {
  const poison = await probe(tx, batch, apply)
  if (poison.length === 0) return batch
  if (
    poison.length === batch.length &&
    batch.length > 1 &&
    !poison.every((p) => isContentError(p.error))
  )
    return batch
  await keepAside(tx, poison, handler, onSkip)
  const out = new Set(poison.map((p) => p.event))
  return batch.filter((e) => !out.has(e))
}

/** All at once; if that fails, one by one, skipping those that cannot be kept. */
export async function keepAside(
  tx: Queryable,
  poison: PoisonEvent[],
  handler: PoisonHandler,
  onSkip: SkipHandler,
): Promise<void> {
  if ((await tryKeep(tx, poison, handler)) === true) return
  for (const p of poison) {
    const failure = await tryKeep(tx, [p], handler)
    if (failure !== true) onSkip(p, failure)
  }
}

async function tryKeep(
  tx: Queryable,
  poison: PoisonEvent[],
  handler: PoisonHandler,
): Promise<true | unknown> {
  await tx.query('SAVEPOINT kindred_poison_keep')
  try {
    await handler(tx, poison)
    await tx.query('RELEASE SAVEPOINT kindred_poison_keep')
    return true
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT kindred_poison_keep')
    return err ?? new Error('unknown failure')
  }
}
