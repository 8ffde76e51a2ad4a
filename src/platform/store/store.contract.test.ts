import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { storeTargets } from '../../testing/databases.js'
import type { Store } from './open-store.js'
import { migrate } from './migrate.js'
import { ensureEventPartitions } from './partitions.js'
import { workspacesRepository, DEFAULT_WORKSPACE_ID } from './repositories/workspaces-repository.js'
import { sourcesRepository } from './repositories/sources-repository.js'
import { apiKeysRepository } from './repositories/api-keys-repository.js'
import { hashSecret } from './ids.js'
import { createPostgresEventLog, readEventLog } from '../stream/postgres-event-log.js'
import { createProcessor } from '../pipeline/processor.js'
import { createMetrics } from '../metrics/metrics.js'
import type { KindredEvent } from '../../protocol/event-schema.js'

const ev = (messageId: string, i = 0): KindredEvent => ({
  messageId,
  type: 'track',
  event: 'Viewed',
  userId: `u${i}`,
  properties: { i },
  traits: {},
  context: {},
  integrations: {},
  timestamp: '2026-01-01T00:00:00.000Z',
  originalTimestamp: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:01.000Z',
})

// One suite, every adapter: the same migrations and repositories must behave the same.
describe.each(storeTargets())('store on $name', (target) => {
  let store: Store
  beforeAll(async () => {
    store = await target.open()
  })
  afterAll(async () => {
    await store.close()
  })

  it('migrates idempotently', async () => {
    expect(await migrate(store.db)).toEqual([])
    const res = await store.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM schema_migrations',
    )
    expect(res.rows[0]?.n).toBeGreaterThanOrEqual(1)
  })

  it('creates the default workspace once', async () => {
    const a = await workspacesRepository.ensureDefault(store.db)
    const b = await workspacesRepository.ensureDefault(store.db)
    expect(a.id).toBe(DEFAULT_WORKSPACE_ID)
    expect(b.createdAt).toBe(a.createdAt)
  })

  it('stores sources by write key hash, scoped to a workspace', async () => {
    await workspacesRepository.create(store.db, 'ws_other', 'Other')
    const s = await sourcesRepository.insert(store.db, {
      id: 'src_one',
      workspaceId: DEFAULT_WORKSPACE_ID,
      name: 'Web',
      writeKeyHash: hashSecret('wk_secret'),
      writeKeyPrefix: 'wk_sec',
      settings: {},
    })
    expect(s.name).toBe('Web')
    expect(
      (await sourcesRepository.findByWriteKeyHash(store.db, hashSecret('wk_secret'), new Date()))
        ?.source.id,
    ).toBe('src_one')
    expect(await sourcesRepository.get(store.db, 'ws_other', 'src_one')).toBeUndefined()
    expect(await sourcesRepository.list(store.db, 'ws_other')).toEqual([])
    const renamed = await sourcesRepository.update(store.db, DEFAULT_WORKSPACE_ID, 'src_one', {
      name: 'Website',
    })
    expect(renamed?.name).toBe('Website')
    expect(
      await sourcesRepository.update(store.db, 'ws_other', 'src_one', { name: 'x' }),
    ).toBeUndefined()
    expect(await sourcesRepository.delete(store.db, 'ws_other', 'src_one')).toBe(false)
    expect(await sourcesRepository.delete(store.db, DEFAULT_WORKSPACE_ID, 'src_one')).toBe(true)
    expect(
      await sourcesRepository.findByWriteKeyHash(store.db, hashSecret('wk_secret'), new Date()),
    ).toBeUndefined()
  })

  it('keeps a replaced write key until its expiry, and drops it with its source', async () => {
    const t0 = new Date('2030-01-01T00:00:00Z')
    const later = (s: number) => new Date(t0.getTime() + s * 1000)
    await sourcesRepository.insert(store.db, {
      id: 'src_rot',
      workspaceId: DEFAULT_WORKSPACE_ID,
      name: 'Rotating',
      writeKeyHash: hashSecret('wk_old'),
      writeKeyPrefix: 'wk_old',
      writeKeySealed: 'sealed-old',
      settings: {},
    })
    const replaced = await store.db.transaction((tx) =>
      sourcesRepository.replaceWriteKey(
        tx,
        DEFAULT_WORKSPACE_ID,
        'src_rot',
        { hash: hashSecret('wk_new'), prefix: 'wk_new', sealed: 'sealed-new' },
        { id: 'rwk_1', at: t0, expiresAt: later(60) },
      ),
    )
    expect(replaced?.source.writeKeyPrefix).toBe('wk_new')
    expect(replaced?.source.writeKeyIssuedAt).toBe(t0.toISOString())
    expect(replaced?.retired).toMatchObject({ id: 'rwk_1', prefix: 'wk_old', sealed: 'sealed-old' })
    const find = (key: string, at: Date) =>
      sourcesRepository.findByWriteKeyHash(store.db, hashSecret(key), at)
    expect(await find('wk_new', later(3600))).toMatchObject({
      source: { id: 'src_rot' },
      expiresAt: null,
    })
    expect((await find('wk_old', later(59)))?.expiresAt?.toISOString()).toBe(
      later(60).toISOString(),
    )
    expect(await find('wk_old', later(60))).toBeUndefined()
    const keys = await sourcesRepository.listWriteKeys(
      store.db,
      DEFAULT_WORKSPACE_ID,
      'src_rot',
      later(1),
    )
    expect(keys?.map((k) => [k.id, k.prefix, k.expiresAt])).toEqual([
      [null, 'wk_new', null],
      ['rwk_1', 'wk_old', later(60).toISOString()],
    ])
    expect(
      await sourcesRepository.expireRetiredWriteKey(
        store.db,
        DEFAULT_WORKSPACE_ID,
        'src_rot',
        'rwk_1',
        later(2),
      ),
    ).toBe(true)
    expect(await find('wk_old', later(3))).toBeUndefined()
    expect(await sourcesRepository.delete(store.db, DEFAULT_WORKSPACE_ID, 'src_rot')).toBe(true)
    const left = await store.db.query(
      `SELECT count(*)::int AS n FROM source_retired_write_keys WHERE source_id = 'src_rot'`,
    )
    expect(left.rows[0]).toEqual({ n: 0 })
  })

  it('finds api keys by hash and never stores the secret', async () => {
    await apiKeysRepository.insert(store.db, {
      id: 'key_a',
      workspaceId: null,
      name: 'admin',
      keyHash: hashSecret('kdr_topsecret'),
      keyPrefix: 'kdr_top',
      scopes: ['admin'],
    })
    expect(
      (await apiKeysRepository.findByHash(store.db, hashSecret('kdr_topsecret')))?.scopes,
    ).toEqual(['admin'])
    const dump = await store.db.query('SELECT * FROM api_keys')
    expect(JSON.stringify(dump.rows)).not.toContain('kdr_topsecret')
  })

  it('group-commits concurrent appends and reads them back in order', async () => {
    const log = createPostgresEventLog(store.db)
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        log.append({
          workspaceId: 'default',
          sourceId: 'src_log',
          receivedAt: '2026-01-01T00:00:00Z',
          events: [ev(`m${i}`, i)],
        }),
      ),
    )
    const records = await readEventLog(store.db, 0, 10_000)
    const ids = records.flatMap((r) => r.events.map((e) => e.messageId))
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`))
    const seqs = records.map((r) => r.seq)
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs)
    // Reads are bounded by events, but always make progress.
    expect((await readEventLog(store.db, 0, 10)).length).toBe(10)
    await log.close()
    await expect(
      log.append({
        workspaceId: 'default',
        sourceId: 'src_log',
        receivedAt: '2026-01-01T00:00:00Z',
        events: [ev('late')],
      }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  it('processes the log into the event store once, advancing its cursor atomically', async () => {
    const log = createPostgresEventLog(store.db)
    await log.append({
      workspaceId: 'default',
      sourceId: 'src_p',
      receivedAt: '2026-01-01T00:00:00Z',
      events: [ev('dup'), ev('dup'), ev('x')],
    })
    await log.append({
      workspaceId: 'default',
      sourceId: 'src_p',
      receivedAt: '2026-01-01T00:00:00Z',
      events: [ev('dup')],
    })
    const processor = createProcessor({
      db: store.db,
      log,
      metrics: createMetrics(),
      maxBatchEvents: 7,
    })
    await processor.drain()
    const rows = await store.db.query<{
      message_id: string
      event: string
      properties: unknown
      payload: Record<string, unknown>
    }>(
      "SELECT message_id, event, properties, payload FROM events WHERE source_id = 'src_p' ORDER BY message_id",
    )
    expect(rows.rows.map((r) => r.message_id)).toEqual(['dup', 'x'])
    expect(rows.rows[0]?.event).toBe('Viewed')
    expect(rows.rows[0]?.payload.userId).toBe('u0')
    // Nothing left: a second drain applies nothing twice.
    expect(await processor.drain()).toBe(0)
    const count = await store.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE source_id = 'src_p'",
    )
    expect(count.rows[0]?.n).toBe(2)
    await log.close()
  })

  it('keeps events in monthly partitions created ahead, and historical months in the default one', async () => {
    const now = new Date('2026-03-15T00:00:00Z')
    const created = await ensureEventPartitions(store.db, now)
    expect(created).toEqual([
      'events_2026_02',
      'events_2026_03',
      'events_2026_04',
      'events_2026_05',
      'events_2026_06',
    ])
    expect(await ensureEventPartitions(store.db, now)).toEqual([])
    const insert = (id: string, ts: string) =>
      store.db.query(
        `INSERT INTO events (workspace_id, source_id, message_id, seq, type, "timestamp", received_at, payload)
         VALUES ('default', 'src_part', $1, 1, 'track', $2, now(), '{}')`,
        [id, ts],
      )
    await insert('in-march', '2026-03-20T10:00:00Z')
    await insert('old', '2019-01-01T00:00:00Z')
    const where = await store.db.query<{ message_id: string; part: string }>(
      "SELECT message_id, tableoid::regclass::text AS part FROM events WHERE source_id = 'src_part' ORDER BY message_id",
    )
    expect(where.rows).toEqual([
      { message_id: 'in-march', part: 'events_2026_03' },
      { message_id: 'old', part: 'events_default' },
    ])
    // A month that already has rows in the default partition is not attached (it would fail).
    expect(await ensureEventPartitions(store.db, new Date('2019-01-10T00:00:00Z'), 0, 0)).toEqual(
      [],
    )
  })
})
