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

/** A `kindred` child process and everything it has printed so far. */
export interface KindredProcess {
  child: ChildProcess
  output: () => string
}

/**
 * Spawns `bin/kindred.js start` on `port`: the environment is the caller's with the admin token,
 * warn-level logs, loopback only and no console build unless `env` says otherwise.
 */
export function spawnKindred(options: {
  port: number
  token: string
  dataDir?: string
  args?: string[]
  env?: Record<string, string>
}): KindredProcess {
  const args = [path.join(ROOT, 'bin/kindred.js'), 'start', '--port', String(options.port)]
  if (options.dataDir !== undefined) args.push('--data-dir', options.dataDir)
  args.push(...(options.args ?? []))
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      KINDRED_ADMIN_TOKEN: options.token,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      KINDRED_CONSOLE_BUILD: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  return { child, output: () => output }
}

/** Waits for `GET /healthz` to answer 200; fails with the process's output if it exits first. */
export async function waitHealthy(url: string, p: KindredProcess, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null)
      throw new Error(`kindred exited with ${p.child.exitCode}:\n${p.output()}`)
    try {
      if ((await fetch(`${url}/healthz`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`kindred did not become healthy in ${timeoutMs / 1000} s:\n${p.output()}`)
}

export async function startKindred(
  token: string,
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const port = await freePort()
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kindred-console-e2e-'))
  // The browser tests build the console first (`ensureConsoleBuilt`), and deliver to receivers on
  // loopback: allowed explicitly, as an operator would.
  const p = spawnKindred({
    port,
    token,
    dataDir,
    env: { KINDRED_OUTBOUND_ALLOW: '127.0.0.0/8', ...env },
  })
  const { child } = p
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
  try {
    await waitHealthy(url, p)
  } catch (err) {
    await stop()
    throw err
  }
  return { url, token, child, stop }
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
