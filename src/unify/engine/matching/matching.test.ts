import { readFileSync } from 'node:fs'
import path from 'node:path'
import { febrlDir } from '../../../../bench/febrl.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, testStores, type TestKindred } from '../../../testing/test-server.js'
import { createMatchingModule } from '../../matching-module.js'
import { segmentsModule } from '../../../understand/segments-module.js'
import type { MatchingService } from './matching-service.js'

const FEBRL = path.join(febrlDir(), 'dataset1.csv')

interface FebrlRow {
  rec_id: string
  given_name: string
  surname: string
  street_number: string
  address_1: string
  suburb: string
  postcode: string
  state: string
  date_of_birth: string
}

function febrl(): FebrlRow[] {
  const [header, ...lines] = readFileSync(FEBRL, 'utf8').trim().split('\n')
  const cols = (header as string).split(',').map((c) => c.trim())
  return lines.map((l) => {
    const v = l.split(',').map((x) => x.trim())
    return Object.fromEntries(cols.map((c, i) => [c, v[i] ?? ''])) as unknown as FebrlRow
  })
}
const entity = (recId: string) => recId.split('-')[1] as string

function traitsOf(r: FebrlRow): Record<string, unknown> {
  const address: Record<string, string> = {}
  if (r.street_number) address.streetNumber = r.street_number
  if (r.address_1) address.street = r.address_1
  if (r.suburb) address.city = r.suburb
  if (r.postcode) address.postalCode = r.postcode
  if (r.state) address.state = r.state
  const t: Record<string, unknown> = { address }
  if (r.given_name) t.firstName = r.given_name
  if (r.surname) t.lastName = r.surname
  if (r.date_of_birth)
    t.birthday = `${r.date_of_birth.slice(0, 4)}-${r.date_of_birth.slice(4, 6)}-${r.date_of_birth.slice(6, 8)}`
  return t
}

interface Run {
  id: string
  status: string
  trigger: string
  autoMerge: boolean | null
  blockedBy: Record<string, number>
  profiles: number
  changedProfiles: number
  candidatePairs: number
  autoMerged: number
  queued: number
  blocked: number
  skippedDecided: number
  durationMs: number | null
  error: string | null
}
interface Pair {
  id: string
  status: string
  probability: number
  reason: string | null
  reasonCode: string | null
  autoMerged: boolean
  mergedFrom: string | null
  mergedInto: string | null
  runId: string | null
  explanation: { probability: number; fields: Array<{ field: string; weight: number }> }
  profileA: { id: string; traits: Record<string, unknown>; identifiers: unknown[] }
  profileB: { id: string; traits: Record<string, unknown>; identifiers: unknown[] }
}

describe.each(testStores())('probabilistic matching on %s', (store) => {
  let k: TestKindred
  let service: MatchingService
  let writeKey: string
  const all = febrl()
  const rows = all.filter((r) => Number(entity(r.rec_id)) < 120 && entity(r.rec_id) !== '7')
  const later = all.filter((r) => ['130', '131', '132', '133'].includes(entity(r.rec_id)))
  const before = new Map<string, string>()
  const anon = (recId: string) => `anon-${recId}`

  async function profileOf(recId: string): Promise<{ id: string; mergeCount: number }> {
    const res = await k.admin(`/api/v1/profiles/lookup?type=anonymous_id&value=${anon(recId)}`)
    expect(res.status).toBe(200)
    return (await res.json()) as { id: string; mergeCount: number }
  }
  async function runMatching(): Promise<Run> {
    const res = await k.admin('/api/v1/identity/matching/runs', { method: 'POST', body: {} })
    expect(res.status).toBe(202)
    const { data } = (await res.json()) as { data: Run }
    expect(data.status).toBe('running')
    await service.idle()
    const done = await k.admin(`/api/v1/identity/matching/runs/${data.id}`)
    return ((await done.json()) as { data: Run }).data
  }
  async function pending(): Promise<Pair[]> {
    const res = await k.admin('/api/v1/identity/review?limit=200')
    expect(res.status).toBe(200)
    return ((await res.json()) as { data: Pair[] }).data
  }

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
    const batch = rows.map((r) => ({
      type: 'identify',
      anonymousId: anon(r.rec_id),
      traits: traitsOf(r),
      messageId: `m-${r.rec_id}`,
    }))
    // The same person twice, under two different user ids (one email): a hard conflict for
    // identity rules.
    const twin = all.find((r) => r.rec_id === 'rec-7-org') as FebrlRow
    for (const side of ['a', 'b']) {
      batch.push({
        type: 'identify',
        userId: `crm-7-${side}`,
        anonymousId: anon(`twin-${side}`),
        traits: { ...traitsOf(twin), email: 'twin7@example.org' },
        messageId: `m-twin-${side}`,
      } as (typeof batch)[number])
    }
    const res = await k.track(writeKey, '/v1/batch', { batch })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
    for (const r of rows) before.set(r.rec_id, (await profileOf(r.rec_id)).id)
  }, 120_000)
  afterAll(async () => {
    await k?.close()
  })

  it('auto-merges the obvious duplicates into the oldest, with the explanation, and nothing else', async () => {
    const run = await runMatching()
    expect(run).toMatchObject({ status: 'succeeded', error: null, changedProfiles: run.profiles })
    expect(run.profiles).toBe(rows.length + 2)
    expect(run.autoMerged).toBeGreaterThanOrEqual(110)
    expect(run.durationMs).not.toBeNull()
    const byEntity = new Map<string, Set<string>>()
    for (const r of rows) {
      const s = byEntity.get(entity(r.rec_id)) ?? new Set<string>()
      s.add((await profileOf(r.rec_id)).id)
      byEntity.set(entity(r.rec_id), s)
    }
    const merged = [...byEntity.values()].filter((s) => s.size === 1).length
    expect(merged).toBe(run.autoMerged)
    // No false merge: no two entities share a profile.
    const owners = [...byEntity.values()].flatMap((s) => [...s])
    expect(new Set(owners).size).toBe(owners.length)

    const org = 'rec-1-org'
    const dup = 'rec-1-dup-0'
    const survivor = (await profileOf(org)).id
    expect((await profileOf(dup)).id).toBe(survivor)
    const goneId = [before.get(org), before.get(dup)].find((id) => id !== survivor) as string
    const redirect = await k.admin(`/api/v1/profiles/${goneId}`, { headers: {} })
    expect(redirect.status).toBe(200) // fetch follows the 308 to the survivor
    expect(((await redirect.json()) as { id: string }).id).toBe(survivor)
    const merges = await k.admin(`/api/v1/profiles/${survivor}/merges`)
    const list = (
      (await merges.json()) as {
        data: Array<{
          rule: string
          reason: string
          fromProfileId: string
          details: Pair['explanation']
        }>
      }
    ).data
    const m = list.find((x) => x.fromProfileId === goneId)
    expect(m).toMatchObject({ rule: 'probabilistic', reason: 'probabilistic match' })
    expect(m?.details.probability).toBeGreaterThanOrEqual(0.99)
    expect(m?.details.fields.map((f) => f.field)).toContain('surname')
    expect(m?.details.fields.every((f) => typeof f.weight === 'number')).toBe(true)

    // The run lists what it merged: one auto-merged pair per merge, with its score and explanation.
    expect(run).toMatchObject({ trigger: 'manual', autoMerge: true })
    const listed: Pair[] = []
    let cursor: string | null = null
    do {
      const res = await k.admin(
        `/api/v1/identity/matching/runs/${run.id}/merges?limit=50${cursor ? `&cursor=${cursor}` : ''}`,
      )
      expect(res.status).toBe(200)
      const page = (await res.json()) as { data: Pair[]; nextCursor: string | null }
      listed.push(...page.data)
      cursor = page.nextCursor
    } while (cursor !== null)
    expect(listed).toHaveLength(run.autoMerged)
    const rec1 = listed.find((p) => p.mergedFrom === goneId)
    expect(rec1).toMatchObject({ status: 'merged', autoMerged: true, runId: run.id })
    expect(rec1?.mergedInto).toBe(survivor)
    expect(rec1?.probability).toBeGreaterThanOrEqual(0.99)
    expect(rec1?.explanation.fields.map((f) => f.field)).toContain('surname')
    const review = await k.admin(`/api/v1/identity/review?status=merged&runId=${run.id}&limit=200`)
    expect(((await review.json()) as { data: Pair[] }).data).toHaveLength(run.autoMerged)
    expect((await k.admin('/api/v1/identity/matching/runs/mrun_nope/merges')).status).toBe(404)

    // FEBRL's rec-0 duplicate has another first name (flynn / thomas) and no birth date: at one
    // address that is a household, so it waits for a reviewer, who may still accept it.
    const [f0, t0] = [(await profileOf('rec-0-org')).id, (await profileOf('rec-0-dup-0')).id]
    expect(f0).not.toBe(t0)
    expect(run.blockedBy.different_names).toBeGreaterThanOrEqual(1)
    const held = (await pending()).find(
      (p) => [p.profileA.id, p.profileB.id].sort().join() === [f0, t0].sort().join(),
    )
    expect(held).toMatchObject({ reasonCode: 'different_names' })
    expect(held?.reason).toMatch(/first names differ \((flynn|thomas) ≠ (flynn|thomas)\)/)
    expect(held?.probability).toBeGreaterThanOrEqual(0.99)
    const ok = await k.admin(`/api/v1/identity/review/${held?.id}/accept`, {
      method: 'POST',
      body: {},
    })
    expect(ok.status).toBe(200)
    expect((await profileOf('rec-0-dup-0')).id).toBe((await profileOf('rec-0-org')).id)
  }, 120_000)

  it('sends a pair that identity rules forbid to review with the reason; it cannot be accepted', async () => {
    const a = (await profileOf('twin-a')).id
    const b = (await profileOf('twin-b')).id
    expect(a).not.toBe(b)
    const pair = (await pending()).find(
      (p) => [p.profileA.id, p.profileB.id].sort().join() === [a, b].sort().join(),
    )
    expect(pair?.reason).toMatch(/user_id/)
    expect(pair?.reasonCode).toBe('identity_rules')
    expect(pair?.probability).toBeGreaterThanOrEqual(0.99)
    expect(pair?.profileA.identifiers.length).toBeGreaterThan(0)
    const res = await k.admin(`/api/v1/identity/review/${pair?.id}/accept`, {
      method: 'POST',
      body: {},
    })
    expect(res.status).toBe(409)
    expect((await profileOf('twin-a')).id).not.toBe((await profileOf('twin-b')).id)
  }, 60_000)

  it('queues borderline pairs; accept merges, reject is remembered across runs', async () => {
    const res = await k.track(writeKey, '/v1/batch', {
      batch: later.map((r) => ({
        type: 'identify',
        anonymousId: anon(r.rec_id),
        traits: traitsOf(r),
        messageId: `m-${r.rec_id}`,
      })),
    })
    expect(res.status).toBe(200)
    await k.kindred.processor?.drain()
    // A workspace that reviews every match itself.
    const put = await k.admin('/api/v1/identity/matching/settings', {
      method: 'PUT',
      body: { autoMerge: false },
    })
    expect(put.status).toBe(200)
    const bad = await k.admin('/api/v1/identity/matching/settings', {
      method: 'PUT',
      body: { autoMergeThreshold: 0.7, reviewThreshold: 0.9 },
    })
    expect(bad.status).toBe(400)
    const run = await runMatching()
    expect(run.status).toBe('succeeded')
    const queue = await pending()
    const idsOf = async (n: string) => [
      (await profileOf(`rec-${n}-org`)).id,
      (await profileOf(`rec-${n}-dup-0`)).id,
    ]
    const found: Array<{ n: string; pair: Pair }> = []
    for (const n of ['130', '131', '132', '133']) {
      const [x, y] = await idsOf(n)
      const pair = queue.find(
        (p) => [p.profileA.id, p.profileB.id].sort().join() === [x, y].sort().join(),
      )
      if (pair) found.push({ n, pair })
    }
    expect(found.length).toBeGreaterThanOrEqual(2)
    for (const { pair } of found) {
      expect(pair.reason).toBeNull()
      expect(pair.probability).toBeGreaterThanOrEqual(0.8)
      expect(pair.explanation.fields.length).toBeGreaterThan(3)
      expect(pair.profileA.traits).toHaveProperty('lastName')
    }
    const [accept, reject] = found as [(typeof found)[0], (typeof found)[0]]

    const acc = await k.admin(`/api/v1/identity/review/${accept.pair.id}/accept`, {
      method: 'POST',
      body: {},
    })
    expect(acc.status).toBe(200)
    const accepted = ((await acc.json()) as { data: { mergedInto: string; mergedFrom: string } })
      .data
    expect((await profileOf(`rec-${accept.n}-org`)).id).toBe(accepted.mergedInto)
    expect((await profileOf(`rec-${accept.n}-dup-0`)).id).toBe(accepted.mergedInto)
    const again = await k.admin(`/api/v1/identity/review/${accept.pair.id}/accept`, {
      method: 'POST',
      body: {},
    })
    expect(again.status).toBe(409)
    const merges = await k.admin(`/api/v1/profiles/${accepted.mergedInto}/merges`)
    const rec = (
      (await merges.json()) as {
        data: Array<{ rule: string; fromProfileId: string; details: Record<string, unknown> }>
      }
    ).data.find((m) => m.fromProfileId === accepted.mergedFrom)
    expect(rec).toMatchObject({ rule: 'probabilistic', details: { reviewPairId: accept.pair.id } })

    const rej = await k.admin(`/api/v1/identity/review/${reject.pair.id}/reject`, {
      method: 'POST',
      body: {},
    })
    expect(rej.status).toBe(200)
    expect(((await rej.json()) as { data: Pair }).data.status).toBe('rejected')
    expect(
      (await k.admin('/api/v1/identity/review/nope/reject', { method: 'POST', body: {} })).status,
    ).toBe(404)

    // Touch both profiles of the rejected pair, so the next run compares them again.
    await k.track(writeKey, '/v1/batch', {
      batch: [`rec-${reject.n}-org`, `rec-${reject.n}-dup-0`].map((id) => ({
        type: 'identify',
        anonymousId: anon(id),
        traits: { plan: 'gold' },
        messageId: `m-touch-${id}`,
      })),
    })
    await k.kindred.processor?.drain()
    const next = await runMatching()
    expect(next.status).toBe('succeeded')
    expect(next.changedProfiles).toBeGreaterThanOrEqual(2)
    expect(next.skippedDecided).toBeGreaterThanOrEqual(1)
    expect((await pending()).some((p) => p.id === reject.pair.id)).toBe(false)
    const [x, y] = await idsOf(reject.n)
    expect(x).not.toBe(y)
    const rejected = await k.admin('/api/v1/identity/review?status=rejected')
    expect(((await rejected.json()) as { data: Pair[] }).data.map((p) => p.id)).toContain(
      reject.pair.id,
    )

    // A run with nothing changed since the last one compares nothing.
    const idle = await runMatching()
    expect(idle).toMatchObject({ status: 'succeeded', changedProfiles: 0, candidatePairs: 0 })
  }, 180_000)

  it('a split after an auto-merge restores both profiles, and later runs do not redo it', async () => {
    await k.admin('/api/v1/identity/matching/settings', { method: 'PUT', body: {} })
    const survivor = (await profileOf('rec-3-org')).id
    expect((await profileOf('rec-3-dup-0')).id).toBe(survivor)
    const res = await k.admin(`/api/v1/profiles/${survivor}/split`, {
      body: { identifiers: [{ type: 'anonymous_id', value: anon('rec-3-dup-0') }] },
    })
    expect(res.status).toBe(200)
    const { newProfileId } = (await res.json()) as { newProfileId: string }
    expect((await profileOf('rec-3-dup-0')).id).toBe(newProfileId)
    expect((await profileOf('rec-3-org')).id).toBe(survivor)
    const restored = await k.admin(`/api/v1/profiles/${newProfileId}`)
    const dupRow = rows.find((r) => r.rec_id === 'rec-3-dup-0') as FebrlRow
    expect(((await restored.json()) as { traits: Record<string, unknown> }).traits.lastName).toBe(
      dupRow.surname || undefined,
    )
    const run = await runMatching()
    expect(run.status).toBe('succeeded')
    expect((await profileOf('rec-3-dup-0')).id).toBe(newProfileId)
    expect((await profileOf('rec-3-org')).id).toBe(survivor)
  }, 120_000)

  it('refuses a second run while one is running, and validates input', async () => {
    const runs = await k.admin('/api/v1/identity/matching/runs?limit=2')
    expect(((await runs.json()) as { data: Run[] }).data).toHaveLength(2)
    expect((await k.admin('/api/v1/identity/matching/runs?limit=0')).status).toBe(400)
    expect((await k.admin('/api/v1/identity/matching/runs/mrun_nope')).status).toBe(404)
    expect((await k.admin('/api/v1/identity/review?cursor=zzz')).status).toBe(400)
    // A run in flight (as another node would hold it): a second one is refused.
    const db = k.kindred.store.db
    await db.query(
      `INSERT INTO matching_runs (workspace_id, id, trigger, status, started_at)
       VALUES ('default', 'mrun_elsewhere0', 'manual', 'running', now())`,
    )
    const refused = await k.admin('/api/v1/identity/matching/runs', { method: 'POST', body: {} })
    expect(refused.status).toBe(409)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('CONFLICT')
    await db.query(`UPDATE matching_runs SET status = 'failed' WHERE id = 'mrun_elsewhere0'`)
    const ok = await k.admin('/api/v1/identity/matching/runs', { method: 'POST', body: {} })
    expect(ok.status).toBe(202)
    await service.idle()
  }, 60_000)
})
