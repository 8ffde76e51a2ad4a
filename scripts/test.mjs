#!/usr/bin/env node
// `npm test`: make sure what the tests need is here (the local PostgreSQL and NATS servers, a
// fresh database, Debian's Chromium, the built console), then typecheck, lint and run every test
// (unit, store suites on PGlite and on the server, e2e). It needs no environment variables: on a
// machine of the kind Kindred is developed on it finds the services, or starts them when they are
// installed but down. `.ci/run` only installs and calls this. Exits non-zero on the first failing
// step so CI shows exactly which one broke.
//
// Overrides: KINDRED_TEST_DATABASE_URL (a server to create the test database in; "none" runs the
// store suites on PGlite only), KINDRED_TEST_NATS_URL, KINDRED_TEST_MARIADB_URL,
// KINDRED_TEST_SOURCE_POSTGRES_URL (where sync suites create source databases), KINDRED_CHROMIUM.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
process.chdir(repoRoot)

const say = (line) => process.stdout.write(`${line}\n`)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function portOpen(host, port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (open) => {
      socket.destroy()
      resolve(open)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

async function waitForPort(host, port, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    if (await portOpen(host, port)) return true
    await sleep(250)
  }
  return false
}

function tryRun(cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 })
    return true
  } catch (err) {
    say(
      `   (${cmd} ${args.join(' ')}: ${
        String(err.stderr ?? err.message)
          .trim()
          .split('\n')[0]
      })`,
    )
    return false
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** The PostgreSQL server to create the test database in, started if installed but down. */
async function postgresBase() {
  const given = process.env.KINDRED_TEST_DATABASE_URL
  if (given === 'none') return undefined
  if (given) return given
  const base = 'postgres://postgres@127.0.0.1:5432/postgres'
  if (await portOpen('127.0.0.1', 5432)) return base
  if (existsSync('/etc/postgresql') && existsSync('/usr/bin/pg_ctlcluster')) {
    for (const version of readdirSync('/etc/postgresql')) {
      say(`== starting PostgreSQL ${version}`)
      tryRun('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'])
    }
    if (await waitForPort('127.0.0.1', 5432, 30)) return base
  }
  return undefined
}

/** A fresh database for this run; each suite creates (and drops) its own databases inside it. */
async function createRunDatabase(baseUrl) {
  const name = `kindred_test_${Date.now()}_${process.pid}`
  const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } finally {
    await client.end()
  }
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 5_000 })
      try {
        await c.connect()
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } catch (err) {
        say(`!! could not drop ${name}: ${err.message}`)
      } finally {
        await c.end().catch(() => {})
      }
    },
  }
}

/** NATS with JetStream for the scale-out event log, started if installed but down. */
async function natsUrl() {
  const given = process.env.KINDRED_TEST_NATS_URL
  if (given) return given
  const url = 'nats://127.0.0.1:4222'
  if (await portOpen('127.0.0.1', 4222)) return url
  if (existsSync('/usr/sbin/nats-server')) {
    say('== starting NATS')
    // The machine's own store dir when we may write it (as the service runs), else a private one.
    const storeDir = isRoot ? '/var/lib/nats-server' : path.join(os.tmpdir(), 'kindred-test-nats')
    mkdirSync(storeDir, { recursive: true })
    const logFile = isRoot ? '/var/log/nats-server.log' : path.join(storeDir, 'nats-server.log')
    if (existsSync('/sbin/start-stop-daemon')) {
      tryRun('start-stop-daemon', [
        '--start',
        '--oknodo',
        '--background',
        '--exec',
        '/usr/sbin/nats-server',
        '--',
        ...['-a', '127.0.0.1', '-p', '4222', '-js', '-sd', storeDir, '-l', logFile],
      ])
    }
    if (await waitForPort('127.0.0.1', 4222, 10)) return url
  }
  return undefined
}

/**
 * The brokers the stream destinations are tested against (src/testing/brokers.ts finds them at
 * these addresses), started with the machine's own commands when installed but down. A broker
 * still missing makes its suites fail with the command that starts it.
 */
async function ensureBrokers() {
  const brokers = [
    {
      name: 'Redis',
      env: 'KINDRED_TEST_REDIS_URL',
      port: 6379,
      bin: '/usr/bin/redis-server',
      args: [
        '--daemonize',
        'yes',
        '--bind',
        '127.0.0.1',
        '--port',
        '6379',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
    },
    {
      name: 'RabbitMQ',
      env: 'KINDRED_TEST_AMQP_URL',
      port: 5672,
      bin: '/usr/sbin/rabbitmq-server',
      args: ['-detached'],
      wait: 60,
    },
    {
      name: 'Mosquitto',
      env: 'KINDRED_TEST_MQTT_URL',
      port: 1883,
      bin: '/usr/sbin/mosquitto',
      args: ['-d', '-c', '/etc/mosquitto/mosquitto.conf'],
    },
  ]
  for (const b of brokers) {
    if (process.env[b.env] || (await portOpen('127.0.0.1', b.port))) continue
    if (existsSync(b.bin)) {
      say(`== starting ${b.name}`)
      tryRun(b.bin, b.args)
      if (await waitForPort('127.0.0.1', b.port, b.wait ?? 10)) continue
    }
    say(`!! no ${b.name} on 127.0.0.1:${b.port}: the stream destination suites fail`)
  }
}

/**
 * MariaDB (or MySQL) for the database-sync suites, which read real source tables from it: found at
 * 127.0.0.1:3306 (root, no password), or started if installed but down (the machine's command).
 */
async function mariadbUrl() {
  const given = process.env.KINDRED_TEST_MARIADB_URL
  if (given) return given
  const url = 'mysql://root@127.0.0.1:3306'
  if (await portOpen('127.0.0.1', 3306)) return url
  if (existsSync('/usr/sbin/mariadbd') && existsSync('/sbin/start-stop-daemon')) {
    say('== starting MariaDB')
    tryRun('start-stop-daemon', [
      '--start',
      '--oknodo',
      '--background',
      '--exec',
      '/usr/sbin/mariadbd',
    ])
    if (await waitForPort('127.0.0.1', 3306, 30)) return url
  }
  return undefined
}

/** Debian's Chromium for the console's browser tests; never a downloaded browser. */
function ensureChromium() {
  const executable = process.env.KINDRED_CHROMIUM ?? '/usr/bin/chromium'
  if (existsSync(executable)) return
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    say('== installing chromium (Debian package)')
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env })
    spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env })
  }
  if (!existsSync(executable)) say(`!! ${executable} is missing: the console's browser tests fail`)
}

function step(name, cmd, args) {
  say(`\n== ${name}: ${cmd} ${args.join(' ')}`)
  const started = Date.now()
  const r = spawnSync(cmd, args, { stdio: 'inherit' })
  say(
    `== ${name}: ${r.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
  return r.status ?? 1
}

const base = await postgresBase()
const database = base ? await createRunDatabase(base) : undefined
if (database) process.env.KINDRED_TEST_DATABASE_URL = database.url
else {
  delete process.env.KINDRED_TEST_DATABASE_URL
  say(
    '!! no PostgreSQL server: the store suites run on PGlite only and the server-only suites fail',
  )
}
// The sync suites create their source databases on the same server, beside the run's database.
if (base) process.env.KINDRED_TEST_SOURCE_POSTGRES_URL ??= base
const mariadb = await mariadbUrl()
if (mariadb) process.env.KINDRED_TEST_MARIADB_URL = mariadb
else say('!! no MariaDB server: the database-sync suites fail')
const nats = await natsUrl()
if (nats) process.env.KINDRED_TEST_NATS_URL = nats
else say('!! no NATS server: the scale-out suites fail')
await ensureBrokers()
ensureChromium()

const steps = [
  ['console build', 'npm', ['run', '--silent', 'build:console']],
  ['typecheck (server)', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
  [
    'typecheck (console and browser tests)',
    'npx',
    ['tsc', '-p', 'console/tsconfig.json', '--noEmit'],
  ],
  ['lint', 'npx', ['eslint', '.', '--max-warnings', '0']],
  ['tests', 'npx', ['vitest', 'run', ...process.argv.slice(2)]],
]
let status = 0
for (const [name, cmd, args] of steps) {
  status = step(name, cmd, args)
  if (status !== 0) break
}
await database?.drop()
process.exit(status)
