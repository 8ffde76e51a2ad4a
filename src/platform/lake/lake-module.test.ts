/**
 * The lake module in a running Kindred: falling behind is a metric and a `/healthz` warning (a
 * 200, the node serves), caught up clears it; `KINDRED_LAKE=off` stops capturing changes but a
 * lake that has tables still honours privacy deletions.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'
import { createPrivacyModule } from '../../govern/privacy-module.js'
import { createGovernDeliveries } from '../../activate/index.js'
import { createLakeModule } from './lake-module.js'
import type { LakeWriter } from './lake-writer.js'

const until = async (check: () => Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 25))
  }
}

const metric = (text: string, name: string) =>
  Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN)

describe('the lake module', () => {
  const dirs: string[] = []
  const servers: TestKindred[] = []
  const tmp = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'kindred-lake-mod-'))
    dirs.push(d)
    return d
  }
  afterAll(async () => {
    for (const k of servers) await k.close().catch(() => undefined)
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('reports falling behind as kindred_lake_lag_seconds and a health warning, never a 503', async () => {
    let writer!: LakeWriter
    const k = await startTestKindred({
      modules: [
        createLakeModule({
          dir: tmp(),
          flushMs: 3_600_000,
          writer: { pollMs: 20, lagWarningMs: 1 },
          onWriter: (w) => (writer = w),
        }),
      ],
    })
    servers.push(k)
    const { writeKey } = await k.createSource()
    expect((await k.track(writeKey, '/v1/track', { userId: 'u1', event: 'Behind' })).status).toBe(
      200,
    )
    await k.kindred.processor?.drain()
    await until(async () => writer.health().warning !== undefined)
    const health = await fetch(`${k.url}/healthz`)
    expect(health.status).toBe(200)
    const body = (await health.json()) as { status: string; warnings?: string[] }
    expect(body.status).toBe('ok')
    expect(body.warnings?.[0]).toMatch(/^lake: the lake is \d+ s behind the store/)
    const metrics = await (await fetch(`${k.url}/metrics`)).text()
    expect(metric(metrics, 'kindred_lake_lag_seconds')).toBeGreaterThan(0)
    expect(metric(metrics, 'kindred_lake_pending_changes')).toBeGreaterThan(0)

    await writer.flush()
    expect(writer.health().warning).toBeUndefined()
    const after = (await (await fetch(`${k.url}/healthz`)).json()) as { warnings?: string[] }
    expect(after.warnings).toBeUndefined()
    const m = await (await fetch(`${k.url}/metrics`)).text()
    expect(metric(m, 'kindred_lake_lag_seconds')).toBe(0)
    expect(m).toMatch(/^kindred_lake_rows_written_total\{table="events"\} 1$/m)
  })

  it('turned off, captures nothing more but still erases a deleted person from existing tables', async () => {
    const dataDir = tmp()
    const modules = (enabled: boolean, onWriter?: (w: LakeWriter) => void) => [
      createPrivacyModule({ pollIntervalMs: 50, deliveries: createGovernDeliveries() }),
      createLakeModule({ enabled, writer: { pollMs: 50 }, ...(onWriter ? { onWriter } : {}) }),
    ]
    let writer!: LakeWriter
    const on = await startTestKindred({ dataDir, modules: modules(true, (w) => (writer = w)) })
    const { writeKey } = await on.createSource()
    await on.track(writeKey, '/v1/identify', { userId: 'leaving', traits: { email: 'l@x.org' } })
    await on.track(writeKey, '/v1/identify', { userId: 'staying' })
    await on.kindred.processor?.drain()
    await writer.flush()
    await on.close()

    const off = await startTestKindred({ dataDir, modules: modules(false) })
    servers.push(off)
    const db = off.kindred.store.db
    await off.track(writeKey, '/v1/track', { userId: 'staying', event: 'Not captured' })
    await off.kindred.processor?.drain()
    expect((await db.query('SELECT 1 FROM lake_changes')).rows).toEqual([])
    const res = await off.admin('/api/v1/privacy/requests', {
      body: { type: 'deletion', identifier: { type: 'userId', value: 'leaving' } },
    })
    const { id } = (await res.json()) as { id: string }
    let done: { status: string; steps: { step: string; status: string }[] } = {
      status: '',
      steps: [],
    }
    await until(async () => {
      done = (await (await off.admin(`/api/v1/privacy/requests/${id}`)).json()) as typeof done
      return done.status === 'completed' || done.status === 'failed'
    }, 30_000)
    expect(done.status).toBe('completed')
    expect(done.steps.find((s) => s.step === 'lake')?.status).toBe('completed')
  }, 180_000)

  it('a store that never had a lake does not start one when it is off, and deletions skip it', async () => {
    const k = await startTestKindred({
      dataDir: tmp(),
      modules: [
        createPrivacyModule({ pollIntervalMs: 50, deliveries: createGovernDeliveries() }),
        createLakeModule({ enabled: false }),
      ],
    })
    servers.push(k)
    expect((await k.kindred.store.db.query('SELECT 1 FROM lake_state')).rows).toEqual([])
  })
})
