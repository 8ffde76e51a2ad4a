import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { febrlDir } from '../../../../bench/febrl.js'
import { startTestKindred, testStores, type TestKindred } from '../../../testing/test-server.js'
import { createMatchingModule } from '../../matching-module.js'
import { segmentsModule } from '../../../understand/segments-module.js'
import type { MatchingService } from './matching-service.js'

// Undoing a matching run through the API, on profiles that arrived through ingest and the
// processor (so a split has events to move): FEBRL dataset1 people, one anonymous id each.
type Row = Record<string, string>

function febrl(): Row[] {
  const [header, ...lines] = readFileSync(path.join(febrlDir(), 'dataset1.csv'), 'utf8')
    .trim()
    .split('\n')
  const cols = (header as string).split(',').map((c) => c.trim())
  return lines.map((l) => {
    const v = l.split(',').map((x) => x.trim())
    return Object.fromEntries(cols.map((c, i) => [c, v[i] ?? '']))
  })
}
const entity = (recId: string) => Number(recId.split('-')[1])
const anon = (recId: string) => `anon-${recId}`

function traitsOf(r: Row): Record<string, unknown> {
  const t: Record<string, unknown> = {
    address: {
      streetNumber: r.street_number,
      street: r.address_1,
      city: r.suburb,
      postalCode: r.postcode,
      state: r.state,
    },
  }
  if (r.given_name) t.firstName = r.given_name
  if (r.surname) t.lastName = r.surname
  const d = r.date_of_birth ?? ''
  if (d) t.birthday = `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`
  return t
}

interface Run {
  id: string
  status: string
  autoMerged: number
  undo: { at: string; undone: number; failed: number } | null
}
interface Undo {
  run: Run
  undone: Array<{
    pairId: string
    from: string
    into: string
    splitFrom: string
    restoredAs: string
    movedEvents: number
    laterMerges: number
  }>
  alreadyUndone: number
  failed: Array<{ pairId: string; from: string; reason: string }>
}

describe.each(testStores())('undoing a matching run on %s', (store) => {
  let k: TestKindred
  let service: MatchingService
  let writeKey: string
  const all = febrl()
  const first = all.filter((r) => entity(r.rec_id!) < 40)
  const second = all.filter((r) => entity(r.rec_id!) >= 40 && entity(r.rec_id!) < 70)

  const db = () => k.kindred.store.db
  async function profileOf(recId: string): Promise<string> {
    const res = await k.admin(`/api/v1/profiles/lookup?type=anonymous_id&value=${anon(recId)}`)
    expect(res.status).toBe(200)
    return ((await res.json()) as { id: string }).id
  }
  async function live(): Promise<number> {
    const res = await db().query<{ n: number }>(
      "SELECT count(*)::int AS n FROM profiles WHERE workspace_id = 'default' AND merged_into IS NULL",
    )
    return res.rows[0]?.n ?? 0
  }
  async function send(batch: unknown[]) {
    expect((await k.track(writeKey, '/v1/batch', { batch })).status).toBe(200)
    await k.kindred.processor?.drain()
  }
  const identify = (rows: Row[]) =>
    rows.map((r) => ({
      type: 'identify',
      anonymousId: anon(r.rec_id!),
      traits: traitsOf(r),
      messageId: `m-${r.rec_id}`,
    }))
  async function runMatching(): Promise<Run> {
    const res = await k.admin('/api/v1/identity/matching/runs', { method: 'POST', body: {} })
    expect(res.status).toBe(202)
    const { data } = (await res.json()) as { data: Run }
    await service.idle()
    return (
      (await (await k.admin(`/api/v1/identity/matching/runs/${data.id}`)).json()) as {
        data: Run
      }
    ).data
  }
  const undo = (id: string, body: unknown = {}) =>
    k.admin(`/api/v1/identity/matching/runs/${id}/undo`, { method: 'POST', body })

  beforeAll(async () => {
    k = await startTestKindred({
      store,
      modules: [
        segmentsModule,
        createMatchingModule({ tickIntervalMs: 3_600_000, onService: (s) => (service = s) }),
      ],
    })
    writeKey = (await k.createSource('CRM', { rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } }))
      .writeKey
    await send(identify(first))
  }, 120_000)
  afterAll(async () => {
    await k?.close()
  })

  it('splits every merge of the run in one call; a second call, or two at once, change nothing more', async () => {
    const before = await live()
    expect(before).toBe(first.length)
    const run = await runMatching()
    expect(run.status).toBe('succeeded')
    expect(run.autoMerged).toBeGreaterThanOrEqual(30)
    expect(await live()).toBe(before - run.autoMerged)
    const dupe = first.find((r) => r.rec_id === 'rec-1-dup-0')!
    expect(await profileOf('rec-1-dup-0')).toBe(await profileOf('rec-1-org'))

    // Two undos at once: each merge is split by exactly one of them.
    const [a, b] = await Promise.all([undo(run.id), undo(run.id)])
    expect([a.status, b.status]).toEqual([200, 200])
    const [ra, rb] = [
      ((await a.json()) as { data: Undo }).data,
      ((await b.json()) as { data: Undo }).data,
    ]
    expect(ra.undone.length + rb.undone.length).toBe(run.autoMerged)
    expect(ra.failed).toEqual([])
    expect(rb.failed).toEqual([])
    for (const r of [ra, rb]) expect(r.undone.length + r.alreadyUndone).toBe(run.autoMerged)
    const splits = await db().query<{ n: number }>(
      "SELECT count(*)::int AS n FROM profile_merges WHERE workspace_id = 'default' AND kind = 'split'",
    )
    expect(splits.rows[0]?.n).toBe(run.autoMerged)
    expect(await live()).toBe(before)

    // Each merged-away profile's identifier and events now live apart again, traits rebuilt
    // (which of the two survived depends on which profile the processor made first).
    const [org, dup] = [await profileOf('rec-1-org'), await profileOf('rec-1-dup-0')]
    expect(org).not.toBe(dup)
    for (const [id, row] of [
      [org, first.find((r) => r.rec_id === 'rec-1-org')!],
      [dup, dupe],
    ] as const) {
      const profile = (await (await k.admin(`/api/v1/profiles/${id}`)).json()) as {
        traits: Record<string, unknown>
      }
      expect(profile.traits.lastName).toBe(row.surname)
    }
    const done = [...ra.undone, ...rb.undone]
    expect(
      done.some(
        (u) =>
          (u.restoredAs === dup && u.splitFrom === org) ||
          (u.restoredAs === org && u.splitFrom === dup),
      ),
    ).toBe(true)
    expect(done.every((u) => u.movedEvents >= 1 && u.laterMerges === 0)).toBe(true)

    const view = (
      (await (await k.admin(`/api/v1/identity/matching/runs/${run.id}`)).json()) as {
        data: Run
      }
    ).data
    expect(view.undo).toMatchObject({ undone: run.autoMerged, failed: 0 })
    const merges = (await (
      await k.admin(`/api/v1/identity/matching/runs/${run.id}/merges?limit=200`)
    ).json()) as { data: Array<{ status: string; undo: { restoredAs: string } | null }> }
    expect(merges.data).toHaveLength(run.autoMerged)
    expect(merges.data.every((m) => m.status === 'undone' && m.undo?.restoredAs)).toBe(true)

    const again = ((await (await undo(run.id)).json()) as { data: Undo }).data
    expect(again).toMatchObject({ undone: [], alreadyUndone: run.autoMerged, failed: [] })

    // Audit-logged like any write: who, which run, how many; not the identifiers that moved.
    const audit = (await (
      await k.admin('/api/v1/audit?action=identity.matching.run.undo')
    ).json()) as {
      data: Array<{ targetType: string; targetId: string; after: Record<string, number> }>
    }
    expect(audit.data).toHaveLength(3)
    expect(audit.data[0]).toMatchObject({ targetType: 'matching_run', targetId: run.id })
    expect(audit.data.map((e) => e.after.undone ?? -1).sort((x, y) => x - y)).toEqual(
      [0, ra.undone.length, rb.undone.length].sort((x, y) => x - y),
    )

    // The undo is remembered: the next run does not merge the same people again.
    await send(
      first.map((r) => ({
        type: 'identify',
        anonymousId: anon(r.rec_id!),
        traits: { touched: true },
      })),
    )
    const next = await runMatching()
    expect(next.status).toBe('succeeded')
    expect(next.autoMerged).toBe(0)
    expect(await profileOf('rec-1-dup-0')).toBe(dup)
    expect(await profileOf('rec-1-org')).toBe(org)
  }, 180_000)

  it('splits what it can when later merges built on the run, and reports what it could not', async () => {
    await send(identify(second))
    const run = await runMatching()
    expect(run.autoMerged).toBeGreaterThanOrEqual(20)
    const merges = (await (
      await k.admin(`/api/v1/identity/matching/runs/${run.id}/merges?limit=200`)
    ).json()) as { data: Array<{ id: string; mergedFrom: string; mergedInto: string }> }
    const recOf = async (profileId: string) => {
      const res = await db().query<{ value: string }>(
        "SELECT value FROM identities WHERE workspace_id = 'default' AND type = 'anonymous_id' AND profile_id = $1",
        [profileId],
      )
      return res.rows.map((r) => r.value.slice('anon-'.length))
    }
    const [gone, builtOn] = merges.data as [(typeof merges.data)[0], (typeof merges.data)[0]]
    // 1. Someone split the first merge by hand already: nothing of it is left to undo.
    const fromAnon = (
      await db().query<{ identifiers: Array<{ type: string; value: string }> }>(
        "SELECT identifiers FROM profile_merges WHERE workspace_id = 'default' AND kind = 'merge' AND from_profile_id = $1",
        [gone.mergedFrom],
      )
    ).rows[0]?.identifiers
    expect(fromAnon?.length).toBeGreaterThan(0)
    const split = await k.admin(`/api/v1/profiles/${gone.mergedInto}/split`, {
      body: { identifiers: fromAnon },
    })
    expect(split.status).toBe(200)
    // 2. The processor merged a newcomer into the second merge's survivor since.
    const [survivorAnon] = await recOf(builtOn.mergedInto)
    await send([
      { type: 'identify', anonymousId: 'newcomer', traits: { plan: 'gold' }, messageId: 'nc-1' },
    ])
    await send([
      {
        type: 'identify',
        userId: 'later-user',
        anonymousId: `anon-${survivorAnon}`,
        messageId: 'nc-2',
      },
      { type: 'identify', userId: 'later-user', anonymousId: 'newcomer', messageId: 'nc-3' },
    ])
    const survivor = builtOn.mergedInto
    const newcomer = (await (
      await k.admin('/api/v1/profiles/lookup?type=anonymous_id&value=newcomer')
    ).json()) as { id: string }
    expect(newcomer.id).toBe(survivor)

    const res = await undo(run.id)
    expect(res.status).toBe(200)
    const out = ((await res.json()) as { data: Undo }).data
    expect(out.failed).toHaveLength(1)
    expect(out.failed[0]).toMatchObject({ pairId: gone.id, from: gone.mergedFrom })
    expect(out.failed[0]?.reason).toMatch(/any more/)
    expect(out.undone).toHaveLength(run.autoMerged - 1)
    const built = out.undone.find((u) => u.pairId === builtOn.id)
    expect(built?.splitFrom).toBe(survivor)
    expect(built?.laterMerges).toBeGreaterThanOrEqual(1)
    // The later merge stays: the newcomer is still with the survivor, the run's merge is not.
    const after = (await (
      await k.admin('/api/v1/profiles/lookup?type=anonymous_id&value=newcomer')
    ).json()) as { id: string }
    expect(after.id).toBe(survivor)
    expect(out.run.undo).toMatchObject({ undone: run.autoMerged - 1, failed: 1 })
  }, 180_000)

  it('answers 404 for another run, 409 while it runs, 400 for a body', async () => {
    expect((await undo('mrun_nope')).status).toBe(404)
    await db().query(
      `INSERT INTO matching_runs (workspace_id, id, trigger, status, started_at)
       VALUES ('default', 'mrun_busy0', 'manual', 'running', now())`,
    )
    const busy = await undo('mrun_busy0')
    expect(busy.status).toBe(409)
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('CONFLICT')
    await db().query(`UPDATE matching_runs SET status = 'failed' WHERE id = 'mrun_busy0'`)
    const bad = await undo('mrun_busy0', { all: true })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBeTruthy()
  }, 60_000)
})
