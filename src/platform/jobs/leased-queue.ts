/**
 * The one leased job queue: a table of jobs, claimed with `FOR UPDATE SKIP LOCKED` (so any number
 * of workers, on any number of nodes, share it without taking the same row) and held by a lease
 * (`leasedUntil`): a worker that dies leaves its jobs claimable again once the lease runs out,
 * either at the next claim or by `sweep`. Settling is one statement for a whole claim: finished,
 * retried at a time the caller computed (`retry-policy.ts`), or dead-lettered.
 *
 * Table-agnostic: a `LeasedQueueSpec` names the table, its key and its columns, the state values
 * and the claim order, and each job table keeps the schema its migration gave it. A queue whose
 * work is a single transaction may go without a lease column: `claimLocked` holds the row locks
 * for the caller's transaction instead, so a crash releases the job by rolling back.
 *
 * Table, column and state names come from the spec, never from input: they are written into the
 * SQL (partial indexes are only used when the planner sees the state literals), and checked to be
 * plain identifiers when the queue is created.
 */
import type { Queryable } from '../store/db.js'

export interface KeyColumn {
  name: string
  type: 'text' | 'bigint'
}

/** A job row as the store returns it, before the spec decodes it. */
export type QueueRow = Record<string, unknown>

export interface LeasedQueueSpec<Job, Key> {
  table: string
  key: {
    columns: readonly KeyColumn[]
    /** The key's values, in `columns` order. */
    values(key: Key): readonly (string | number)[]
  }
  state: {
    column: string
    /** States a job may be claimed in. */
    ready: readonly string[]
    /** The state a claim moves a job to. */
    claimed: string
    /** The state a retried, released or swept job returns to. */
    retry: string
    /** The dead letter; a queue without one retries until it succeeds. */
    dead?: string
  }
  /** timestamptz column: the job is due from then on. Absent: always due. */
  due?: string
  /** timestamptz column: end of the lease, NULL when not leased. Absent: only `claimLocked`. */
  leasedUntil?: string
  /** Attempts counter, counted when a job is claimed or when an attempt failed. */
  attempts?: { column: string; countedOn: 'claim' | 'failure' }
  /** Text column for the last error. */
  error?: string
  updatedAt?: string
  finishedAt?: string
  /** Extra assignments on claim; `$now` stands for the claim time, e.g. `started_at = coalesce(started_at, $now)`. */
  onClaim?: string
  /** A fixed extra condition on a claimable row, alias `q` (e.g. "no earlier job of the same workspace"). */
  claimable?: string
  /**
   * Priority lanes, claimed in turn, each up to what the limit has left: a job of an early lane
   * never waits behind a backlog of a later one. Without lanes, one claim in `order`.
   */
  lanes?: readonly string[]
  /** ORDER BY of the claim (columns of the table). */
  order: string
  decode(row: QueueRow): Job
}

export interface ClaimOptions {
  /** Epoch ms. */
  now: number
  /** How long the claimed jobs stay leased. */
  leaseMs: number
  limit?: number
  /** Equality conditions on columns (e.g. `{ destination_id: 'dst_1' }`). */
  scope?: Readonly<Record<string, string | number>>
}

export type Settlement<Key> =
  /** Done, in a final state of the caller's (succeeded, skipped, completed…). */
  | { key: Key; kind: 'finished'; state: string; error?: string | null }
  /**
   * Failed, and runs again at `runAt` (epoch ms). `uncounted`: this attempt was a wait, not a
   * failure (a vendor's quota): the attempts counter is left as it was before the claim.
   */
  | { key: Key; kind: 'retry'; runAt: number; error: string | null; uncounted?: boolean }
  /** Failed for good: the dead letter, kept with its error for inspection and replay. */
  | { key: Key; kind: 'dead'; error: string }

export interface LeasedQueue<Job, Key> {
  /** Claims due jobs and leases them until `now + leaseMs`. */
  claim(db: Queryable, options: ClaimOptions): Promise<Job[]>
  /**
   * Locks due jobs for the caller's transaction (no lease written): the transaction is the
   * lease. Another worker skips them until it ends.
   */
  claimLocked(tx: Queryable, options: Omit<ClaimOptions, 'leaseMs'>): Promise<Job[]>
  /** Settles claimed jobs in one statement; returns how many rows changed. */
  settle(tx: Queryable, settlements: readonly Settlement<Key>[], now: number): Promise<number>
  /** Gives jobs back without counting an attempt (waiting on something), due at `runAt` if given. */
  release(tx: Queryable, keys: readonly Key[], now: number, runAt?: number): Promise<number>
  /** Returns jobs whose lease ran out (their worker died) to the retry state. */
  sweep(db: Queryable, now: number): Promise<number>
}

const identifier = /^[a-z_][a-z0-9_]*$/
const stateValue = /^[a-z_]+$/

function checkSpec<Job, Key>(spec: LeasedQueueSpec<Job, Key>): void {
  const names = [
    spec.table,
    spec.state.column,
    ...spec.key.columns.map((c) => c.name),
    spec.due,
    spec.leasedUntil,
    spec.attempts?.column,
    spec.error,
    spec.updatedAt,
    spec.finishedAt,
  ]
  for (const n of names)
    if (n !== undefined && !identifier.test(n)) throw new Error(`leased queue: bad name "${n}"`)
  const states = [spec.state.claimed, spec.state.retry, ...spec.state.ready]
  if (spec.state.dead !== undefined) states.push(spec.state.dead)
  for (const s of states) if (!stateValue.test(s)) throw new Error(`leased queue: bad state "${s}"`)
  if (spec.state.ready.length === 0) throw new Error('leased queue: no ready state')
  if (spec.key.columns.length === 0) throw new Error('leased queue: no key column')
}

const iso = (ms: number) => new Date(ms).toISOString()
const lit = (s: string) => `'${s}'`

export function createLeasedQueue<Job, Key>(
  spec: LeasedQueueSpec<Job, Key>,
): LeasedQueue<Job, Key> {
  checkSpec(spec)
  const keyNames = spec.key.columns.map((c) => c.name)
  const stateCol = spec.state.column
  const readyIn =
    spec.state.ready.length === 1
      ? `q.${stateCol} = ${lit(spec.state.ready[0] as string)}`
      : `q.${stateCol} IN (${spec.state.ready.map(lit).join(', ')})`

  /** The candidate rows' WHERE, with its parameters appended to `params`. */
  function candidates(
    params: unknown[],
    nowParam: () => string,
    scope: ClaimOptions['scope'],
    lane: string | undefined,
  ): string {
    const where = [readyIn]
    if (spec.due) where.push(`q.${spec.due} <= ${nowParam()}`)
    if (spec.leasedUntil)
      where.push(`(q.${spec.leasedUntil} IS NULL OR q.${spec.leasedUntil} < ${nowParam()})`)
    for (const [column, value] of Object.entries(scope ?? {})) {
      if (!identifier.test(column)) throw new Error(`leased queue: bad scope column "${column}"`)
      where.push(`q.${column} = $${params.push(value)}`)
    }
    if (spec.claimable) where.push(`(${spec.claimable})`)
    if (lane) where.push(`(${lane})`)
    return where.join(' AND ')
  }

  async function claimLane(
    db: Queryable,
    options: ClaimOptions,
    limit: number,
    lane: string | undefined,
  ): Promise<Job[]> {
    const lease = spec.leasedUntil
    if (!lease) throw new Error(`leased queue ${spec.table}: no lease column; use claimLocked`)
    const params: unknown[] = []
    const now = `$${params.push(iso(options.now))}::timestamptz`
    const where = candidates(params, () => now, options.scope, lane)
    const sets = [
      `${stateCol} = ${lit(spec.state.claimed)}`,
      `${lease} = $${params.push(iso(options.now + options.leaseMs))}::timestamptz`,
    ]
    if (spec.attempts?.countedOn === 'claim')
      sets.push(`${spec.attempts.column} = t.${spec.attempts.column} + 1`)
    if (spec.updatedAt) sets.push(`${spec.updatedAt} = ${now}`)
    if (spec.onClaim) sets.push(spec.onClaim.replaceAll('$now', now))
    const keys = keyNames.join(', ')
    const r = await db.query<QueueRow>(
      `UPDATE ${spec.table} t SET ${sets.join(', ')}
       WHERE (${keyNames.map((k) => `t.${k}`).join(', ')}) IN (
         SELECT ${keys} FROM ${spec.table} q WHERE ${where}
         ORDER BY ${spec.order} LIMIT $${params.push(limit)} FOR UPDATE SKIP LOCKED)
       RETURNING t.*`,
      params,
    )
    return r.rows.map((row) => spec.decode(row))
  }

  function keyMatch(alias: string): string {
    return keyNames.map((k) => `t.${k} = ${alias}.${k}`).join(' AND ')
  }

  function keyRecord(key: Key): Record<string, string | number> {
    const values = spec.key.values(key)
    return Object.fromEntries(keyNames.map((k, i) => [k, values[i] as string | number]))
  }

  function deadState(): string {
    if (spec.state.dead === undefined) throw new Error(`leased queue ${spec.table}: no dead state`)
    return spec.state.dead
  }

  const keyTypes = spec.key.columns.map((c) => `${c.name} ${c.type}`).join(', ')

  return {
    async claim(db, options) {
      const limit = options.limit ?? 1
      const lanes = spec.lanes ?? [undefined]
      const out: Job[] = []
      for (const lane of lanes) {
        if (out.length >= limit) break
        out.push(...(await claimLane(db, options, limit - out.length, lane)))
      }
      return out
    },

    async claimLocked(tx, options) {
      const params: unknown[] = []
      let now: string | undefined
      const nowParam = () => (now ??= `$${params.push(iso(options.now))}::timestamptz`)
      const where = candidates(params, nowParam, options.scope, undefined)
      const r = await tx.query<QueueRow>(
        `SELECT * FROM ${spec.table} q WHERE ${where}
         ORDER BY ${spec.order} LIMIT $${params.push(options.limit ?? 1)} FOR UPDATE SKIP LOCKED`,
        params,
      )
      return r.rows.map((row) => spec.decode(row))
    },

    async settle(tx, settlements, now) {
      if (settlements.length === 0) return 0
      const rows = settlements.map((s) => ({
        ...keyRecord(s.key),
        state:
          s.kind === 'finished' ? s.state : s.kind === 'retry' ? spec.state.retry : deadState(),
        run_at: s.kind === 'retry' ? iso(s.runAt) : null,
        error: s.error ?? null,
        finished: s.kind === 'retry' ? null : iso(now),
        failed: s.kind === 'finished' || (s.kind === 'retry' && s.uncounted) ? 0 : 1,
        uncounted: s.kind === 'retry' && s.uncounted ? 1 : 0,
      }))
      for (const r of rows)
        if (!stateValue.test(r.state)) throw new Error(`leased queue: bad state "${r.state}"`)
      const params: unknown[] = [JSON.stringify(rows)]
      const sets = [`${stateCol} = x.state`]
      if (spec.due) sets.push(`${spec.due} = coalesce(x.run_at, t.${spec.due})`)
      if (spec.error) sets.push(`${spec.error} = x.error`)
      if (spec.leasedUntil) sets.push(`${spec.leasedUntil} = NULL`)
      if (spec.finishedAt) sets.push(`${spec.finishedAt} = x.finished`)
      if (spec.updatedAt) sets.push(`${spec.updatedAt} = $${params.push(iso(now))}::timestamptz`)
      if (spec.attempts?.countedOn === 'failure')
        sets.push(`${spec.attempts.column} = t.${spec.attempts.column} + x.failed`)
      if (spec.attempts?.countedOn === 'claim')
        sets.push(`${spec.attempts.column} = greatest(0, t.${spec.attempts.column} - x.uncounted)`)
      const r = await tx.query(
        `UPDATE ${spec.table} t SET ${sets.join(', ')}
         FROM jsonb_to_recordset($1::jsonb) AS x(${keyTypes}, state text, run_at timestamptz,
           error text, finished timestamptz, failed int, uncounted int)
         WHERE ${keyMatch('x')}`,
        params,
      )
      return r.rowCount
    },

    async release(tx, keys, now, runAt) {
      if (keys.length === 0) return 0
      const params: unknown[] = [JSON.stringify(keys.map(keyRecord))]
      const sets = [`${stateCol} = ${lit(spec.state.retry)}`]
      if (spec.leasedUntil) sets.push(`${spec.leasedUntil} = NULL`)
      if (spec.due && runAt !== undefined)
        sets.push(`${spec.due} = $${params.push(iso(runAt))}::timestamptz`)
      if (spec.updatedAt) sets.push(`${spec.updatedAt} = $${params.push(iso(now))}::timestamptz`)
      const r = await tx.query(
        `UPDATE ${spec.table} t SET ${sets.join(', ')}
         FROM jsonb_to_recordset($1::jsonb) AS x(${keyTypes})
         WHERE ${keyMatch('x')}`,
        params,
      )
      return r.rowCount
    },

    async sweep(db, now) {
      const lease = spec.leasedUntil
      if (!lease) return 0
      const r = await db.query(
        `UPDATE ${spec.table} SET ${stateCol} = ${lit(spec.state.retry)}, ${lease} = NULL
         WHERE ${stateCol} = ${lit(spec.state.claimed)} AND ${lease} < $1::timestamptz`,
        [iso(now)],
      )
      return r.rowCount
    },
  }
}
