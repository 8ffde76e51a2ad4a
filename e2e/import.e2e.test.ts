/**
 * `kindred import` killed with SIGKILL mid-file, then run again: it resumes from its checkpoint,
 * and every row ends up in the store exactly once (accepted rows as events, bad rows in the
 * rejects file), and a third run changes nothing.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { openStore } from '../src/platform/store/open-store.js'
import { bootstrap } from '../src/app/bootstrap.js'
import { sourcesRepository } from '../src/platform/store/repositories/sources-repository.js'
import { createProcessor } from '../src/platform/pipeline/processor.js'
import { createMetrics } from '../src/platform/metrics/metrics.js'
import { openFileEventLog } from '../src/platform/stream/file-event-log.js'

const root = path.resolve(import.meta.dirname, '..')
const dir = mkdtempSync(path.join(tmpdir(), 'kindred-import-e2e-'))
const dataDir = path.join(dir, 'data')
const file = path.join(dir, 'orders.csv')
const ROWS = 12_000

afterAll(() => rmSync(dir, { recursive: true, force: true }))

function runCli(args: string[]) {
  const child = spawn(process.execPath, [path.join(root, 'bin/kindred.js'), 'import', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, exited, output: () => out }
}

function logBytes(): number {
  try {
    const logDir = path.join(dataDir, 'event-log')
    return readdirSync(logDir).reduce((n, f) => n + statSync(path.join(logDir, f)).size, 0)
  } catch {
    return 0
  }
}

it('resumes after SIGKILL with every row exactly once, and a re-run changes nothing', async () => {
  const store0 = await openStore({ dataDir })
  await bootstrap(store0.db, 'import-e2e-admin-token-0123456789')
  await sourcesRepository.insert(store0.db, {
    id: 'src_importe2e',
    workspaceId: 'default',
    name: 'orders',
    writeKeyHash: 'x'.repeat(64),
    writeKeyPrefix: 'wk_x',
    settings: {},
  })
  await store0.close()

  const lines = ['order_id,customer,amount,placed_at,note']
  const bad = new Set<number>()
  for (let i = 1; i <= ROWS; i++) {
    const isBad = i % 997 === 0
    if (isBad) bad.add(i)
    lines.push(
      `o${i},c${i % 3000},${isBad ? 'n/a' : (i % 500) + 0.5},2025-0${(i % 9) + 1}-1${i % 10}T10:00:00Z,${'z'.repeat(60)}`,
    )
  }
  writeFileSync(file, lines.join('\n'))
  const args = [
    '--source',
    'src_importe2e',
    '--kind',
    'events',
    '--data-dir',
    dataDir,
    '--event',
    'Order Completed',
    '--map',
    'customer=userId',
    '--map',
    'amount=properties.amount:number',
    '--map',
    'placed_at=timestamp:date',
    '--map',
    'note=ignore',
    '--batch-size',
    '50',
    file,
  ]

  // First run: killed once about a fifth of the events are in the log.
  const first = runCli(args)
  const expectedLogBytes = ROWS * 450
  while (logBytes() < expectedLogBytes / 5) {
    if (first.child.exitCode !== null)
      throw new Error(`finished before the kill: ${first.output()}`)
    await new Promise((r) => setTimeout(r, 5))
  }
  first.child.kill('SIGKILL')
  expect((await first.exited).signal).toBe('SIGKILL')

  const mid = await openStore({ dataDir })
  const rec = await mid.db.query<{ status: string; checkpoint_row: string | number }>(
    'SELECT status, checkpoint_row FROM imports',
  )
  await mid.close()
  expect(rec.rows).toHaveLength(1)
  expect(rec.rows[0]?.status).toBe('running')
  expect(Number(rec.rows[0]?.checkpoint_row)).toBeLessThan(ROWS)

  // Second run: resumes and finishes.
  const second = runCli(args)
  const r2 = await second.exited
  expect(r2.code, second.output()).toBe(0)
  expect(second.output()).toContain('resumed')
  expect(second.output()).toContain(
    `${ROWS} rows read, ${ROWS - bad.size} accepted, ${bad.size} rejected`,
  )

  // Third run: already imported, nothing appended.
  const bytesBefore = logBytes()
  const third = runCli(args)
  expect((await third.exited).code).toBe(0)
  expect(third.output()).toContain('already imported')
  expect(logBytes()).toBe(bytesBefore)

  const rejected = readFileSync(path.join(dir, 'orders.rejects.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { row: number }).row)
  expect(rejected).toEqual([...bad].sort((a, b) => a - b))

  const store = await openStore({ dataDir })
  try {
    const log = await openFileEventLog(path.join(dataDir, 'event-log'))
    await createProcessor({ db: store.db, log, metrics: createMetrics() }).drain()
    await log.close()
    const res = await store.db.query<{ n: number; distinct_ids: number; orders: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct_ids,
              count(DISTINCT properties->>'order_id')::int AS orders
       FROM events WHERE source_id = 'src_importe2e'`,
    )
    expect(res.rows[0]?.n).toBe(ROWS - bad.size)
    expect(res.rows[0]?.distinct_ids).toBe(ROWS - bad.size)
    // Every good row (its unmapped order_id column became a property) exactly once.
    expect(res.rows[0]?.orders).toBe(ROWS - bad.size)
  } finally {
    await store.close()
  }
}, 300_000)
