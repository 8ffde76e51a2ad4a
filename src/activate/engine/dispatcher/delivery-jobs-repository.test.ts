/**
 * The delivery jobs on the leased queue, on PGlite and (with KINDRED_TEST_DATABASE_URL) on a
 * Postgres server: typed enqueue (idempotent), deletions claimed ahead of a backlog, settling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeTargets } from '../../../testing/databases.js'
import type { Store } from '../../../platform/store/open-store.js'
import { deliveryJobsRepository, type NewDeliveryJob } from './delivery-jobs-repository.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const at = (ms: number) => new Date(ms)

const event = (i: number, destinationId = 'dst_a'): NewDeliveryJob => ({
  workspaceId: 'default',
  destinationId,
  kind: 'event',
  profileId: `p${i}`,
  input: {
    kind: 'event',
    event: {
      type: 'track',
      event: 'Viewed',
      messageId: `m${i}`,
      properties: {},
      traits: {},
      context: {},
      timestamp: new Date(T0).toISOString(),
      receivedAt: new Date(T0).toISOString(),
    } as unknown as Extract<NewDeliveryJob, { kind: 'event' }>['input']['event'],
  },
  idempotencyKey: `event:src:m${i}`,
})

const deletion: NewDeliveryJob = {
  workspaceId: 'default',
  destinationId: 'dst_a',
  kind: 'delete',
  profileId: 'p-gone',
  input: {
    profile: { id: 'p-gone', traits: { email: 'gone@example.com' }, identities: [] },
    privacyRequestId: 'prq_1',
  },
  idempotencyKey: 'privacy-delete:prq_1',
}

describe.each(storeTargets().map((t) => [t.name, t] as const))(
  'delivery jobs on %s',
  (_n, target) => {
    let store: Store
    beforeAll(async () => {
      store = await target.open()
    }, 60_000)
    afterAll(async () => {
      await store.close()
    })

    it('enqueues once per idempotency key', async () => {
      const db = store.db
      expect(
        await deliveryJobsRepository.enqueue(db, [event(1, 'dst_i'), event(2, 'dst_i')], at(T0)),
      ).toBe(2)
      expect(
        await deliveryJobsRepository.enqueue(db, [event(1, 'dst_i'), event(3, 'dst_i')], at(T0)),
      ).toBe(1)
      const claimed = await deliveryJobsRepository.claim(db, 'dst_i', {
        now: T0,
        leaseMs: 60_000,
        limit: 10,
      })
      expect(claimed.map((j) => j.profileId)).toEqual(['p1', 'p2', 'p3'])
      expect(claimed[0]).toMatchObject({ kind: 'event', attempts: 1, createdAt: T0 })
    })

    it('claims a deletion ahead of a destination backlog of events', async () => {
      const db = store.db
      const backlog = Array.from({ length: 300 }, (_, i) => event(1_000 + i))
      await deliveryJobsRepository.enqueue(db, backlog, at(T0 - 60_000))
      await deliveryJobsRepository.enqueue(db, [deletion], at(T0))
      const first = await deliveryJobsRepository.claim(db, 'dst_a', {
        now: T0,
        leaseMs: 60_000,
        limit: 100,
      })
      expect(first).toHaveLength(100)
      const del = first.find((j) => j.kind === 'delete')
      expect(del).toMatchObject({
        kind: 'delete',
        input: { privacyRequestId: 'prq_1', profile: { id: 'p-gone' } },
      })
    })

    it('settles transitions and reports them by idempotency key', async () => {
      const db = store.db
      const [job] = await deliveryJobsRepository.claim(db, 'dst_a', {
        now: T0,
        leaseMs: 60_000,
        limit: 1,
      })
      await deliveryJobsRepository.enqueue(db, [{ ...deletion, destinationId: 'dst_b' }], at(T0))
      const [del] = await deliveryJobsRepository.claim(db, 'dst_b', {
        now: T0,
        leaseMs: 60_000,
        limit: 1,
      })
      await deliveryJobsRepository.settle(
        db,
        [
          {
            id: (job as { id: string }).id,
            next: { kind: 'retry', runAt: T0 + 5_000, error: 'HTTP 500' },
          },
          { id: (del as { id: string }).id, next: { kind: 'dead', error: 'HTTP 400' } },
        ],
        T0,
      )
      const states = await deliveryJobsRepository.byIdempotencyKey(
        db,
        'default',
        'privacy-delete:prq_1',
      )
      expect(states.map((s) => [s.destinationId, s.lastError]).sort()).toEqual([
        ['dst_a', null],
        ['dst_b', 'HTTP 400'],
      ])
      expect(states.find((s) => s.destinationId === 'dst_b')?.state).toBe('dead')
    })

    it('sweeps the jobs of a dispatcher that died back to pending', async () => {
      const db = store.db
      await deliveryJobsRepository.enqueue(db, [event(1, 'dst_s')], at(T0))
      await deliveryJobsRepository.claim(db, 'dst_s', { now: T0, leaseMs: 1_000, limit: 1 })
      expect(await deliveryJobsRepository.sweep(db, T0 + 2_000)).toBe(1)
      const again = await deliveryJobsRepository.claim(db, 'dst_s', {
        now: T0 + 2_000,
        leaseMs: 1_000,
        limit: 1,
      })
      expect(again).toMatchObject([{ attempts: 2 }])
    })
  },
)
