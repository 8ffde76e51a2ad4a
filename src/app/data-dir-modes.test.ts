/** The data dir and what Kindred writes into it are readable by their owner only. */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { basic } from '../testing/test-server.js'
import { logSafeError } from '../platform/http/log-safe-error.js'
import { startKindred } from './runtime.js'

const parent = mkdtempSync(path.join(tmpdir(), 'kindred-modes-'))
afterAll(() => rmSync(parent, { recursive: true, force: true }))

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    return e.isDirectory() ? [p, ...walk(p)] : [p]
  })
}

describe('data dir permissions', () => {
  it('keeps the data dir, the event log and the store owner-only', async () => {
    const dataDir = path.join(parent, 'data')
    const k = await startKindred({
      port: 0,
      host: '127.0.0.1',
      dataDir,
      adminToken: 'modes-admin-token-0123456789',
      logger: pino({ level: 'silent' }),
      consoleDir: '/nonexistent',
    })
    try {
      const res = await fetch(`${k.url}/api/v1/sources`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer modes-admin-token-0123456789',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ name: 'modes' }),
      })
      const { writeKey } = (await res.json()) as { writeKey: string }
      const t = await fetch(`${k.url}/v1/track`, {
        method: 'POST',
        headers: { authorization: basic(writeKey), 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'u', event: 'E' }),
      })
      expect(t.status).toBe(200)
    } finally {
      await k.close()
    }
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(statSync(path.join(dataDir, 'pglite')).mode & 0o777).toBe(0o700)
    const entries = walk(dataDir)
    expect(entries.some((p) => p.includes('event-log'))).toBe(true)
    // Files PGlite adds while running keep its modes, behind the data dir's own.
    const open = entries.filter(
      (p) => (statSync(p).mode & 0o077) !== 0 && !p.startsWith(path.join(dataDir, 'pglite')),
    )
    expect(open).toEqual([])
    const pgVersion = statSync(path.join(dataDir, 'pglite', 'PG_VERSION'))
    expect(pgVersion.mode & 0o077).toBe(0)
  }, 60_000)
})

describe('errors in logs', () => {
  it('leaves out the Postgres fields that quote input data', () => {
    const pg = Object.assign(new Error('invalid input syntax for type json'), {
      code: '22P02',
      detail: 'Token "ada@example.com" is invalid.',
      where: 'JSON data, line 1: {"email":"ada@example.com"...',
    })
    const wrapped = new Error('batch failed', { cause: pg })
    const logged = JSON.stringify(logSafeError(wrapped))
    expect(logged).not.toContain('ada@example.com')
    expect(logged).toContain('invalid input syntax for type json')
    expect(logged).toContain('22P02')
  })
})
