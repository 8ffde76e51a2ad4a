/**
 * Delivery jobs in the store (`delivery_jobs`, migrations 0200 and 0205), typed: what the
 * processor stage, the outbox fan-out, consent and privacy enqueue, and how the dispatcher
 * claims, settles and sweeps them on the shared leased queue (`platform/jobs/leased-queue.ts`);
 * and what the destinations API reads of them: counts by state, dead letters, their replay.
 *
 * A job holds the transform's input without the profile snapshot (read at send time), except a
 * privacy deletion's, whose profile is erased before the job runs. Enqueueing is idempotent:
 * `(destination_id, idempotency_key)` is unique, and a job whose key exists is not enqueued
 * again (a reprocessed event, a re-read outbox row, a repeated chunk).
 *
 * A destination's deletions are claimed ahead of its backlog (a lane of their own, with its
 * partial index): a person's deletion does not wait behind thousands of pending events.
 */
import type { Queryable } from '../../../platform/store/db.js'
import { createLeasedQueue, type Settlement } from '../../../platform/jobs/leased-queue.js'
import type { DestinationEvent, ProfileSnapshot } from '../../core/index.js'
import type { JobTransition } from '../../core/delivery-policy.js'

export type DeliveryJobKind = 'event' | 'profile' | 'audience' | 'delete'

export interface AudienceChange {
  action: 'add' | 'remove'
  audience: { id: string; name: string; key: string }
  /** `consent`: a removal owed to a revocation, sent although the purpose is now denied. */
  reason?: 'consent'
}

/** What each kind of job carries (as stored in `input`). */
export interface DeliveryJobInputs {
  event: { kind: 'event'; event: DestinationEvent }
  profile: { kind: 'profile'; changedTraits: string[] }
  audience: { kind: 'audience' } & AudienceChange
  /** The identifying part of the erased profile, and the request it serves. */
  delete: { profile: ProfileSnapshot; privacyRequestId: string }
}

interface JobHead {
  workspaceId: string
  destinationId: string
  profileId: string | null
}

export type NewDeliveryJob = {
  [K in DeliveryJobKind]: JobHead & {
    kind: K
    input: DeliveryJobInputs[K]
    /** Same work, same key: see the header. */
    idempotencyKey: string
  }
}[DeliveryJobKind]

export type ClaimedDeliveryJob = {
  [K in DeliveryJobKind]: JobHead & {
    id: string
    kind: K
    /** A scrubbed job (privacy deletion) keeps none of its input. */
    input: Partial<DeliveryJobInputs[K]>
    /** Including the one this claim started. */
    attempts: number
    /** Epoch ms. */
    createdAt: number
  }
}[DeliveryJobKind]

export type DeliveryJobState = 'pending' | 'in_flight' | 'succeeded' | 'skipped' | 'dead'

/** A job that ran out of attempts (`dead`), as the destinations API lists it. */
export interface DeadLetter {
  id: string
  kind: DeliveryJobKind
  profileId: string | null
  attempts: number
  lastError: string | null
  createdAt: string
  /** When it was dead-lettered. */
  failedAt: string | null
  /** As stored: a scrubbed job (privacy deletion) keeps none of it. */
  input: unknown
}

const iso = (v: unknown): string | null =>
  v === null || v === undefined ? null : new Date(v as string).toISOString()

const toMs = (v: unknown): number =>
  v instanceof Date ? v.getTime() : new Date(String(v)).getTime()

const queue = createLeasedQueue<ClaimedDeliveryJob, string>({
  table: 'delivery_jobs',
  key: { columns: [{ name: 'id', type: 'bigint' }], values: (id) => [id] },
  state: {
    column: 'state',
    ready: ['pending'],
    claimed: 'in_flight',
    retry: 'pending',
    dead: 'dead',
  },
  due: 'next_attempt_at',
  leasedUntil: 'locked_until',
  attempts: { column: 'attempts', countedOn: 'claim' },
  error: 'last_error',
  updatedAt: 'updated_at',
  finishedAt: 'finished_at',
  lanes: ["q.kind = 'delete'", 'true'],
  order: 'next_attempt_at, id',
  decode: (r) =>
    ({
      id: String(r.id),
      workspaceId: String(r.workspace_id),
      destinationId: String(r.destination_id),
      kind: r.kind as DeliveryJobKind,
      profileId: (r.profile_id as string | null) ?? null,
      input: (r.input ?? {}) as Record<string, unknown>,
      attempts: Number(r.attempts),
      createdAt: toMs(r.created_at),
    }) as ClaimedDeliveryJob,
})

export interface JobSummary {
  state: DeliveryJobState
  kind: DeliveryJobKind
  profileId: string | null
  /** An audience job's `add` or `remove`. */
  action: string | null
}

export const deliveryJobsRepository = {
  /** Inserts jobs in one statement; returns how many were new. */
  async enqueue(tx: Queryable, jobs: readonly NewDeliveryJob[], now: Date): Promise<number> {
    if (jobs.length === 0) return 0
    const r = await tx.query(
      `INSERT INTO delivery_jobs (workspace_id, destination_id, kind, profile_id, input,
         idempotency_key, next_attempt_at, created_at, updated_at)
       SELECT workspace_id, destination_id, kind, profile_id, input, idempotency_key, $2, $2, $2
       FROM jsonb_to_recordset($1::jsonb) AS x(workspace_id text, destination_id text, kind text,
         profile_id text, input jsonb, idempotency_key text)
       ON CONFLICT (destination_id, idempotency_key) DO NOTHING`,
      [
        JSON.stringify(
          jobs.map((j) => ({
            workspace_id: j.workspaceId,
            destination_id: j.destinationId,
            kind: j.kind,
            profile_id: j.profileId,
            input: j.input,
            idempotency_key: j.idempotencyKey,
          })),
        ),
        now.toISOString(),
      ],
    )
    return r.rowCount
  },

  /** Enabled destinations with a job due (one index probe each, however long a backlog is). */
  async dueDestinations(db: Queryable, now: number): Promise<string[]> {
    const r = await db.query<{ destination_id: string }>(
      `SELECT d.id AS destination_id FROM destinations d
       WHERE d.enabled AND EXISTS (SELECT 1 FROM delivery_jobs j WHERE j.destination_id = d.id
         AND j.state = 'pending' AND j.next_attempt_at <= $1)
       ORDER BY d.id`,
      [new Date(now).toISOString()],
    )
    return r.rows.map((x) => x.destination_id)
  },

  /** Up to `limit` due jobs of one destination, deletions first, leased; in id order. */
  async claim(
    db: Queryable,
    destinationId: string,
    options: { now: number; leaseMs: number; limit: number },
  ): Promise<ClaimedDeliveryJob[]> {
    const jobs = await queue.claim(db, { ...options, scope: { destination_id: destinationId } })
    return jobs.sort((a, b) => Number(a.id) - Number(b.id))
  },

  async settle(
    tx: Queryable,
    transitions: readonly { id: string; next: JobTransition }[],
    now: number,
  ): Promise<number> {
    return queue.settle(
      tx,
      transitions.map(({ id, next }): Settlement<string> => ({ key: id, ...next })),
      now,
    )
  },

  /** Jobs whose dispatcher died mid-claim go back to pending. */
  sweep(db: Queryable, now: number): Promise<number> {
    return queue.sweep(db, now)
  },

  /**
   * What the delivery log says of the jobs an attempt carried: their state now (dead letters are
   * labelled), kind, profile and action. Jobs deleted since are simply absent.
   */
  async describeJobs(
    db: Queryable,
    workspaceId: string,
    destinationId: string,
    ids: readonly string[],
  ): Promise<Map<string, JobSummary>> {
    const numeric = [...new Set(ids)].filter((id) => /^\d{1,18}$/.test(id))
    if (numeric.length === 0) return new Map()
    const r = await db.query<{
      id: string | number
      state: DeliveryJobState
      kind: DeliveryJobKind
      profile_id: string | null
      action: string | null
    }>(
      `SELECT id, state, kind, profile_id, input->>'action' AS action FROM delivery_jobs
       WHERE workspace_id = $1 AND destination_id = $2 AND id = ANY($3::bigint[])`,
      [workspaceId, destinationId, numeric],
    )
    return new Map(
      r.rows.map((x) => [
        String(x.id),
        { state: x.state, kind: x.kind, profileId: x.profile_id, action: x.action },
      ]),
    )
  },

  /** How many of a destination's jobs are in each state (every state named, 0 when none). */
  async countByState(
    db: Queryable,
    workspaceId: string,
    destinationId: string,
  ): Promise<Record<DeliveryJobState, number>> {
    const r = await db.query<{ state: DeliveryJobState; n: string | number }>(
      `SELECT state, count(*) AS n FROM delivery_jobs
       WHERE workspace_id = $1 AND destination_id = $2 GROUP BY state`,
      [workspaceId, destinationId],
    )
    const counts: Record<DeliveryJobState, number> = {
      pending: 0,
      in_flight: 0,
      succeeded: 0,
      skipped: 0,
      dead: 0,
    }
    for (const c of r.rows) counts[c.state] = Number(c.n)
    return counts
  },

  /**
   * A page of a destination's dead letters, newest first. `before` is the id the previous page
   * ended on; `next` is the one this page ends on, null on the last page.
   */
  async deadLetters(
    db: Queryable,
    workspaceId: string,
    destinationId: string,
    page: { before?: string | undefined; limit: number },
  ): Promise<{ data: DeadLetter[]; next: string | null }> {
    const r = await db.query<{
      id: string | number
      kind: DeliveryJobKind
      profile_id: string | null
      attempts: number
      last_error: string | null
      created_at: Date | string
      finished_at: Date | string | null
      input: unknown
    }>(
      `SELECT id, kind, profile_id, attempts, last_error, created_at, finished_at, input
       FROM delivery_jobs WHERE workspace_id = $1 AND destination_id = $2 AND state = 'dead'
         AND ($3::bigint IS NULL OR id < $3::bigint)
       ORDER BY id DESC LIMIT $4`,
      [workspaceId, destinationId, page.before ?? null, page.limit + 1],
    )
    const rows = r.rows.slice(0, page.limit)
    return {
      data: rows.map((x) => ({
        id: String(x.id),
        kind: x.kind,
        profileId: x.profile_id,
        attempts: x.attempts,
        lastError: x.last_error,
        createdAt: iso(x.created_at) as string,
        failedAt: iso(x.finished_at),
        input: x.input,
      })),
      next: r.rows.length > page.limit ? String(rows[rows.length - 1]?.id) : null,
    }
  },

  /**
   * Dead letters back to pending with a fresh retry budget, due now: all of the destination's,
   * or those of `ids` (ids that are not its dead letters are passed over). Returns how many.
   */
  async replayDead(
    db: Queryable,
    workspaceId: string,
    destinationId: string,
    ids: readonly string[] | undefined,
    now: Date,
  ): Promise<number> {
    const r = await db.query(
      `UPDATE delivery_jobs SET state = 'pending', attempts = 0, next_attempt_at = $4,
         finished_at = NULL, locked_until = NULL, updated_at = $4
       WHERE workspace_id = $1 AND destination_id = $2 AND state = 'dead'
         AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))`,
      [workspaceId, destinationId, ids ?? null, now.toISOString()],
    )
    return r.rowCount
  },

  /** The jobs enqueued under one idempotency key (one per destination) and where they are. */
  async byIdempotencyKey(
    tx: Queryable,
    workspaceId: string,
    idempotencyKey: string,
  ): Promise<
    { id: string; destinationId: string; state: DeliveryJobState; lastError: string | null }[]
  > {
    const r = await tx.query<{
      id: string
      destination_id: string
      state: DeliveryJobState
      last_error: string | null
    }>(
      `SELECT id::text AS id, destination_id, state, last_error FROM delivery_jobs
       WHERE workspace_id = $1 AND idempotency_key = $2`,
      [workspaceId, idempotencyKey],
    )
    return r.rows.map((j) => ({
      id: j.id,
      destinationId: j.destination_id,
      state: j.state,
      lastError: j.last_error,
    }))
  },
}
