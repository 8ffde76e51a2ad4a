import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'
import { reprocess } from './reprocess.js'

let k: TestKindred
beforeAll(async () => {
  k = await startTestKindred()
})
afterAll(() => k.close())

const profileOf = async (userId: string) => {
  const res = await k.admin(`/api/v1/profiles/lookup?type=user_id&value=${userId}`)
  return ((await res.json()) as { id: string }).id
}

it('reports what new rules would change, then rebuilds the graph under them', async () => {
  const { writeKey } = await k.createSource()
  // Two users share a "family" email: merged under default rules (user_id limit 1 keeps them apart,
  // so only the anonymous ids join); under rules that block the email they stay fully apart.
  for (const [i, body] of [
    { anonymousId: 'a1', event: 'Viewed' },
    { anonymousId: 'a1', userId: 'u1', type: 'identify', traits: { email: 'family@example.com' } },
    { anonymousId: 'a2', traits: { email: 'family@example.com' }, type: 'identify' },
    { anonymousId: 'a2', event: 'Bought' },
  ].entries()) {
    const { type = 'track', ...rest } = body as { type?: string }
    expect((await k.track(writeKey, `/v1/${type}`, { messageId: `rp-${i}`, ...rest })).status).toBe(
      200,
    )
  }
  await k.kindred.processor?.drain()
  const db = k.kindred.store.db
  const u1 = await profileOf('u1')
  const before = await db.query<{ n: number }>(
    "SELECT count(DISTINCT profile_id)::int AS n FROM identities WHERE value IN ('a1', 'a2')",
  )
  expect(before.rows[0]?.n).toBe(1)

  const newRules = {
    blockedValues: [
      '',
      'null',
      'undefined',
      'anonymous',
      '0',
      '-1',
      '[object Object]',
      'family@example.com',
    ],
  }
  const dry = await reprocess(db, { workspaceId: 'default', rules: newRules, dryRun: true })
  expect(dry.events).toBe(4)
  expect(dry.diff.split).toHaveLength(1)
  expect(dry.diff.split[0]?.before).toBe(u1)
  // A dry run changes nothing.
  const still = await db.query<{ n: number }>(
    "SELECT count(DISTINCT profile_id)::int AS n FROM identities WHERE value IN ('a1', 'a2')",
  )
  expect(still.rows[0]?.n).toBe(1)

  const real = await reprocess(db, { workspaceId: 'default', rules: newRules })
  expect(real.diff.split).toHaveLength(1)
  const after = await db.query<{ n: number }>(
    "SELECT count(DISTINCT profile_id)::int AS n FROM identities WHERE value IN ('a1', 'a2')",
  )
  expect(after.rows[0]?.n).toBe(2)
  const orphans = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM events WHERE profile_id IS NULL',
  )
  expect(orphans.rows[0]?.n).toBe(0)
  // Replaying the same rules again is a no-op on the grouping.
  const again = await reprocess(db, { workspaceId: 'default', dryRun: true })
  expect(again.diff.merged).toEqual([])
  expect(again.diff.split).toEqual([])
})
