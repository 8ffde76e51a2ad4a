/**
 * Keyed suppression hashes on a store upgraded from plain sha256 (ADR 0007): the database is
 * built at migration 0430 with rows exactly as the earlier code wrote them, then Kindred starts on
 * it (running 0431). Legacy rows keep dropping events; every new row is HMAC under the instance
 * key; re-suppressing a legacy identifier rewrites its row instead of adding a second one; a row
 * written under another key makes ingest refuse (503) rather than guess.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  deriveSuppressionKey,
  identifierHash,
  legacyIdentifierHash,
  type HashableIdentifier,
} from '../../core/privacy/suppression.js'
import { startTestKindred, testStores, type TestKindred } from '../../../testing/test-server.js'
import { loadMigrations, migrate } from '../../../platform/store/migrate.js'
import { openStore } from '../../../platform/store/open-store.js'
import { createTestDatabase } from '../../../testing/databases.js'
import { until } from '../../../testing/test-receiver.js'
import { createPrivacyModule } from '../../privacy-module.js'
import { createGovernDeliveries } from '../../../activate/index.js'

const LENA: HashableIdentifier = { type: 'email', value: 'lena@example.com' }
const PHONE: HashableIdentifier = { type: 'phone', value: '+14155550199' }
const MAX_EMAIL: HashableIdentifier = { type: 'email', value: 'max@example.com' }
const OLGA: HashableIdentifier = { type: 'user_id', value: 'olga-1' }

interface Row {
  id: string
  identifier_hash: string
  scheme: string
  key_id: string | null
  reason: string
  dropped_count: string | number
  request_id: string | null
}

describe.each(testStores())('keyed suppression hashes over legacy rows (%s)', (store) => {
  const secretHex = randomBytes(32).toString('hex')
  const key = deriveSuppressionKey(Buffer.from(secretHex, 'hex'))
  let k: TestKindred
  let writeKey: string
  let cleanup: () => Promise<void>

  beforeAll(async () => {
    // The store as the previous release left it: migrations up to 0430 and legacy rows.
    let target: { dataDir: string } | { databaseUrl: string }
    if (store === 'pglite') {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'kindred-keyed-'))
      target = { dataDir }
      cleanup = () => rm(dataDir, { recursive: true, force: true })
    } else {
      const database = await createTestDatabase(process.env.KINDRED_TEST_DATABASE_URL as string)
      target = { databaseUrl: database.url }
      cleanup = () => database.drop()
    }
    const old = await openStore({ ...target, migrate: false })
    await migrate(
      old.db,
      (await loadMigrations()).filter((m) => m.version <= 430),
    )
    const legacy = (
      id: string,
      i: HashableIdentifier,
      reason: string,
      expiresAt: string | null = null,
    ) =>
      old.db.query(
        `INSERT INTO privacy_suppressions (workspace_id, id, identifier_type, identifier_hash,
           identifier_mask, reason, request_id, created_at, expires_at)
         VALUES ('default', $1, $2, $3, 'x***', $4, NULL, now() - interval '30 days', $5)`,
        [id, i.type, legacyIdentifierHash(i), reason, expiresAt],
      )
    await legacy('sup_legacylena', LENA, 'suppression')
    await legacy('sup_legacyphone', PHONE, 'suppression')
    // Max was deleted long ago; the tombstone's grace period is over, he may come back.
    await legacy('sup_legacymax', MAX_EMAIL, 'deletion', '2020-01-01T00:00:00Z')
    // A deletion still in its grace period: its tombstone must still stop the processor.
    await legacy('sup_legacyolga', OLGA, 'deletion')
    await old.close()

    k = await startTestKindred({
      ...target,
      secretKey: secretHex,
      modules: [createPrivacyModule({ pollIntervalMs: 50, deliveries: createGovernDeliveries() })],
    })
    writeKey = (await k.createSource('keyed', { rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } }))
      .writeKey
  }, 60_000)

  afterAll(async () => {
    await k?.close()
    await cleanup?.()
  })

  const rows = async (where = 'TRUE', params: unknown[] = []) =>
    (
      await k.kindred.store.db.query<Row>(
        `SELECT id, identifier_hash, scheme, key_id, reason, dropped_count, request_id
         FROM privacy_suppressions WHERE ${where} ORDER BY id`,
        params,
      )
    ).rows
  async function send(p: string, body: unknown): Promise<void> {
    expect((await k.track(writeKey, p, body)).status).toBe(200)
    await k.kindred.processor?.drain()
  }
  async function hasIdentity(i: HashableIdentifier): Promise<boolean> {
    const r = await k.kindred.store.db.query(
      'SELECT 1 FROM identities WHERE type = $1 AND value = $2',
      [i.type, i.value],
    )
    return r.rows.length > 0
  }
  async function finished(id: string): Promise<{ status: string }> {
    return until(async () => {
      const r = (await (await k.admin(`/api/v1/privacy/requests/${id}`)).json()) as {
        status: string
      }
      return r.status === 'completed' || r.status === 'failed' ? r : undefined
    }, 20_000)
  }

  it('the migration marks existing rows as sha256', async () => {
    const all = await rows()
    expect(all).toHaveLength(4)
    expect(all.every((r) => r.scheme === 'sha256' && r.key_id === null)).toBe(true)
  })

  it('a legacy sha256 row still drops events, while a new suppression is HMAC', async () => {
    await send('/v1/identify', { userId: 'lena-1', traits: { email: ' Lena@Example.com' } })
    expect(await hasIdentity({ type: 'user_id', value: 'lena-1' })).toBe(false)

    const res = await k.admin('/api/v1/privacy/suppressions', {
      body: { identifier: { type: 'email', value: 'Nina@example.com' } },
    })
    expect(res.status).toBe(201)
    const { id } = (await res.json()) as { id: string }
    const [nina] = await rows('id = $1', [id])
    const ninaId = { type: 'email', value: 'nina@example.com' }
    expect(nina).toMatchObject({
      scheme: 'hmac-sha256',
      key_id: key.id,
      identifier_hash: identifierHash(ninaId, key),
    })
    expect(nina?.identifier_hash).not.toBe(legacyIdentifierHash(ninaId))
    await send('/v1/identify', { userId: 'nina-1', traits: { email: 'nina@example.com' } })
    expect(await hasIdentity({ type: 'user_id', value: 'nina-1' })).toBe(false)

    // Both matched and were counted on their own rows.
    const list = (await (await k.admin('/api/v1/privacy/suppressions')).json()) as {
      items: { id: string; droppedCount: number }[]
    }
    const count = (sid: string) => list.items.find((s) => s.id === sid)?.droppedCount
    expect(count('sup_legacylena')).toBe(1)
    expect(count(id)).toBe(1)
  })

  it('a legacy tombstone still stops the processor from recreating the person', async () => {
    // Accepted before the tombstone (straight into the log): the tombstone stage erases it.
    const sourceId = (
      await k.kindred.store.db.query<{ id: string }>('SELECT id FROM sources LIMIT 1')
    ).rows[0]!.id
    const now = new Date().toISOString()
    await k.kindred.eventLog.append({
      workspaceId: 'default',
      sourceId,
      receivedAt: now,
      events: [
        {
          type: 'identify',
          messageId: 'olga-late-1',
          userId: OLGA.value,
          traits: {},
          properties: {},
          context: {},
          timestamp: now,
          receivedAt: now,
        } as never,
      ],
    })
    await k.kindred.processor?.drain()
    expect(await hasIdentity(OLGA)).toBe(false)
  })

  it('suppressing a legacy identifier again rewrites its row under the key: no duplicate', async () => {
    const res = await k.admin('/api/v1/privacy/suppressions', {
      body: { identifier: { type: 'email', value: 'LENA@example.com' } },
    })
    expect(res.status).toBe(201)
    expect(((await res.json()) as { id: string }).id).toBe('sup_legacylena')
    const lena = await rows(`identifier_type = 'email' AND identifier_mask = 'x***'`)
    const upgraded = lena.find((r) => r.id === 'sup_legacylena')
    expect(upgraded).toMatchObject({
      scheme: 'hmac-sha256',
      key_id: key.id,
      identifier_hash: identifierHash(LENA, key),
      reason: 'suppression',
    })
    // Its history is kept.
    expect(Number(upgraded?.dropped_count)).toBe(1)
    expect(await rows('identifier_hash = $1', [legacyIdentifierHash(LENA)])).toEqual([])
    // And it still blocks.
    await send('/v1/identify', { userId: 'lena-2', traits: { email: 'lena@example.com' } })
    expect(await hasIdentity({ type: 'user_id', value: 'lena-2' })).toBe(false)
  })

  it('a deletion re-suppressing legacy identifiers reuses their rows', async () => {
    // Max came back after his old tombstone expired.
    await send('/v1/identify', { userId: 'max-1', traits: { email: MAX_EMAIL.value } })
    expect(await hasIdentity(MAX_EMAIL)).toBe(true)
    const created = await k.admin('/api/v1/privacy/requests', {
      body: { type: 'deletion', identifier: { type: 'user_id', value: 'max-1' } },
    })
    expect(created.status).toBe(202)
    const req = (await created.json()) as { id: string }
    expect((await finished(req.id)).status).toBe('completed')
    expect(await hasIdentity(MAX_EMAIL)).toBe(false)
    const tombstones = await rows('request_id = $1', [req.id])
    // user_id and email: one tombstone each, the e-mail's being the old row, now keyed.
    expect(tombstones.map((r) => r.id)).toContain('sup_legacymax')
    expect(tombstones).toHaveLength(2)
    expect(tombstones.every((r) => r.scheme === 'hmac-sha256' && r.reason === 'deletion')).toBe(
      true,
    )
    expect(await rows('identifier_hash = $1', [identifierHash(MAX_EMAIL, key)])).toHaveLength(1)

    // A deletion naming an identifier under a legacy permanent suppression: the suppression is
    // rewritten (same id, still permanent) and the deletion adds only its own tombstone.
    const byPhone = await k.admin('/api/v1/privacy/requests', {
      body: { type: 'deletion', identifier: { type: 'phone', value: '+1 415 555 0199' } },
    })
    expect(byPhone.status).toBe(202)
    expect((await finished(((await byPhone.json()) as { id: string }).id)).status).toBe('completed')
    const phone = await rows(`identifier_type = 'phone'`)
    expect(phone.map((r) => [r.id === 'sup_legacyphone', r.reason, r.scheme]).sort()).toEqual([
      [false, 'deletion', 'hmac-sha256'],
      [true, 'suppression', 'hmac-sha256'],
    ])
    // The request rows are keyed too: nothing in privacy_requests is the plain hash.
    const requests = await k.kindred.store.db.query<{ identifier_hash: string; scheme: string }>(
      'SELECT identifier_hash, scheme FROM privacy_requests',
    )
    expect(requests.rows.length).toBeGreaterThan(0)
    expect(requests.rows.every((r) => r.scheme === 'hmac-sha256')).toBe(true)
    expect(requests.rows.map((r) => r.identifier_hash)).not.toContain(
      legacyIdentifierHash({ type: 'user_id', value: 'max-1' }),
    )
  })

  it('a row written under another key makes ingest refuse with 503 instead of guessing', async () => {
    await k.kindred.store.db.query(
      `INSERT INTO privacy_suppressions (workspace_id, id, identifier_type, identifier_hash, scheme,
         key_id, identifier_mask, reason, created_at)
       VALUES ('default', 'sup_foreign01', 'email', $1, 'hmac-sha256', 'ffffffffffffffff', 'z***',
         'suppression', now())`,
      [
        identifierHash(
          { type: 'email', value: 'zoe@example.com' },
          deriveSuppressionKey(randomBytes(32)),
        ),
      ],
    )
    // Another node's change reaches this one within the refresh; an API change reloads at once.
    expect(
      (
        await k.admin('/api/v1/privacy/suppressions', {
          body: { identifier: { type: 'user_id', value: 'reload-1' } },
        })
      ).status,
    ).toBe(201)
    const res = await k.track(writeKey, '/v1/track', { userId: 'zoe-1', event: 'x' })
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE')
    // Removing the unreadable row (or restoring the key) lifts it.
    expect(
      (await k.admin('/api/v1/privacy/suppressions/sup_foreign01', { method: 'DELETE' })).status,
    ).toBe(204)
    expect((await k.track(writeKey, '/v1/track', { userId: 'zoe-1', event: 'x' })).status).toBe(200)
  })
})
