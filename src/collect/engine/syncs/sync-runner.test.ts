/**
 * Database syncs against the machine's real PostgreSQL and MariaDB: inserts, updates and deletes
 * between runs reach exactly the state a reference diff computes, in every sync mode, and a row
 * and a live web event with the same email are one profile whose synced traits name the model's
 * source. Each test creates its own source database and drops it after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseOutboundAllow, strictOutboundPolicy } from '../../../protocol/outbound-policy.js'
import {
  startTestKindred,
  TEST_OUTBOUND_ALLOW,
  type TestKindred,
} from '../../../testing/test-server.js'
import {
  createSourceDatabase,
  type SourceDatabase,
  type SourceDialect,
} from '../../../testing/source-databases.js'
import { syncModelSchema, type SyncMode } from '../../core/sync-model.js'
import { syncRunQueue, syncsRepository as repo, type RunRecord } from './syncs-repository.js'
import { queueRun, workPass } from './sync-worker.js'
import { runSync, type SyncRunDeps } from './sync-runner.js'
import { openSource, testSourceConnection } from './source-readers.js'

interface SourceRow {
  id: number
  email: string | null
  plan: string
  score: string
}

const tableSql: Record<SourceDialect, string> = {
  postgres: `CREATE TABLE customers (id integer PRIMARY KEY, email text, plan text,
    score numeric(12,4), updated_at timestamptz NOT NULL DEFAULT now(), meta jsonb)`,
  mysql: `CREATE TABLE customers (id int PRIMARY KEY, email varchar(200), plan varchar(50),
    score decimal(12,4), updated_at datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), meta json)`,
}

/** The reference: what Kindred must hold after each run, computed from the rows alone. */
class ReferenceDiff {
  snapshot = new Map<number, string>()
  sentBefore = new Map<number, string>()
  traits = new Map<string, { plan?: string; score?: string }>()
  constructor(
    readonly mode: SyncMode,
    readonly profiles: Set<string>,
  ) {}

  run(rows: SourceRow[]): number {
    let sent = 0
    const now = new Map(rows.map((r) => [r.id, r]))
    for (const r of rows) {
      const json = JSON.stringify(r)
      if (this.snapshot.get(r.id) === json) continue
      const email = r.email as string
      const isNew = !this.sentBefore.has(r.id)
      const send =
        this.mode === 'upsert' || this.mode === 'mirror'
          ? true
          : this.mode === 'insert_only'
            ? isNew
            : !isNew || this.profiles.has(email)
      if (!send) continue
      this.traits.set(email, { ...this.traits.get(email), plan: r.plan, score: r.score })
      this.profiles.add(email)
      this.sentBefore.set(r.id, email)
      sent++
    }
    for (const id of this.snapshot.keys()) {
      if (now.has(id)) continue
      const email = this.sentBefore.get(id)
      if (this.mode === 'mirror' && email !== undefined) {
        this.traits.set(email, {})
        sent++
      }
      this.sentBefore.delete(id)
    }
    this.snapshot = new Map(rows.map((r) => [r.id, JSON.stringify(r)]))
    return sent
  }
}

interface Profile {
  id: string
  traits: Record<string, unknown>
  identities: { type: string; value: string }[]
}

const dialects: SourceDialect[] = ['postgres', 'mysql']
const modes: SyncMode[] = ['upsert', 'update_only', 'insert_only', 'mirror']

describe.each(dialects)('syncs from %s', (dialect) => {
  describe.each(modes)('mode %s', (mode) => {
    let k: TestKindred
    let src: SourceDatabase
    let deps: SyncRunDeps
    let sourceId: string
    const modelId = `smod_${dialect}_${mode}`
    const rows = new Map<number, SourceRow>()

    const write = async (r: SourceRow) => {
      rows.set(r.id, r)
      const upsert =
        dialect === 'postgres'
          ? `INSERT INTO customers (id, email, plan, score, meta) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET email = $2, plan = $3, score = $4, meta = $5,
             updated_at = now()`
          : `INSERT INTO customers (id, email, plan, score, meta) VALUES (?, ?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE email = VALUES(email), plan = VALUES(plan),
             score = VALUES(score), meta = VALUES(meta), updated_at = CURRENT_TIMESTAMP(3)`
      await src.exec(upsert, [r.id, r.email, r.plan, r.score, JSON.stringify({ tier: r.plan })])
    }
    const remove = async (id: number) => {
      rows.delete(id)
      await src.exec(`DELETE FROM customers WHERE id = ${id}`)
    }
    const runOnce = async () => {
      const run = await queueRun(deps, 'default', modelId, 'manual')
      expect(run).toBeDefined()
      while (await workPass(deps)) {
        /* until the queue is empty */
      }
      await k.kindred.processor?.drain()
      return repo.getRun(deps.db, 'default', run?.id as string)
    }
    const profileOf = async (email: string): Promise<Profile | undefined> => {
      const res = await k.admin(
        `/api/v1/profiles/lookup?type=email&value=${encodeURIComponent(email)}`,
      )
      if (res.status === 404) return undefined
      expect(res.status).toBe(200)
      return (await res.json()) as Profile
    }

    beforeAll(async () => {
      src = await createSourceDatabase(dialect)
      await src.exec(tableSql[dialect])
      k = await startTestKindred()
      const db = k.kindred.store.db
      deps = {
        db,
        eventLog: k.kindred.eventLog,
        clock: () => new Date(),
        outbound: parseOutboundAllow(TEST_OUTBOUND_ALLOW),
        openSecret: () => undefined,
        batchSize: 2,
      }
      sourceId = (await k.createSource(`sync: customers (${mode})`)).id
      const web = await k.createSource('web')
      // A visitor the website knows before any sync: update-only may update only people like her.
      const res = await k.track(web.writeKey, '/v1/identify', {
        userId: 'web-alice',
        traits: { email: 'alice@example.com', browser: 'firefox' },
      })
      expect(res.status).toBe(200)
      await k.kindred.processor?.drain()
      await repo.insertConnection(
        db,
        {
          workspaceId: 'default',
          id: `scon_${dialect}`,
          name: dialect,
          kind: dialect,
          settings: {
            kind: dialect,
            host: src.host,
            port: src.port,
            database: src.database,
            user: src.user,
            ssl: false,
            queryTimeoutMs: 30_000,
          },
          passwordSealed: null,
        },
        new Date(),
      )
      await repo.insertModel(
        db,
        {
          workspaceId: 'default',
          id: modelId,
          connectionId: `scon_${dialect}`,
          sourceId,
          name: 'customers',
          definition: syncModelSchema.parse({
            name: 'customers',
            connectionId: `scon_${dialect}`,
            source: { table: 'customers' },
            key: 'id',
            mode,
            identifiers: { email: 'email' },
            columns: {
              plan: 'traits.plan',
              score: 'traits.score',
              updated_at: 'traits.crm_updated_at',
              meta: { to: 'traits.meta', type: 'json' },
            },
          }),
          schedule: null,
          nextRunAt: null,
        },
        new Date(),
      )
    })
    afterAll(async () => {
      await k?.close()
      await src?.drop()
    })

    it('reaches the reference state after inserts, a no-change run, updates, deletes and a change back', async () => {
      const reference = new ReferenceDiff(mode, new Set(['alice@example.com']))
      const emails = ['alice', 'bob', 'carol', 'dave', 'erin'].map((n) => `${n}@example.com`)
      const check = async (label: string, sent: number | undefined) => {
        const expectedSent = reference.run([...rows.values()])
        expect(sent, `${label}: rows sent`).toBe(expectedSent)
        for (const email of emails) {
          const p = await profileOf(email)
          const want = reference.traits.get(email)
          expect({ plan: p?.traits.plan, score: p?.traits.score }, `${label}: ${email}`).toEqual({
            plan: want?.plan,
            score: want?.score,
          })
        }
      }

      await write({ id: 1, email: 'alice@example.com', plan: 'pro', score: '12.5000' })
      await write({ id: 2, email: 'bob@example.com', plan: 'basic', score: '3.0000' })
      await write({ id: 3, email: 'carol@example.com', plan: 'pro', score: '99999999.1234' })
      await write({ id: 4, email: 'dave@example.com', plan: 'basic', score: '0.0001' })
      const first = await runOnce()
      expect(first?.status).toBe('succeeded')
      expect(first?.rowsRead).toBe(4)
      await check('first run', first?.rowsSent)

      const idle = await runOnce()
      expect(idle?.rowsChanged).toBe(0)
      await check('no change', idle?.rowsSent)

      await write({ id: 2, email: 'bob@example.com', plan: 'pro', score: '3.0000' })
      await remove(3)
      await write({ id: 5, email: 'erin@example.com', plan: 'basic', score: '1.5000' })
      await write({ id: 1, email: 'alice@example.com', plan: 'pro', score: '13.0000' })
      const third = await runOnce()
      await check('after changes', third?.rowsSent)
      expect(third?.rowsDeleted).toBe(1)

      await write({ id: 2, email: 'bob@example.com', plan: 'basic', score: '3.0000' })
      const fourth = await runOnce()
      await check('changed back', fourth?.rowsSent)
    })

    it('keeps types exact and makes the row and the web visitor one profile, named by the model', async () => {
      const alice = await profileOf('alice@example.com')
      if (mode === 'insert_only') expect(alice?.traits.score).toBe('12.5000')
      else expect(alice?.traits.score).toBe('13.0000')
      expect(alice?.traits.browser).toBe('firefox')
      expect(alice?.traits.meta).toEqual({ tier: 'pro' })
      expect(String(alice?.traits.crm_updated_at)).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
      )
      expect(alice?.identities).toEqual(
        expect.arrayContaining([
          { type: 'user_id', value: 'web-alice' },
          { type: 'email', value: 'alice@example.com' },
        ]),
      )
      const res = await k.admin(`/api/v1/profiles/${alice?.id}/traits`)
      const traits = (await res.json()) as {
        data: Array<{ key: string; provenance: { sourceId: string } }>
      }
      const plan = traits.data.find((t) => t.key === 'plan')
      expect(plan?.provenance.sourceId).toBe(sourceId)
      expect(traits.data.find((t) => t.key === 'browser')?.provenance.sourceId).not.toBe(sourceId)
    })
  })
})

describe.each(dialects)('bad input from %s', (dialect) => {
  let src: SourceDatabase
  beforeAll(async () => {
    src = await createSourceDatabase(dialect)
  })
  afterAll(async () => {
    await src?.drop()
  })
  const base = () => ({
    kind: dialect,
    host: src.host,
    port: src.port,
    database: src.database,
    user: src.user,
    ssl: false,
    queryTimeoutMs: 30_000,
  })

  it('tests a connection: ok, wrong credentials with the server’s message, unreachable, refused address', async () => {
    const allow = parseOutboundAllow(TEST_OUTBOUND_ALLOW)
    expect(await testSourceConnection(base(), allow)).toMatchObject({ ok: true })
    const wrong = await testSourceConnection({ ...base(), user: 'kindred_nobody' }, allow)
    expect(wrong).toMatchObject({ ok: false, transient: false })
    expect(wrong.ok ? '' : wrong.message).toMatch(/kindred_nobody/)
    const down = await testSourceConnection({ ...base(), port: 1 }, allow)
    expect(down).toMatchObject({ ok: false, code: 'SOURCE_UNREACHABLE', transient: true })
    const refused = await testSourceConnection(base(), strictOutboundPolicy)
    expect(refused).toMatchObject({ ok: false, code: 'OUTBOUND_ADDRESS_REFUSED' })
  })

  it('stops a query over its time limit as a timeout, which a retry may get past', async () => {
    const reader = await openSource(
      { ...base(), queryTimeoutMs: 200 },
      parseOutboundAllow(TEST_OUTBOUND_ALLOW),
    )
    try {
      const sleep = dialect === 'postgres' ? 'SELECT pg_sleep(3) AS s' : 'SELECT SLEEP(3) AS s'
      const read = async () => {
        for await (const rows of reader.batches({ text: sleep, params: [] }, 10)) void rows
      }
      await expect(read()).rejects.toMatchObject({ code: 'SOURCE_TIMEOUT', transient: true })
    } finally {
      await reader.close()
    }
  })
})

describe.each(dialects)('a run from %s that dies mid-way', (dialect) => {
  let k: TestKindred
  let src: SourceDatabase
  let deps: SyncRunDeps
  let sourceId: string
  const modelId = `smod_crash_${dialect}`

  beforeAll(async () => {
    src = await createSourceDatabase(dialect)
    await src.exec(tableSql[dialect])
    for (let id = 1; id <= 10; id++) {
      await src.exec(
        dialect === 'postgres'
          ? 'INSERT INTO customers (id, email, plan, score) VALUES ($1, $2, $3, $4)'
          : 'INSERT INTO customers (id, email, plan, score) VALUES (?, ?, ?, ?)',
        [id, `c${id}@example.com`, id % 2 === 0 ? 'pro' : 'basic', `${id}.5000`],
      )
    }
    k = await startTestKindred()
    deps = {
      db: k.kindred.store.db,
      eventLog: k.kindred.eventLog,
      clock: () => new Date(),
      outbound: parseOutboundAllow(TEST_OUTBOUND_ALLOW),
      openSecret: () => undefined,
      batchSize: 3,
      leaseMs: 60_000,
    }
    sourceId = (await k.createSource('sync: crash')).id
    await repo.insertConnection(
      deps.db,
      {
        workspaceId: 'default',
        id: `scon_crash_${dialect}`,
        name: dialect,
        kind: dialect,
        settings: {
          kind: dialect,
          host: src.host,
          port: src.port,
          database: src.database,
          user: src.user,
          ssl: false,
          queryTimeoutMs: 30_000,
        },
        passwordSealed: null,
      },
      new Date(),
    )
    await repo.insertModel(
      deps.db,
      {
        workspaceId: 'default',
        id: modelId,
        connectionId: `scon_crash_${dialect}`,
        sourceId,
        name: 'crash',
        definition: syncModelSchema.parse({
          name: 'crash',
          connectionId: `scon_crash_${dialect}`,
          source: { table: 'customers' },
          key: 'id',
          mode: 'mirror',
          identifiers: { email: 'email' },
          columns: { plan: 'traits.plan', score: 'traits.score' },
        }),
        schedule: null,
        nextRunAt: null,
      },
      new Date(),
    )
  })
  afterAll(async () => {
    await k?.close()
    await src?.drop()
  })

  it('resumes after its checkpoint once the lease runs out: every row applied once, same end state', async () => {
    const queued = await queueRun(deps, 'default', modelId, 'manual')
    // Dies with the third batch appended to the event log but its snapshot not committed.
    let batches = 0
    const dying: SyncRunDeps = {
      ...deps,
      beforeCommit: () => {
        if (++batches === 3) throw new Error('kill -9')
      },
    }
    const [claimed] = await syncRunQueue.claim(deps.db, { now: Date.now(), leaseMs: 60_000 })
    expect(claimed?.id).toBe(queued?.id)
    await expect(runSync(dying, claimed as RunRecord)).rejects.toThrow('kill -9')
    const stopped = await repo.getRun(deps.db, 'default', queued?.id as string)
    expect(stopped).toMatchObject({ status: 'running', checkpointKey: '6', rowsSent: 6 })
    // Nothing claims it while the dead worker's lease holds…
    expect(await workPass(deps)).toBe(false)
    // …and once it has run out, the next worker resumes after the checkpoint.
    const later: SyncRunDeps = { ...deps, clock: () => new Date(Date.now() + 120_000) }
    expect(await workPass(later)).toBe(true)
    const done = await repo.getRun(deps.db, 'default', queued?.id as string)
    expect(done).toMatchObject({ status: 'succeeded', rowsRead: 10, rowsSent: 10, attempts: 2 })
    await k.kindred.processor?.drain()
    const stored = await deps.db.query<{ n: number; distinct_ids: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct_ids FROM events
       WHERE workspace_id = 'default' AND source_id = $1`,
      [sourceId],
    )
    // Batch three was appended twice (before the kill, and by the resumed run): stored once.
    expect(stored.rows[0]).toEqual({ n: 10, distinct_ids: 10 })
    for (let id = 1; id <= 10; id++) {
      const res = await k.admin(`/api/v1/profiles/lookup?type=email&value=c${id}%40example.com`)
      const p = (await res.json()) as Profile
      expect(p.traits).toMatchObject({ plan: id % 2 === 0 ? 'pro' : 'basic', score: `${id}.5000` })
    }
    // The next run finds nothing to do.
    const again = await queueRun(deps, 'default', modelId, 'manual')
    expect(await workPass(deps)).toBe(true)
    expect(await repo.getRun(deps.db, 'default', again?.id as string)).toMatchObject({
      status: 'succeeded',
      rowsRead: 10,
      rowsChanged: 0,
      rowsSent: 0,
    })
  })
})
