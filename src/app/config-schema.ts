/**
 * What `kindred start` reads from its flags and the environment, as one zod schema: every
 * setting has one name, one default and one error message, and nothing else in the server reads
 * these variables. A flag wins over its variable; an empty variable counts as unset (compose files
 * and systemd units often set `FOO=` to mean "not set").
 * @module
 */
import { z } from 'zod'
import { DEFAULT_HOST, roles, type KindredOptions, type Role } from './runtime.js'

export const DEFAULT_PORT = 8787

const unset = (v: unknown) => (v === '' ? undefined : v)
const optionalText = z.preprocess(unset, z.string().optional())
const port = z.preprocess(
  unset,
  z.coerce.number().int().min(0).max(65535, 'a port is 0–65535').optional(),
)
// An IPv4 or IPv6 address or a host name; `[::]`-style brackets are accepted as Node takes them.
const host = z.preprocess(
  unset,
  z
    .string()
    .max(253)
    .regex(/^[A-Za-z0-9.:%[\]-]+$/, 'an address (127.0.0.1, 0.0.0.0, ::) or a host name')
    .optional(),
)

/** Every environment variable `kindred start` reads. */
export const configSchema = z.object({
  PORT: port.describe('port to listen on (default 8787)'),
  KINDRED_HOST: host.describe('address to listen on (default 127.0.0.1)'),
  HOST: host.describe('address to listen on, when KINDRED_HOST is unset'),
  KINDRED_DATA_DIR: optionalText.describe('data dir (default ./.kindred)'),
  DATABASE_URL: optionalText.describe('a Postgres server instead of the embedded store'),
  KINDRED_EVENT_LOG: optionalText.describe('nats://… event log for scale-out'),
  KINDRED_ADMIN_TOKEN: optionalText.describe('admin API bearer token'),
  KINDRED_SECRET_KEY: optionalText.describe('key that encrypts secrets at rest'),
  KINDRED_IDENTITY_CACHE_SIZE: z.preprocess(
    unset,
    z.coerce.number().int().min(0).optional().describe('identifiers cached between batches'),
  ),
  KINDRED_TRUST_PROXY: z.preprocess(
    unset,
    z
      .string()
      .optional()
      .transform((v) => (v === 'true' ? true : v === 'false' ? false : v))
      .describe('peers whose X-Forwarded-For names the client'),
  ),
  KINDRED_OUTBOUND_ALLOW: optionalText.describe('non-public addresses destinations may reach'),
  KINDRED_EXPORT_DIR: optionalText.describe('root of file-export destinations'),
  KINDRED_LAKE: z.preprocess(
    unset,
    z.enum(['on', 'off']).default('on').describe('off: no Parquet/Delta lake is written'),
  ),
  KINDRED_LAKE_DIR: optionalText.describe("the lake's tables (default <data dir>/lake)"),
  KINDRED_LAKE_FLUSH_SECONDS: z.preprocess(
    unset,
    z.coerce
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(30)
      .describe('the most a change waits before the lake writer flushes it'),
  ),
  LOG_LEVEL: z.preprocess(
    unset,
    z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino log level'),
  ),
})

/** The flags of `kindred start`, as `parseArgs` gives them. */
export interface StartFlags {
  port?: string | undefined
  host?: string | undefined
  'data-dir'?: string | undefined
  role?: string | undefined
}

export type StartConfig = KindredOptions & {
  port: number
  host: string
  role: Role
  dataDir: string
}

/** The options of `startKindred` from flags and environment, or what is wrong with them. */
export function readStartConfig(
  flags: StartFlags,
  env: Record<string, string | undefined>,
): { ok: true; config: StartConfig } | { ok: false; error: string } {
  const parsed = configSchema.safeParse(env)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    return { ok: false, error: `invalid ${issue?.path.join('.')}: ${issue?.message}` }
  }
  const e = parsed.data
  const flagPort = port.safeParse(flags.port)
  if (!flagPort.success) return { ok: false, error: `invalid --port ${flags.port}` }
  const flagHost = host.safeParse(flags.host)
  if (!flagHost.success) {
    return {
      ok: false,
      error: `invalid --host ${flags.host}: ${flagHost.error.issues[0]?.message}`,
    }
  }
  const role = (flags.role ?? 'all') as Role
  if (!roles.includes(role)) {
    return { ok: false, error: `invalid --role ${flags.role}; one of ${roles.join(', ')}` }
  }
  return {
    ok: true,
    config: {
      port: flagPort.data ?? e.PORT ?? DEFAULT_PORT,
      host: flagHost.data ?? e.KINDRED_HOST ?? e.HOST ?? DEFAULT_HOST,
      role,
      dataDir: flags['data-dir'] || e.KINDRED_DATA_DIR || '.kindred',
      databaseUrl: e.DATABASE_URL,
      eventLogUrl: e.KINDRED_EVENT_LOG,
      adminToken: e.KINDRED_ADMIN_TOKEN,
      secretKey: e.KINDRED_SECRET_KEY,
      identityCacheSize: e.KINDRED_IDENTITY_CACHE_SIZE,
      trustProxy: e.KINDRED_TRUST_PROXY,
      outboundAllow: e.KINDRED_OUTBOUND_ALLOW,
      exportDir: e.KINDRED_EXPORT_DIR,
      lake: {
        enabled: e.KINDRED_LAKE === 'on',
        dir: e.KINDRED_LAKE_DIR,
        flushMs: e.KINDRED_LAKE_FLUSH_SECONDS * 1000,
      },
      logLevel: e.LOG_LEVEL,
    },
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i
const EVERY_INTERFACE = /^(0\.0\.0\.0|::|\[::\])$/

/**
 * What `kindred start` prints about where it listens: the URL to open, and who can reach it. A
 * first user on a laptop needs the URL; someone on a server needs to know that it is not yet
 * reachable from elsewhere, and which flag changes that.
 */
export function listenNotice(url: string, host: string): string {
  const shown = url.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost')
  const lines = [`  Kindred is running: open ${shown} (console and API)`]
  if (LOOPBACK.test(host)) {
    lines.push(
      `  It listens on ${host}, this machine only. To reach it from other machines, start it with`,
      `  --host 0.0.0.0 (or KINDRED_HOST=0.0.0.0), ideally behind a TLS proxy.`,
    )
  } else if (EVERY_INTERFACE.test(host)) {
    lines.push(
      `  It listens on every interface (${host}): other machines can reach it. Put it behind TLS`,
      `  and a firewall, or start it with --host 127.0.0.1 for this machine only.`,
    )
  } else {
    lines.push(`  It listens on ${host} only.`)
  }
  return `${lines.join('\n')}\n`
}
