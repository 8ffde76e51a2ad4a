/** Cancelling matching runs: on this node, on a node that died, and what a cancel leaves alone. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../../testing/test-server.js'
import { workspacesRepository } from '../../../platform/store/repositories/workspaces-repository.js'
import { createMatchingModule } from '../../matching-module.js'
import { cancelRun, createRun, executeRun } from './runs.js'
import type { MatchingService } from './matching-service.js'

interface Run {
  id: string
  status: string
  error: string | null
  finishedAt: string | null
}

describe('matching run cancel', () => {
  let k: TestKindred
  let service: MatchingService
  beforeAll(async () => {
    k = await startTestKindred({
      modules: [
        createMatchingModule({ tickIntervalMs: 3_600_000, onService: (s) => (service = s) }),
      ],
    })
    await workspacesRepository.create(k.kindred.store.db, 'ws_other', 'Other')
    const { writeKey } = await k.createSource('people')
    const batch = ['Ann', 'Anne', 'Bob', 'Rob'].map((firstName, i) => ({
      type: 'identify',
      anonymousId: `a-${i}`,
      traits: { firstName, lastName: 'Smith', email: `${firstName.toLowerCase()}@example.com` },
    }))
    expect((await k.track(writeKey, '/v1/batch', { batch })).status).toBe(200)
    await k.kindred.processor?.drain()
  })
  afterAll(() => k.close())

  const cancel = (id: string, headers: Record<string, string> = {}) =>
    k.admin(`/api/v1/identity/matching/runs/${id}/cancel`, { method: 'POST', headers })

  it('cancels a run left running by a node that died, so the workspace can run again at once', async () => {
    const db = k.kindred.store.db
    const stuck = await createRun(db, 'default', 'manual', new Date())
    if (!stuck) throw new Error('no run created')
    // Blocked: one run per workspace.
    const blocked = await k.admin('/api/v1/identity/matching/runs', { method: 'POST', body: {} })
    expect(blocked.status).toBe(409)
    // Another workspace cannot reach it.
    expect((await cancel(stuck.id, { 'x-kindred-workspace': 'ws_other' })).status).toBe(404)
    const res = await cancel(stuck.id)
    expect(res.status).toBe(200)
    const { data } = (await res.json()) as { data: Run }
    expect(data).toMatchObject({ id: stuck.id, status: 'cancelled', error: 'cancelled' })
    expect(data.finishedAt).not.toBeNull()
    const again = await cancel(stuck.id)
    expect(again.status).toBe(409)
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('CONFLICT')
    const next = await k.admin('/api/v1/identity/matching/runs', { method: 'POST', body: {} })
    expect(next.status).toBe(202)
    await service.idle()
    const { data: done } = (await next.json()) as { data: Run }
    const after = await cancel(done.id)
    expect(after.status).toBe(409)
    expect((await cancel('mrun_nope')).status).toBe(404)
  })

  it('a run cancelled before it gets going merges and queues nothing and stays cancelled', async () => {
    const db = k.kindred.store.db
    // Settings saved now: the run must re-score rather than stop early as "nothing changed".
    await k.admin('/api/v1/identity/matching/settings', {
      method: 'PUT',
      body: {},
    })
    const run = await createRun(db, 'default', 'manual', new Date())
    if (!run) throw new Error('no run created')
    await cancelRun(db, 'default', run.id, new Date())
    const pairsBefore = await db.query('SELECT count(*)::int AS n FROM matching_pairs')
    const out = await executeRun(
      { db, clock: () => new Date(), identitySettings: service.identitySettings },
      'default',
      run.id,
    )
    expect(out).toMatchObject({ status: 'cancelled', error: 'cancelled', autoMerged: 0, queued: 0 })
    const pairsAfter = await db.query('SELECT count(*)::int AS n FROM matching_pairs')
    expect(pairsAfter.rows).toEqual(pairsBefore.rows)
  })

  it('stops a run of this node when told to through its signal', async () => {
    const db = k.kindred.store.db
    await k.admin('/api/v1/identity/matching/settings', { method: 'PUT', body: {} })
    const run = await createRun(db, 'default', 'manual', new Date())
    if (!run) throw new Error('no run created')
    const abort = new AbortController()
    abort.abort()
    const out = await executeRun(
      { db, clock: () => new Date(), identitySettings: service.identitySettings },
      'default',
      run.id,
      abort.signal,
    )
    // The signal stopped it; the row is not marked succeeded or failed behind the cancel's back.
    expect(out.status).toBe('running')
    expect((await cancel(run.id)).status).toBe(200)
  })
})
