/**
 * The syncs API end to end against the machine's real PostgreSQL: a connection (password sealed,
 * never answered), its test, a preview, a manual run through the server's own worker, rejected
 * rows downloadable with their reasons, a cursor model that reads only what changed, one run at a
 * time per model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'
import { createSourceDatabase, type SourceDatabase } from '../../testing/source-databases.js'
import { TEST_ADMIN_TOKEN } from '../../testing/test-server.js'
import { parseSyncArgs, runSyncCommand } from '../../cli/sync-command.js'

interface Run {
  id: string
  status: string
  rowsRead: number
  rowsSent: number
  rowsRejected: number
  rowsChanged: number
  error: string | null
  durationMs: number | null
}

describe('syncs API', () => {
  let k: TestKindred
  let src: SourceDatabase
  let connectionId = ''

  const json = async <T>(res: Response, status = 200): Promise<T> => {
    const text = await res.text()
    expect(res.status, text).toBe(status)
    return JSON.parse(text) as T
  }
  const waitForRun = async (runId: string): Promise<Run> => {
    for (let i = 0; i < 400; i++) {
      const run = await json<Run>(await k.admin(`/api/v1/syncs/runs/${runId}`))
      if (run.status === 'succeeded' || run.status === 'failed') {
        await k.kindred.processor?.drain()
        return run
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`run ${runId} did not finish`)
  }
  const model = (over: Record<string, unknown> = {}) => ({
    definition: {
      name: 'crm contacts',
      connectionId,
      source: { sql: 'SELECT id, email, plan, updated_at FROM contacts' },
      key: 'id',
      identifiers: { email: 'email' },
      columns: { plan: 'traits.plan' },
      ...over,
    },
  })

  beforeAll(async () => {
    src = await createSourceDatabase('postgres')
    await src.exec(`CREATE TABLE contacts (id integer PRIMARY KEY, email text, plan text,
      updated_at timestamptz NOT NULL DEFAULT now(), photo bytea)`)
    await src.exec(`INSERT INTO contacts (id, email, plan, updated_at) VALUES
      (1, 'ann@example.com', 'pro', now() - interval '4 min'),
      (2, 'ben@example.com', 'basic', now() - interval '3 min'),
      (3, NULL, 'pro', now() - interval '2 min'), (4, 'not an email', 'pro', now() - interval '1 min')`)
    k = await startTestKindred()
  })
  afterAll(async () => {
    await k?.close()
    await src?.drop()
  })

  it('creates a connection whose password is sealed and never answered, and tests it', async () => {
    const created = await json<{ id: string; password: string | null }>(
      await k.admin('/api/v1/syncs/connections', {
        body: {
          name: 'crm',
          kind: 'postgres',
          host: src.host,
          port: src.port,
          database: src.database,
          user: src.user,
          password: 'hunter2-not-needed-by-trust',
        },
      }),
      201,
    )
    connectionId = created.id
    expect(created.password).toBe('********')
    const listed = await k.admin('/api/v1/syncs/connections')
    expect(await listed.text()).not.toContain('hunter2')
    const stored = await k.kindred.store.db.query<{ password_sealed: string }>(
      'SELECT password_sealed FROM sync_connections WHERE id = $1',
      [connectionId],
    )
    expect(stored.rows[0]?.password_sealed).toMatch(/^enc:v1:/)
    const test = await json<{ ok: boolean }>(
      await k.admin(`/api/v1/syncs/connections/${connectionId}/test`, { method: 'POST' }),
    )
    expect(test.ok).toBe(true)
  })

  it('refuses a model without an identifier and a bad cron, naming the field', async () => {
    const noId = await k.admin('/api/v1/syncs/models', { body: model({ identifiers: {} }) })
    expect(noId.status).toBe(400)
    expect(await noId.text()).toMatch(/identifier/)
    const badCron = await k.admin('/api/v1/syncs/models', {
      body: { ...model(), schedule: { cron: '61 * * * *' } },
    })
    expect(badCron.status).toBe(400)
    expect(await badCron.text()).toMatch(/minute/)
  })

  it('previews the first rows with what each becomes', async () => {
    const preview = await json<{
      data: Array<{ row: { id: number }; result: { event?: { traits: unknown } } }>
    }>(await k.admin('/api/v1/syncs/preview', { body: { ...model(), limit: 2 } }))
    expect(preview.data.map((p) => p.row.id)).toEqual([1, 2])
    expect(preview.data[0]?.result.event?.traits).toEqual({ email: 'ann@example.com', plan: 'pro' })
  })

  it('runs a model: rows without a usable identifier are rejected with reasons, the rest are profiles', async () => {
    const m = await json<{ id: string; sourceId: string }>(
      await k.admin('/api/v1/syncs/models', { body: model() }),
      201,
    )
    const queued = await json<Run>(
      await k.admin(`/api/v1/syncs/models/${m.id}/runs`, { method: 'POST' }),
      202,
    )
    const run = await waitForRun(queued.id)
    expect(run).toMatchObject({ status: 'succeeded', rowsRead: 4, rowsSent: 2, rowsRejected: 2 })
    expect(run.durationMs).toBeGreaterThanOrEqual(0)
    const rejects = await k.admin(`/api/v1/syncs/runs/${run.id}/rejects`)
    expect(rejects.headers.get('content-type')).toMatch(/ndjson/)
    const lines = (await rejects.text())
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { key: string; errors: Array<{ code: string; message: string }> },
      )
    expect(lines.map((l) => l.key)).toEqual(['3', '4'])
    expect(lines.every((l) => l.errors[0]?.code === 'missing_identity')).toBe(true)
    expect(lines[1]?.errors[0]?.message).toMatch(/not an email/)
    const ann = await json<{ traits: Record<string, unknown> }>(
      await k.admin('/api/v1/profiles/lookup?type=email&value=ann%40example.com'),
    )
    expect(ann.traits.plan).toBe('pro')
    const sources = await json<{ data: Array<{ id: string; name: string }> }>(
      await k.admin('/api/v1/sources'),
    )
    expect(sources.data.find((s) => s.id === m.sourceId)?.name).toBe('sync: crm contacts')
  })

  it('a cursor model reads only rows at or after the last run’s highest cursor', async () => {
    const m = await json<{ id: string }>(
      await k.admin('/api/v1/syncs/models', {
        body: model({ name: 'by cursor', source: { table: 'contacts' }, cursor: 'updated_at' }),
      }),
      201,
    )
    const first = await waitForRun(
      (await json<Run>(await k.admin(`/api/v1/syncs/models/${m.id}/runs`, { method: 'POST' }), 202))
        .id,
    )
    // The bytea column is not mapped, so it is not read into any event.
    expect(first).toMatchObject({ status: 'succeeded', rowsRead: 4, rowsSent: 2 })
    await src.exec(`UPDATE contacts SET plan = 'enterprise', updated_at = now() + interval '1 hour'
      WHERE id = 2`)
    const second = await waitForRun(
      (await json<Run>(await k.admin(`/api/v1/syncs/models/${m.id}/runs`, { method: 'POST' }), 202))
        .id,
    )
    // Row 4 holds the watermark itself (>=: a row committed late with the same value is not
    // missed); it is read again, unchanged, and not sent.
    expect(second).toMatchObject({ status: 'succeeded', rowsRead: 2, rowsChanged: 1, rowsSent: 1 })
    const ben = await json<{ traits: Record<string, unknown> }>(
      await k.admin('/api/v1/profiles/lookup?type=email&value=ben%40example.com'),
    )
    expect(ben.traits.plan).toBe('enterprise')
  })

  it('fails a run whose query fails, with the server’s message, and refuses a second queued run', async () => {
    const m = await json<{ id: string }>(
      await k.admin('/api/v1/syncs/models', {
        body: model({ name: 'broken', source: { sql: 'SELECT * FROM no_such_table' } }),
      }),
      201,
    )
    const queued = await json<Run>(
      await k.admin(`/api/v1/syncs/models/${m.id}/runs`, { method: 'POST' }),
      202,
    )
    const again = await k.admin(`/api/v1/syncs/models/${m.id}/runs`, { method: 'POST' })
    // Unless the worker already finished the first one, a second run is refused while it is active.
    if (again.status !== 202) expect(again.status).toBe(409)
    const run = await waitForRun(queued.id)
    expect(run.status).toBe('failed')
    expect(run.error).toMatch(/no_such_table/)
  })

  it('refuses a mapped binary column per row as unmappable', async () => {
    const m = await json<{ id: string }>(
      await k.admin('/api/v1/syncs/models', {
        body: model({
          name: 'photos',
          source: { sql: `SELECT id, email, '\\x00ff'::bytea AS photo FROM contacts WHERE id = 1` },
          columns: { photo: 'traits.photo' },
        }),
      }),
      201,
    )
    const run = await waitForRun(
      (await json<Run>(await k.admin(`/api/v1/syncs/models/${m.id}/runs`, { method: 'POST' }), 202))
        .id,
    )
    expect(run).toMatchObject({ status: 'succeeded', rowsRead: 1, rowsRejected: 1, rowsSent: 0 })
    const rejects = await (await k.admin(`/api/v1/syncs/runs/${run.id}/rejects`)).text()
    expect(rejects).toMatch(/unmappable_type/)
  })

  it('kindred sync run queues a run through the API and follows it to its end', async () => {
    expect(parseSyncArgs(['run'], {}).ok).toBe(false)
    const parsed = parseSyncArgs(['run', 'smod_x', '--url', k.url], { KINDRED_ADMIN_TOKEN: 't' })
    expect(parsed).toMatchObject({
      ok: true,
      options: { modelId: 'smod_x', url: k.url, adminToken: 't' },
    })
    const m = await json<{ id: string }>(
      await k.admin('/api/v1/syncs/models', { body: model({ name: 'from the cli' }) }),
      201,
    )
    let out = ''
    const run = await runSyncCommand(
      {
        modelId: m.id,
        url: k.url,
        workspaceId: 'default',
        adminToken: TEST_ADMIN_TOKEN,
        pollMs: 50,
      },
      { stdout: { write: (s: string) => (out += s) } },
    )
    expect(run).toMatchObject({ status: 'succeeded', rowsRead: 4 })
    expect(out).toMatch(/succeeded: 4 read, \d+ changed, \d+ sent, 2 rejected/)
    await expect(
      runSyncCommand(
        { modelId: 'smod_nope', url: k.url, workspaceId: 'default', adminToken: TEST_ADMIN_TOKEN },
        { stdout: { write: () => true } },
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
