import { parseArgs } from 'node:util'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { startKindred } from '../app/runtime.js'
import { listenNotice, readStartConfig } from '../app/config-schema.js'
import { openStore } from '../platform/store/open-store.js'
import { loadMigrations } from '../platform/store/migrate.js'
import { reprocess } from '../unify/engine/reprocess.js'
import { parseLinkageArgs, runDedupe, runLink } from './linkage-commands.js'
import {
  IMPORT_CANCEL_USAGE,
  IMPORT_USAGE,
  parseImportArgs,
  parseImportCancelArgs,
  runImportCancel,
  runImportCommand,
} from './import-command.js'
import { SYNC_USAGE, parseSyncArgs, runSyncCommand } from './sync-command.js'
import {
  TOKEN_USAGE,
  describeToken,
  listGlobalTokens,
  parseTokenArgs,
  revokeGlobalToken,
} from './token-command.js'
import {
  USER_USAGE,
  checkPassword,
  createMember,
  parseUserArgs,
  promptPassword,
  readPasswordLine,
  setUserPassword,
} from './user-command.js'

const help = `kindred — an open-source Customer Data Platform

Usage:
  kindred start [--port 8787] [--host 127.0.0.1] [--data-dir ./.kindred] [--role all|ingest|processor|dispatcher|scheduler]
  kindred migrate [--data-dir ./.kindred]
  kindred reprocess [--workspace default] [--rules rules.json] [--dry-run] [--data-dir ./.kindred]
  ${IMPORT_USAGE.replace(/^Usage: /, '')}
  ${IMPORT_CANCEL_USAGE}
  ${SYNC_USAGE.replace(/^Usage: /, '')}
  ${USER_USAGE.replace(/^Usage: /, '').replace(/\n {7}/g, '\n  ')}
  ${TOKEN_USAGE.replace(/^Usage: /, '').replace(/\n {7}/g, '\n  ')}
  kindred dedupe --input people.csv --id-column rec_id [--config model.json] --out clusters.csv
  kindred link --left a.csv --right b.csv --id-column rec_id [--threshold 0.9] --out pairs.csv
  kindred --help

Environment (read by kindred start through src/app/config-schema.ts; empty means unset):
  PORT                  port to listen on (default 8787)
  KINDRED_HOST, HOST    address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for
                        every interface, as the Docker image sets)
  KINDRED_TRUST_PROXY   proxies whose X-Forwarded-For names the client: addresses or CIDRs
                        (default: none)
  DATABASE_URL          use this Postgres server instead of the embedded store
  KINDRED_EVENT_LOG     nats://host:4222[,…][?stream=KINDRED_EVENTS&partitions=8&replicas=3]:
                        NATS JetStream event log for scale-out (needs DATABASE_URL)
  KINDRED_ADMIN_TOKEN   admin API bearer token (generated and printed on first start when unset);
                        a new value revokes the previous one on start
  KINDRED_DATA_DIR      data dir (default ./.kindred)
  KINDRED_SECRET_KEY    64 hex characters: encrypts destination secrets and write keys at rest
                        (default: a key generated into the data dir; required with NATS)
  KINDRED_IDENTITY_CACHE_SIZE  identifiers cached between batches (default 100000; 0: off)
  KINDRED_OUTBOUND_ALLOW  non-public addresses destinations may reach, e.g.
                        10.1.2.0/24,[fd00::/8]:443,db.internal:5432 (default: none)
  KINDRED_EXPORT_DIR    root of file-export destinations (default <data dir>/exports)
  LOG_LEVEL             pino log level (default info)
`

function fail(message: string): never {
  process.stderr.write(`kindred: ${message}\n\n${help}`)
  process.exit(2)
}

async function start(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      role: { type: 'string' },
    },
    strict: true,
  })
  const read = readStartConfig(values, process.env)
  if (!read.ok) fail(read.error)
  const { config } = read
  const kindred = await startKindred(config)
  if (kindred.generatedAdminToken) {
    process.stdout.write(
      `\n  Kindred admin token (shown once, stored hashed): ${kindred.generatedAdminToken}\n` +
        `  Use it as "Authorization: Bearer <token>" and to sign in to the console.\n\n`,
    )
  }
  if (kindred.healthUrl) {
    process.stdout.write(
      `  Kindred ${config.role} is running: health and metrics at ${kindred.healthUrl}\n`,
    )
  }
  if (kindred.url) process.stdout.write(listenNotice(kindred.url, config.host))
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    process.stdout.write(`  ${signal}: draining and shutting down\n`)
    const force = setTimeout(() => process.exit(1), 30_000)
    force.unref()
    kindred.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

async function migrateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { 'data-dir': { type: 'string' } },
    strict: true,
  })
  const store = await openStore({
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir: path.resolve(values['data-dir'] ?? process.env.KINDRED_DATA_DIR ?? '.kindred'),
  })
  const all = await loadMigrations()
  await store.close()
  process.stdout.write(
    `schema is at version ${all.at(-1)?.version ?? 0} (${all.length} migrations)\n`,
  )
}

async function reprocessCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      workspace: { type: 'string' },
      rules: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
    strict: true,
  })
  const rules =
    values.rules === undefined
      ? undefined
      : (JSON.parse(await readFile(values.rules, 'utf8')) as unknown)
  const store = await openStore({
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir: path.resolve(values['data-dir'] ?? process.env.KINDRED_DATA_DIR ?? '.kindred'),
  })
  try {
    const report = await reprocess(store.db, {
      workspaceId: values.workspace ?? 'default',
      rules,
      dryRun: values['dry-run'] ?? false,
    })
    const { diff } = report
    process.stdout.write(
      `${report.dryRun ? 'dry run: would change' : 'reprocessed'} ${report.events} events: profiles ${diff.profiles.before} → ${diff.profiles.after}, ` +
        `${diff.merged.length} would merge groups, ${diff.split.length} would split\n${JSON.stringify(diff, null, 2)}\n`,
    )
  } finally {
    await store.close()
  }
}

async function tokenCommand(argv: string[]): Promise<void> {
  const parsed = parseTokenArgs(argv)
  if (!parsed.ok) fail(parsed.error)
  const store = await openStore({
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir: path.resolve(parsed.dataDir ?? process.env.KINDRED_DATA_DIR ?? '.kindred'),
  })
  try {
    if (parsed.command === 'list') {
      const keys = await listGlobalTokens(store.db)
      process.stdout.write(keys.map((k) => `${describeToken(k)}\n`).join(''))
    } else {
      const key = await revokeGlobalToken(store.db, parsed.id)
      process.stdout.write(
        `revoked ${describeToken(key)}\n` +
          (key.origin === 'env'
            ? '  it stays revoked on restarts: set a new KINDRED_ADMIN_TOKEN to have an admin token\n'
            : ''),
      )
    }
  } finally {
    await store.close()
  }
}

async function linkage(command: 'dedupe' | 'link', argv: string[]): Promise<void> {
  const parsed = parseLinkageArgs(command, argv)
  if (!parsed.ok) {
    process.stderr.write(`kindred: ${parsed.error.message}\n`)
    process.exit(2)
  }
  const summary =
    parsed.command === 'dedupe' ? await runDedupe(parsed.options) : await runLink(parsed.options)
  process.stdout.write(`${JSON.stringify(summary)}\n`)
}

async function userCommand(argv: string[]): Promise<void> {
  const parsed = parseUserArgs(argv)
  if (!parsed.ok) fail(parsed.error)
  const { options } = parsed
  // Read before the store opens: a prompt must not hold the data dir's lock while waiting.
  let password: string
  if (parsed.command === 'create' && parsed.options.password !== undefined) {
    password = parsed.options.password
  } else if (process.stdin.isTTY) {
    // Typed on a terminal (also with --password-stdin): hidden, and asked twice.
    password = await promptPassword('New password: ')
    if ((await promptPassword('Repeat it: ')) !== password) fail('the passwords do not match')
  } else {
    password = await readPasswordLine(process.stdin)
  }
  checkPassword(password)
  const store = await openStore({
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir: path.resolve(options.dataDir ?? process.env.KINDRED_DATA_DIR ?? '.kindred'),
  })
  try {
    if (parsed.command === 'create') {
      const member = await createMember(store.db, { ...parsed.options, password })
      process.stdout.write(
        `${member.email} is ${member.role} of workspace ${parsed.options.workspace} (${member.id})\n`,
      )
    } else {
      const r = await setUserPassword(store.db, { email: parsed.options.email, password })
      process.stdout.write(
        `new password set for ${r.user.email} (${r.user.id}); ${r.revokedSessions} session(s) ended\n`,
      )
    }
  } finally {
    await store.close()
  }
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'start':
      return start(rest)
    case 'migrate':
      return migrateCommand(rest)
    case 'reprocess':
      return reprocessCommand(rest)
    case 'import': {
      if (rest[0] === 'cancel') {
        const cancel = parseImportCancelArgs(rest.slice(1))
        if (!cancel.ok) fail(cancel.error)
        await runImportCancel(cancel.options)
        return
      }
      const parsed = parseImportArgs(rest)
      if (!parsed.ok) fail(parsed.error)
      await runImportCommand(parsed.options)
      return
    }
    case 'sync': {
      const parsed = parseSyncArgs(rest)
      if (!parsed.ok) fail(parsed.error)
      await runSyncCommand(parsed.options)
      return
    }
    case 'dedupe':
    case 'link':
      return linkage(command, rest)
    case 'user':
      return userCommand(rest)
    case 'token':
      return tokenCommand(rest)
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(help)
      return
    default:
      fail(`unknown command "${command}"`)
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as { code?: string; message?: string }
  process.stderr.write(`kindred: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}\n`)
  process.exit(1)
})
