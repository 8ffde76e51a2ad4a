import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { openStore } from '../src/platform/store/open-store.js'
import { createProcessor } from '../src/platform/pipeline/processor.js'
import { createMetrics } from '../src/platform/metrics/metrics.js'
import { openFileEventLog } from '../src/platform/stream/file-event-log.js'
import { spawnKindred, waitHealthy, type KindredProcess } from './support/server.js'

const token = 'crash-test-admin-token-0123456789'
const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-crash-'))
const children: ChildProcess[] = []

afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

function startServer(port: number): KindredProcess {
  const p = spawnKindred({ port, token, dataDir })
  children.push(p.child)
  return p
}

it('loses no acknowledged event when the server is killed with SIGKILL mid-ingest', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const url = `http://127.0.0.1:${port}`
  const first = startServer(port)
  await waitHealthy(url, first)
  const created = await fetch(`${url}/api/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({
      name: 'crash',
      settings: { rateLimit: { eventsPerSecond: 1_000_000, burst: 1_000_000 } },
    }),
  })
  const { writeKey } = (await created.json()) as { writeKey: string }
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`

  const acked: string[] = []
  let sent = 0
  let killed = false
  // Several concurrent senders of 20-event batches; the kill lands while requests are in flight.
  const sender = async (w: number) => {
    for (let b = 0; !killed && b < 10_000; b++) {
      const ids = Array.from({ length: 20 }, (_, i) => `w${w}-b${b}-e${i}`)
      sent += ids.length
      try {
        const res = await fetch(`${url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: auth },
          body: JSON.stringify({
            batch: ids.map((messageId) => ({
              type: 'track',
              userId: `u${w}`,
              event: 'Crash Test',
              messageId,
            })),
          }),
        })
        if (res.status === 200) acked.push(...ids)
      } catch {
        // connection reset by the kill: not acknowledged, so not promised
      }
    }
  }
  const senders = Array.from({ length: 6 }, (_, w) => sender(w))
  while (acked.length < 2_000) await new Promise((r) => setTimeout(r, 20))
  first.child.kill('SIGKILL')
  killed = true
  await Promise.all(senders)
  expect(acked.length).toBeGreaterThanOrEqual(2_000)
  expect(sent).toBeGreaterThan(acked.length - 1)
  // The dead server left its lock and PGlite's postmaster.pid behind.
  expect(existsSync(path.join(dataDir, 'kindred.lock'))).toBe(true)

  // A restart on the same data dir recovers by itself (stale lock and pid file removed).
  const second = startServer(port)
  await waitHealthy(url, second)
  const ok = await fetch(`${url}/v1/track`, {
    method: 'POST',
    headers: { authorization: auth },
    body: JSON.stringify({ userId: 'u', event: 'after', messageId: 'after-restart' }),
  })
  expect(ok.status).toBe(200)
  second.child.kill('SIGTERM')
  await new Promise<void>((resolve) => second.child.on('exit', () => resolve()))
  expect(second.child.exitCode).toBe(0)
  expect(existsSync(path.join(dataDir, 'kindred.lock'))).toBe(false)

  // Every acknowledged event is in the store exactly once.
  const store = await openStore({ dataDir })
  try {
    const log = await openFileEventLog(path.join(dataDir, 'event-log'))
    await createProcessor({ db: store.db, log, metrics: createMetrics() }).drain()
    await log.close()
    const res = await store.db.query<{ message_id: string; n: number }>(
      'SELECT message_id, count(*)::int AS n FROM events GROUP BY message_id',
    )
    const counts = new Map(res.rows.map((r) => [r.message_id, r.n]))
    const missing = acked.filter((id) => !counts.has(id))
    expect(missing).toEqual([])
    expect(res.rows.filter((r) => r.n !== 1)).toEqual([])
    expect(counts.get('after-restart')).toBe(1)
  } finally {
    await store.close()
  }
}, 300_000)
