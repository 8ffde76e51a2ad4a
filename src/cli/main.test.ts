import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const bin = path.resolve(import.meta.dirname, '../../bin/kindred.js')
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, KINDRED_CONSOLE_BUILD: '0' },
  })

// Each case spawns the CLI (tsx compiles on start): generous timeouts for a loaded 2-core machine.
describe('kindred CLI', { timeout: 180_000 }, () => {
  it('prints help and exits 0', () => {
    const r = run('--help')
    expect(r.status).toBe(0)
    expect(r.stdout).toContain('kindred start')
    expect(r.stdout).toContain('kindred dedupe')
  })

  it('rejects unknown commands and bad flags with exit code 2 and a message', () => {
    const unknown = run('frobnicate')
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toContain('unknown command "frobnicate"')
    const badRole = run('start', '--role', 'nope')
    expect(badRole.status).toBe(2)
    expect(badRole.stderr).toContain('invalid --role')
    const missing = run('dedupe', '--input', 'x.csv')
    expect(missing.status).toBe(2)
    expect(missing.stderr).toContain('--id-column')
  })

  it('starts on 127.0.0.1 by default and says how to open it to other machines', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-cli-start-'))
    const env: Record<string, string | undefined> = {
      ...process.env,
      KINDRED_CONSOLE_BUILD: '0',
      KINDRED_ADMIN_TOKEN: 'cli-start-admin-token-0123456789',
      LOG_LEVEL: 'warn',
    }
    // The machine's own HOST (set by some shells and containers) must not decide this test.
    delete env.HOST
    delete env.KINDRED_HOST
    delete env.PORT
    const child = spawn(process.execPath, [bin, 'start', '--port', '0', '--data-dir', dataDir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /open (http:\/\/\S+) \(console and API\)/.exec(out)
          if (m && out.includes('--host 0.0.0.0')) resolve(m[1] as string)
        })
        child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)))
      })
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(out).toContain('this machine only')
      expect((await fetch(`${url}/healthz`)).status).toBe(200)
    } finally {
      child.kill('SIGTERM')
      await exited
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('deduplicates a CSV end to end', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kindred-cli-'))
    const input = path.join(dir, 'people.csv')
    writeFileSync(
      input,
      [
        'rec_id,given_name,surname,address_1,suburb,postcode,date_of_birth',
        'a,jonathan,smith,12 high street,richmond,3121,19800102',
        'b,jonathon,smith,12 high st,richmond,3121,19800102',
        'c,maria,garcia,4 low road,carlton,3053,19750505',
      ].join('\n'),
    )
    const out = path.join(dir, 'clusters.csv')
    const r = run('dedupe', '--input', input, '--id-column', 'rec_id', '--out', out)
    expect(r.status).toBe(0)
    const rows = readFileSync(out, 'utf8').trim().split('\n')
    expect(rows[0]).toContain('cluster_id')
    expect(rows).toHaveLength(4)
  })
})
