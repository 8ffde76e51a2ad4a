import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'
import { createIdentitySettingsCache } from './identity-settings.js'
import { createProfileSplitter, type ProfileSplitter } from './profile-split.js'
import { isKindredError } from '../../protocol/errors.js'

// The split as a service, without HTTP: the events arrive through ingest and the processor (that
// is how profiles get merged), then the service is called as the CLI or a review queue would.
let k: TestKindred
let split: ProfileSplitter
const at = Date.parse('2026-12-01T10:00:00Z')

async function profileOf(type: string, value: string): Promise<string | undefined> {
  const res = await k.kindred.store.db.query<{ profile_id: string }>(
    "SELECT profile_id FROM identities WHERE workspace_id = 'default' AND type = $1 AND value = $2",
    [type, value],
  )
  return res.rows[0]?.profile_id
}

async function rejection(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeDefined()
  return err as { code?: string; kind?: string }
}

describe('profile split service', () => {
  let merged: string
  beforeAll(async () => {
    k = await startTestKindred()
    split = createProfileSplitter({
      db: k.kindred.store.db,
      identitySettings: createIdentitySettingsCache(() => Date.now()),
      clock: () => at,
    })
    const { writeKey } = await k.createSource('Web', {
      rateLimit: { eventsPerSecond: 1e6, burst: 1e6 },
    })
    for (const [i, [path, body]] of (
      [
        ['/v1/identify', { userId: 'hal', traits: { email: 'desk@example.com', name: 'Hal' } }],
        ['/v1/track', { userId: 'hal', event: 'Invoice Paid' }],
        ['/v1/identify', { anonymousId: 'ivy-tablet', traits: { name: 'Ivy' } }],
        ['/v1/track', { anonymousId: 'ivy-tablet', event: 'Opened' }],
        [
          '/v1/track',
          {
            anonymousId: 'ivy-tablet',
            event: 'Signed In',
            context: { traits: { email: 'desk@example.com' } },
          },
        ],
      ] as const
    ).entries()) {
      expect((await k.track(writeKey, path, { ...body, messageId: `ps-${i}` })).status).toBe(200)
    }
    await k.kindred.processor?.drain()
    merged = (await profileOf('user_id', 'hal')) ?? ''
    expect(await profileOf('anonymous_id', 'ivy-tablet')).toBe(merged)
  })
  afterAll(() => k.close())

  it('moves the identifiers and their events to a new profile, in every table', async () => {
    const result = await split({
      workspaceId: 'default',
      profileId: merged,
      identifiers: [{ type: 'anonymous_id', value: 'ivy-tablet' }],
      requestedBy: 'key_test',
    })
    expect(result.profileId).toBe(merged)
    expect(result.newProfileId).not.toBe(merged)
    expect(result.detached).toEqual([{ type: 'anonymous_id', value: 'ivy-tablet' }])
    expect(result.movedEvents).toBe(2)
    expect(await profileOf('anonymous_id', 'ivy-tablet')).toBe(result.newProfileId)
    expect(await profileOf('user_id', 'hal')).toBe(merged)

    const db = k.kindred.store.db
    const profiles = await db.query<{ id: string; name: string | null }>(
      "SELECT id, traits->>'name' AS name FROM profiles WHERE workspace_id = 'default' AND id = ANY($1) ORDER BY id",
      [[merged, result.newProfileId]],
    )
    const name = (id: string) => profiles.rows.find((p) => p.id === id)?.name
    expect(name(merged)).toBe('Hal')
    expect(name(result.newProfileId)).toBe('Ivy')
    const moved = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE workspace_id = 'default' AND profile_id = $1",
      [result.newProfileId],
    )
    expect(moved.rows[0]?.n).toBe(2)
    const separations = await db.query<{ profile_id: string; other_profile_id: string }>(
      "SELECT profile_id, other_profile_id FROM profile_separations WHERE workspace_id = 'default' AND reason = 'split' ORDER BY profile_id",
    )
    expect(separations.rows.map((r) => [r.profile_id, r.other_profile_id]).sort()).toEqual(
      [
        [merged, result.newProfileId],
        [result.newProfileId, merged],
      ].sort(),
    )
    const record = await db.query<{
      kind: string
      from_profile_id: string
      into_profile_id: string
    }>(
      "SELECT kind, from_profile_id, into_profile_id, at FROM profile_merges WHERE workspace_id = 'default' AND kind = 'split'",
    )
    expect(record.rows).toEqual([
      {
        kind: 'split',
        from_profile_id: merged,
        into_profile_id: result.newProfileId,
        at: new Date(at),
      },
    ])
  })

  it('refuses a profile that was merged away, naming the survivor', async () => {
    const db = k.kindred.store.db
    await db.query(
      `INSERT INTO profiles (workspace_id, id, merged_into, created_at, updated_at) VALUES ('default', 'prf_gone', $1, now(), now())`,
      [merged],
    )
    const err = await rejection(
      split({
        workspaceId: 'default',
        profileId: 'prf_gone',
        identifiers: [{ type: 'user_id', value: 'hal' }],
        requestedBy: 'key_test',
      }),
    )
    expect(isKindredError(err) && err.code).toBe('CONFLICT')
  })

  it.each([
    ['an unknown profile', 'prf_missing', [{ type: 'user_id', value: 'hal' }], 'NOT_FOUND'],
    [
      'an unusable identifier',
      'prf_missing',
      [{ type: 'email', value: 'not an email' }],
      'VALIDATION_FAILED',
    ],
  ])('refuses %s', async (_what, profileId, identifiers, code) => {
    const err = await rejection(
      split({ workspaceId: 'default', profileId, identifiers, requestedBy: 'key_test' }),
    )
    expect(err.code).toBe(code)
  })

  it('refuses identifiers the profile does not hold, and changes nothing', async () => {
    const db = k.kindred.store.db
    const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM profiles')
    const err = await rejection(
      split({
        workspaceId: 'default',
        profileId: merged,
        identifiers: [{ type: 'user_id', value: 'nobody' }],
        requestedBy: 'key_test',
      }),
    )
    expect(err.kind).toBe('invalid_input')
    const after = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM profiles')
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n)
  })
})
