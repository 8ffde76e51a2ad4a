/**
 * Starts the real Kindred server as a child process for browser tests: a free port, a temporary
 * data dir, the admin token in the environment, and a wait for `GET /healthz`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

export const ROOT = path.resolve(import.meta.dirname, '../..')

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Newest modification time (ms) of the files under `dir`. */
function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs)
  }
  return newest
}

/**
 * Builds the console with Vite's JS API when `console/dist` is missing or older than its
 * sources, so the browser tests always run the console as it is in the tree.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const index = path.join(ROOT, 'console/dist/index.html')
  const sources = Math.max(
    newestMtime(path.join(ROOT, 'console/src')),
    statSync(path.join(ROOT, 'console/index.html')).mtimeMs,
    statSync(path.join(ROOT, 'console/vite.config.ts')).mtimeMs,
  )
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return
  const { build } = await import('vite')
  await build({ configFile: path.join(ROOT, 'console/vite.config.ts'), logLevel: 'warn' })
}

export interface RunningServer {
  url: string
  token: string
  child: ChildProcess
  stop: () => Promise<void>
}

export async function startKindred(token: string): Promise<RunningServer> {
  const port = await freePort()
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-console-e2e-'))
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/kindred.js'), 'start', '--port', String(port), '--data-dir', dataDir],
    {
      cwd: ROOT,
      // The browser tests deliver to receivers on loopback: allowed explicitly, as an operator would.
      env: {
        ...process.env,
        KINDRED_ADMIN_TOKEN: token,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
        KINDRED_OUTBOUND_ALLOW: '127.0.0.0/8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  for (let i = 0; i < 480; i++) {
    if (child.exitCode !== null)
      throw new Error(`kindred exited with ${child.exitCode}:\n${output}`)
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { url, token, child, stop }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  await stop()
  throw new Error(`kindred did not become healthy in 120 s:\n${output}`)
}

/** Polls `fn` until it returns a truthy value (processing is asynchronous) or time runs out. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await fn()
      if (value) return value
    } catch (error) {
      last = error
    }
    await new Promise((r) => setTimeout(r, 300))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}
