/**
 * The leased queue on a table of its own, on PGlite and (with KINDRED_TEST_DATABASE_URL) on a
 * Postgres server, where two workers really claim at the same time.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { storeTargets } from '../../testing/databases.js'
import type { Store } from '../store/open-store.js'
import type { Queryable } from '../store/db.js'
import { createLeasedQueue, type LeasedQueueSpec } from './leased-queue.js'
import { exponentialBackoff, retryOrDead } from './retry-policy.js'

interface TestJob {
  id: string
  queue: string
  kind: string
  attempts: number
  state: string
}

const T0 = Date.parse('2026-01-01T00:00:00Z')

const spec: LeasedQueueSpec<TestJob, string> = {
  table: 'test_jobs',
  key: { columns: [{ name: 'id', type: 'bigint' }], values: (id) => [id] },
  state: {
    column: 'state',
    ready: ['pending'],
    claimed: 'in_flight',
    retry: 'pending',
    dead: 'dead',
  },
  due: 'due_at',
  leasedUntil: 'leased_until',
  attempts: { column: 'attempts', countedOn: 'claim' },
  error: 'last_error',
  updatedAt: 'updated_at',
  finishedAt: 'finished_at',
  order: 'due_at, id',
  decode: (r) => ({
    id: String(r.id),
    queue: String(r.queue),
    kind: String(r.kind),
    attempts: Number(r.attempts),
    state: String(r.state),
  }),
}

const queue = createLeasedQueue(spec)
const lanes = createLeasedQueue({ ...spec, lanes: ["q.kind = 'urgent'", 'true'] })

async function insert(db: Queryable, n: number, kind = 'normal', at = T0): Promise<string[]> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO test_jobs (queue, kind, due_at)
     SELECT 'a', $2, $3::timestamptz FROM generate_series(1, $1) RETURNING id::text AS id`,
    [n, kind, new Date(at).toISOString()],
  )
  return r.rows.map((x) => x.id)
}

async function row(db: Queryable, id: string) {
  const r = await db.query<{
    state: string
    attempts: number
    last_error: string | null
    due_at: Date | string
    leased_until: Date | string | null
    finished_at: Date | string | null
  }>('SELECT * FROM test_jobs WHERE id = $1', [id])
  return r.rows[0]
}

describe.each(storeTargets().map((t) => [t.name, t] as const))(
  'leased queue on %s',
  (name, target) => {
    let store: Store
    beforeAll(async () => {
      store = await target.open()
      await store.db.exec(`CREATE TABLE test_jobs (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      queue text NOT NULL,
      kind text NOT NULL,
      state text NOT NULL DEFAULT 'pending',
      attempts integer NOT NULL DEFAULT 0,
      due_at timestamptz NOT NULL,
      leased_until timestamptz,
      last_error text,
      updated_at timestamptz,
      finished_at timestamptz)`)
    }, 60_000)
    afterAll(async () => {
      await store.close()
    })
    beforeEach(async () => {
      await store.db.query('DELETE FROM test_jobs')
    })

    it('gives every job to exactly one of two workers claiming at once', async () => {
      const ids = await insert(store.db, 60)
      const worker = async () => {
        const mine: string[] = []
        for (;;) {
          const got = await queue.claim(store.db, { now: T0, leaseMs: 60_000, limit: 7 })
          if (got.length === 0) return mine
          mine.push(...got.map((j) => j.id))
        }
      }
      const [a, b] = await Promise.all([worker(), worker()])
      expect([...a, ...b].sort()).toEqual([...ids].sort())
      expect(new Set([...a, ...b]).size).toBe(60)
    })

    it.runIf(name === 'postgres')(
      'skips rows another transaction holds (claimLocked: the transaction is the lease)',
      async () => {
        await insert(store.db, 3)
        let release: () => void = () => undefined
        const held = new Promise<void>((r) => (release = r))
        let first: TestJob[] = []
        const locked = new Promise<void>((ready) => {
          void store.db.transaction(async (tx) => {
            first = await queue.claimLocked(tx, { now: T0, limit: 2 })
            ready()
            await held
          })
        })
        await locked
        const second = await store.db.transaction((tx) =>
          queue.claimLocked(tx, { now: T0, limit: 3 }),
        )
        release()
        expect(first).toHaveLength(2)
        expect(second.map((j) => j.id)).toEqual(
          (
            await store.db.query<{ id: string }>('SELECT id::text AS id FROM test_jobs ORDER BY id')
          ).rows
            .map((r) => r.id)
            .filter((id) => !first.some((j) => j.id === id)),
        )
      },
    )

    it('claims only due jobs, counts the attempt and leases them', async () => {
      const [now] = await insert(store.db, 1)
      await insert(store.db, 1, 'normal', T0 + 10_000)
      const got = await queue.claim(store.db, { now: T0, leaseMs: 5_000, limit: 10 })
      expect(got).toEqual([
        { id: now, queue: 'a', kind: 'normal', attempts: 1, state: 'in_flight' },
      ])
      const r = await row(store.db, now as string)
      expect(new Date(r?.leased_until as string).getTime()).toBe(T0 + 5_000)
    })

    it('sweeps an expired lease back to pending, and only an expired one', async () => {
      const [id] = (await insert(store.db, 1)) as [string]
      await queue.claim(store.db, { now: T0, leaseMs: 1_000, limit: 1 })
      expect(await queue.claim(store.db, { now: T0 + 500, leaseMs: 1_000 })).toEqual([])
      expect(await queue.sweep(store.db, T0 + 500)).toBe(0)
      expect(await queue.sweep(store.db, T0 + 1_500)).toBe(1)
      expect(await row(store.db, id)).toMatchObject({ state: 'pending', leased_until: null })
      const again = await queue.claim(store.db, { now: T0 + 1_500, leaseMs: 1_000 })
      expect(again).toMatchObject([{ id, attempts: 2 }])
    })

    it('retries at the backoff time, then dead-letters once the budget is spent', async () => {
      const [id] = (await insert(store.db, 1)) as [string]
      const backoff = exponentialBackoff({ baseMs: 1_000, maxMs: 60_000, jitter: 'none' })
      const budget = { maxAttempts: 3 }
      let now = T0
      const seen: string[] = []
      for (;;) {
        const [job] = await queue.claim(store.db, { now, leaseMs: 60_000 })
        if (!job) break
        const d = retryOrDead(budget, backoff, job, now)
        seen.push(d.kind === 'retry' ? `retry+${d.runAt - now}` : 'dead')
        await queue.settle(
          store.db,
          [
            d.kind === 'retry'
              ? { key: job.id, kind: 'retry', runAt: d.runAt, error: 'boom' }
              : { key: job.id, kind: 'dead', error: `${d.reason}: boom` },
          ],
          now,
        )
        // Not due a millisecond before its time.
        if (d.kind === 'retry') {
          expect(await queue.claim(store.db, { now: d.runAt - 1, leaseMs: 60_000 })).toEqual([])
          now = d.runAt
        }
      }
      expect(seen).toEqual(['retry+1000', 'retry+2000', 'dead'])
      const r = await row(store.db, id)
      expect(r).toMatchObject({
        state: 'dead',
        attempts: 3,
        last_error: 'retry budget exhausted after 3 attempts: boom',
        leased_until: null,
      })
      expect(new Date(r?.finished_at as string).getTime()).toBe(now)
    })

    it('settles a whole claim in one statement, each job in its own way', async () => {
      const ids = (await insert(store.db, 3)) as [string, string, string]
      await queue.claim(store.db, { now: T0, leaseMs: 60_000, limit: 3 })
      const n = await queue.settle(
        store.db,
        [
          { key: ids[0], kind: 'finished', state: 'succeeded' },
          { key: ids[1], kind: 'finished', state: 'skipped', error: 'not for this one' },
          { key: ids[2], kind: 'retry', runAt: T0 + 7_000, error: 'later' },
        ],
        T0 + 100,
      )
      expect(n).toBe(3)
      expect(await row(store.db, ids[0])).toMatchObject({ state: 'succeeded', last_error: null })
      expect(await row(store.db, ids[1])).toMatchObject({ state: 'skipped' })
      const retried = await row(store.db, ids[2])
      expect(retried).toMatchObject({ state: 'pending', finished_at: null, leased_until: null })
      expect(new Date(retried?.due_at as string).getTime()).toBe(T0 + 7_000)
    })

    it('releases without counting an attempt failure, due again when asked', async () => {
      const [id] = (await insert(store.db, 1)) as [string]
      await queue.claim(store.db, { now: T0, leaseMs: 60_000 })
      await queue.release(store.db, [id], T0, T0 + 3_000)
      expect(await queue.claim(store.db, { now: T0 + 2_999, leaseMs: 60_000 })).toEqual([])
      expect(await queue.claim(store.db, { now: T0 + 3_000, leaseMs: 60_000 })).toMatchObject([
        { id },
      ])
    })

    it('settles a retry that used no attempt (a wait, not a failure) with the claim uncounted', async () => {
      const [id] = (await insert(store.db, 1)) as [string]
      const [job] = await queue.claim(store.db, { now: T0, leaseMs: 60_000 })
      expect(job?.attempts).toBe(1)
      await queue.settle(
        store.db,
        [{ key: id, kind: 'retry', runAt: T0 + 5_000, error: 'quota', uncounted: true }],
        T0,
      )
      expect(await row(store.db, id)).toMatchObject({ attempts: 0, state: 'pending' })
      const failures = createLeasedQueue({
        ...spec,
        attempts: { column: 'attempts', countedOn: 'failure' },
      })
      await failures.claim(store.db, { now: T0 + 5_000, leaseMs: 60_000 })
      await failures.settle(
        store.db,
        [{ key: id, kind: 'retry', runAt: T0, error: 'quota', uncounted: true }],
        T0,
      )
      expect(await row(store.db, id)).toMatchObject({ attempts: 0, state: 'pending' })
    })

    it('claims an early lane ahead of a backlog of a later one', async () => {
      await insert(store.db, 50, 'normal', T0 - 60_000)
      const [urgent] = await insert(store.db, 1, 'urgent', T0)
      const got = await lanes.claim(store.db, { now: T0, leaseMs: 60_000, limit: 10 })
      expect(got).toHaveLength(10)
      expect(got[0]).toMatchObject({ id: urgent, kind: 'urgent' })
      expect(got.slice(1).every((j) => j.kind === 'normal')).toBe(true)
    })

    it('scopes a claim by column equality', async () => {
      await insert(store.db, 2)
      await store.db.query(
        `INSERT INTO test_jobs (queue, kind, due_at) VALUES ('b', 'normal', $1::timestamptz)`,
        [new Date(T0).toISOString()],
      )
      const got = await queue.claim(store.db, {
        now: T0,
        leaseMs: 60_000,
        limit: 10,
        scope: { queue: 'b' },
      })
      expect(got.map((j) => j.queue)).toEqual(['b'])
    })

    it('counts failures instead of claims when told to', async () => {
      const failures = createLeasedQueue({
        ...spec,
        attempts: { column: 'attempts', countedOn: 'failure' },
      })
      const [id] = (await insert(store.db, 1)) as [string]
      const [job] = await failures.claim(store.db, { now: T0, leaseMs: 60_000 })
      expect(job?.attempts).toBe(0)
      await failures.settle(store.db, [{ key: id, kind: 'retry', runAt: T0, error: 'x' }], T0)
      expect(await row(store.db, id)).toMatchObject({ attempts: 1, state: 'pending' })
    })
  },
)

describe('retry policy', () => {
  it.each([
    // attempt, jitter draw, delay (base 1 s, cap 10 s, equal jitter)
    [1, 0, 500],
    [1, 0.999, 1_000],
    [2, 0.5, 1_500],
    [3, 0, 2_000],
    [5, 0.5, 7_500],
    [9, 0, 5_000],
  ])('attempt %i with draw %d waits %i ms', (attempt, draw, delay) => {
    const backoff = exponentialBackoff({
      baseMs: 1_000,
      maxMs: 10_000,
      jitter: 'equal',
      random: () => draw,
    })
    expect(backoff(attempt)).toBe(delay)
  })

  const backoff = exponentialBackoff({ baseMs: 1_000, maxMs: 60_000, jitter: 'none' })
  it.each([
    ['under budget', { attempts: 2 }, {}, undefined, { kind: 'retry', runAt: T0 + 2_000 }],
    ['Retry-After wins', { attempts: 2 }, {}, 30_000, { kind: 'retry', runAt: T0 + 30_000 }],
    [
      'attempts spent',
      { attempts: 3 },
      {},
      undefined,
      { kind: 'dead', reason: 'retry budget exhausted after 3 attempts' },
    ],
    [
      'too old by the next try',
      { attempts: 1, createdAt: T0 - 9_500 },
      { maxAgeMs: 10_000 },
      undefined,
      { kind: 'dead', reason: 'retry budget exhausted after 1 attempts' },
    ],
    [
      'young enough',
      { attempts: 1, createdAt: T0 - 8_000 },
      { maxAgeMs: 10_000 },
      undefined,
      { kind: 'retry', runAt: T0 + 1_000 },
    ],
  ] as const)('%s', (_name, job, extra, delay, expected) => {
    expect(retryOrDead({ maxAttempts: 3, ...extra }, backoff, job, T0, delay)).toEqual(expected)
  })
})

describe('leased queue spec', () => {
  it('refuses names that are not plain identifiers', () => {
    expect(() => createLeasedQueue({ ...spec, table: 'jobs; DROP TABLE x' })).toThrow(/bad name/)
    expect(() => createLeasedQueue({ ...spec, state: { ...spec.state, dead: "dead'" } })).toThrow(
      /bad state/,
    )
  })

  it('has no leased claim without a lease column', async () => {
    const { leasedUntil: _none, ...rest } = spec
    const held = createLeasedQueue(rest)
    const db = { query: () => Promise.reject(new Error('not reached')), exec: async () => {} }
    await expect(held.claim(db, { now: T0, leaseMs: 1 })).rejects.toThrow(/claimLocked/)
    expect(await held.sweep(db, T0)).toBe(0)
  })
})
