/**
 * The lake survives SIGKILL: `kindred start` (lake on, flushing every second) is killed twice
 * while events stream in and the writer is busy, restarted each time; afterwards the lake holds
 * every stored event exactly once, and no data file on disk is outside the log.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, expect, it } from 'vitest'
import { openStore } from '../src/platform/store/open-store.js'
import { createProcessor } from '../src/platform/pipeline/processor.js'
import { createMetrics } from '../src/platform/metrics/metrics.js'
import { openFileEventLog } from '../src/platform/stream/file-event-log.js'
import { createLakeWriter } from '../src/platform/lake/lake-writer.js'
import { liveFiles, readParquetSql } from '../src/platform/lake/lake-reader.js'
import { openDuck } from '../src/platform/lake/parquet-files.js'
import { spawnKindred, waitHealthy, type KindredProcess } from './support/server.js'

const token = 'lake-crash-admin-token-0123456789'
const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-lake-kill-'))
const lake = path.join(dataDir, 'lake')
const children: ChildProcess[] = []

afterAll(() => {
  for (const c of children) c.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

function startServer(port: number): KindredProcess {
  const p = spawnKindred({ port, token, dataDir, env: { KINDRED_LAKE_FLUSH_SECONDS: '1' } })
  children.push(p.child)
  return p
}

/** Commits of the events table so far (the writer has been at work when this rises). */
const commits = () => {
  try {
    return readdirSync(path.join(lake, 'events', '_delta_log')).filter((n) => n.endsWith('.json'))
      .length
  } catch {
    return 0
  }
}

function dataFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name.startsWith('_')) continue
    const p = path.join(dir, name)
    if (statSync(p).isDirectory()) out.push(...dataFiles(p))
    else if (name.endsWith('.parquet')) out.push(p)
  }
  return out
}

it('holds every stored event exactly once after the server is killed twice mid-write', async () => {
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const url = `http://127.0.0.1:${port}`
  let server = startServer(port)
  await waitHealthy(url, server)
  const created = await fetch(`${url}/api/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({
      name: 'lake-crash',
      settings: { rateLimit: { eventsPerSecond: 1_000_000, burst: 1_000_000 } },
    }),
  })
  const { writeKey } = (await created.json()) as { writeKey: string }
  const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
  let batchNo = 0
  let stopped = false
  const sender = async () => {
    while (!stopped) {
      const b = batchNo++
      try {
        await fetch(`${url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: auth },
          body: JSON.stringify({
            batch: Array.from({ length: 50 }, (_, i) => ({
              type: 'track',
              userId: `u${(b * 50 + i) % 40}`,
              event: 'Lake Crash',
              messageId: `lk-${b}-${i}`,
              properties: { revenue: 1.5, b, i },
            })),
          }),
        })
      } catch {
        await new Promise((r) => setTimeout(r, 50))
      }
    }
  }
  for (let kill = 0; kill < 2; kill++) {
    const senders = [sender(), sender()]
    // Let the writer commit a few times, then kill it at an arbitrary moment of its work.
    const before = commits()
    while (commits() < before + 2) await new Promise((r) => setTimeout(r, 50))
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 700))
    server.child.kill('SIGKILL')
    stopped = true
    await Promise.all(senders)
    // Killed by a signal, a process has no exit code: its signalCode says it is gone.
    await new Promise<void>((resolve) =>
      server.child.exitCode !== null || server.child.signalCode !== null
        ? resolve()
        : server.child.on('exit', () => resolve()),
    )
    stopped = false
    server = startServer(port)
    await waitHealthy(url, server)
  }
  server.child.kill('SIGTERM')
  await new Promise<void>((resolve) => server.child.on('exit', () => resolve()))
  expect(server.child.exitCode).toBe(0)

  // Apply what the log still holds and write what the store still has for the lake.
  const store = await openStore({ dataDir })
  try {
    const log = await openFileEventLog(path.join(dataDir, 'event-log'))
    await createProcessor({ db: store.db, log, metrics: createMetrics() }).drain()
    await log.close()
    const writer = createLakeWriter({ db: store.db, dir: lake, logger: pino({ level: 'silent' }) })
    await writer.flush()
    await writer.stop()
    const stored = (
      await store.db.query<{ message_id: string }>('SELECT message_id FROM events')
    ).rows.map((r) => r.message_id)
    expect(stored.length).toBeGreaterThan(0)
    const duck = await openDuck()
    try {
      const files = await liveFiles(duck, lake, 'events')
      const rows = await duck.all(
        `SELECT message_id, count(*)::INTEGER AS n FROM ${readParquetSql('events', files)} GROUP BY 1`,
      )
      expect(rows.filter((r) => r.n !== 1)).toEqual([])
      expect(rows.map((r) => String(r.message_id)).sort()).toEqual(stored.sort())
      // Orphans of the killed writers were removed at restart: only live files remain.
      expect(dataFiles(path.join(lake, 'events')).sort()).toEqual([...files].sort())
    } finally {
      duck.close()
    }
  } finally {
    await store.close()
  }
}, 300_000)
