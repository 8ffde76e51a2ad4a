/**
 * Reading a customer's database, PostgreSQL (`pg`) or MySQL/MariaDB (`mysql2`): connect to the
 * address the outbound policy allowed (`src/protocol/outbound-policy.ts`: private and loopback
 * hosts only through the operator's allow-list, and the connection pinned to the address that
 * was checked), open a READ ONLY transaction, and stream the rows in batches: a server-side
 * cursor on PostgreSQL (`DECLARE … CURSOR` + `FETCH n`), a streaming query paused between batches
 * on MySQL. Memory holds one batch whatever the table's size.
 *
 * Read-only is by design twice: the transaction refuses writes, and the docs ask for a user with
 * SELECT grants only (src/collect/engine/syncs/README.md).
 * @module
 */
import { lookup } from 'node:dns/promises'
import pg from 'pg'
import mysql from 'mysql2'
import { DomainError } from '../../../protocol/errors.js'
import {
  checkAddress,
  checkLiteralHost,
  parseIp,
  formatIp,
  type OutboundPolicy,
} from '../../../protocol/outbound-policy.js'
import { defaultPort, type ConnectionSettings } from '../../core/sync-model.js'

export type SyncErrorCode =
  | 'SOURCE_UNREACHABLE'
  | 'SOURCE_AUTH_FAILED'
  | 'SOURCE_QUERY_FAILED'
  | 'SOURCE_TIMEOUT'
  | 'OUTBOUND_ADDRESS_REFUSED'

/** A failure of the source database, with whether trying again later may help. */
export class SyncSourceError extends DomainError<SyncErrorCode> {
  readonly transient: boolean
  constructor(code: SyncErrorCode, message: string, transient: boolean, cause?: unknown) {
    super(transient ? 'retry' : 'invalid_input', code, message, { cause })
    this.transient = transient
  }
}

export interface SourceConnection extends ConnectionSettings {
  password?: string | undefined
}

export interface SourceReader {
  /** Rows of `query`, `batchSize` at a time, inside the reader's read-only transaction. */
  batches(
    query: { text: string; params: unknown[] },
    batchSize: number,
  ): AsyncIterable<Record<string, unknown>[]>
  close(): Promise<void>
}

/** The address to connect to, after the outbound policy allowed it. */
async function allowedAddress(policy: OutboundPolicy, host: string, port: number): Promise<string> {
  const literal = parseIp(host)
  if (literal) {
    const refusal = checkAddress(policy, { host, port, address: literal })
    if (refusal) throw new SyncSourceError('OUTBOUND_ADDRESS_REFUSED', refusal.message, false)
    return formatIp(literal)
  }
  const named = checkLiteralHost(policy, { host, port })
  if (named) throw new SyncSourceError('OUTBOUND_ADDRESS_REFUSED', named.message, false)
  let answers: { address: string }[]
  try {
    answers = await lookup(host, { all: true })
  } catch (err) {
    throw new SyncSourceError('SOURCE_UNREACHABLE', `cannot resolve ${host}`, true, err)
  }
  // Every answer must pass: the driver may use any of them, and DNS decides the order.
  for (const a of answers) {
    const ip = parseIp(a.address)
    const refusal = ip ? checkAddress(policy, { host, port, address: ip }) : null
    if (!ip || refusal)
      throw new SyncSourceError(
        'OUTBOUND_ADDRESS_REFUSED',
        refusal?.message ?? `unreadable address ${a.address}`,
        false,
      )
  }
  return (answers[0] as { address: string }).address
}

const transientNetwork = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'EAI_AGAIN',
])

/** A driver's error as a SyncSourceError, keeping the server's own message for the user. */
export function classifySourceError(err: unknown): SyncSourceError {
  if (err instanceof SyncSourceError) return err
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; sqlState?: unknown }
  const code = typeof e.code === 'string' ? e.code : ''
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err)
  if (transientNetwork.has(code) || /timeout expired|Connection terminated/i.test(message))
    return new SyncSourceError('SOURCE_UNREACHABLE', message, true, err)
  // PostgreSQL SQLSTATE classes 28 (authorization), MySQL 1044/1045 (access denied).
  if (
    code.startsWith('28') ||
    code === 'ER_ACCESS_DENIED_ERROR' ||
    code === 'ER_DBACCESS_DENIED_ERROR'
  )
    return new SyncSourceError('SOURCE_AUTH_FAILED', message, false, err)
  // 57014: canceled by statement_timeout; MariaDB 1969 / MySQL 3024: max statement time.
  if (
    code === '57014' ||
    code === 'ER_STATEMENT_TIMEOUT' ||
    code === 'ER_QUERY_TIMEOUT' ||
    e.errno === 1969 ||
    e.errno === 3024 ||
    code === 'PROTOCOL_SEQUENCE_TIMEOUT'
  )
    return new SyncSourceError('SOURCE_TIMEOUT', message, true, err)
  // 08: connection exceptions, 53: insufficient resources, 57P: shutdown, 40: rollbacks.
  if (/^(08|53|57P|40)/.test(code) || code === 'ER_CON_COUNT_ERROR')
    return new SyncSourceError('SOURCE_UNREACHABLE', message, true, err)
  return new SyncSourceError('SOURCE_QUERY_FAILED', message, false, err)
}

// Type parsers for PostgreSQL: keep what a JS value would change. `timestamp` (no zone) is read as
// UTC, never the process's zone; `date` stays `YYYY-MM-DD`; numeric and int8 stay text (pg's own
// default), `timestamptz` becomes a Date (exact to the millisecond, in UTC).
const pgTypes = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 1114) return (text: string) => `${text.replace(' ', 'T')}Z`
    if (oid === 1082) return (text: string) => text
    return pg.types.getTypeParser(oid, (format ?? 'text') as 'text')
  },
}

async function openPostgres(c: SourceConnection, address: string): Promise<SourceReader> {
  const client = new pg.Client({
    host: address,
    port: c.port ?? defaultPort.postgres,
    database: c.database,
    user: c.user,
    ...(c.password !== undefined ? { password: c.password } : {}),
    ssl: c.ssl ? { servername: c.host } : false,
    connectionTimeoutMillis: 10_000,
    statement_timeout: c.queryTimeoutMs,
    application_name: 'kindred-sync',
    types: pgTypes,
  })
  client.on('error', () => undefined)
  try {
    await client.connect()
    await client.query('BEGIN')
    await client.query('SET TRANSACTION READ ONLY')
  } catch (err) {
    await client.end().catch(() => undefined)
    throw classifySourceError(err)
  }
  let cursors = 0
  return {
    async *batches(query, batchSize) {
      const name = `kindred_sync_${++cursors}`
      try {
        await client.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${query.text}`, query.params)
        for (;;) {
          const r = await client.query<Record<string, unknown>>(
            `FETCH ${Math.trunc(batchSize)} FROM ${name}`,
          )
          if (r.rows.length > 0) yield r.rows
          if (r.rows.length < batchSize) break
        }
        await client.query(`CLOSE ${name}`)
      } catch (err) {
        throw classifySourceError(err)
      }
    },
    async close() {
      await client.query('ROLLBACK').catch(() => undefined)
      await client.end().catch(() => undefined)
    },
  }
}

async function openMysql(c: SourceConnection, address: string): Promise<SourceReader> {
  const conn = mysql.createConnection({
    host: address,
    port: c.port ?? defaultPort.mysql,
    database: c.database,
    user: c.user,
    ...(c.password !== undefined ? { password: c.password } : {}),
    // TLS verifies the certificate against the pinned address here (mysql2 takes no servername).
    ...(c.ssl ? { ssl: {} } : {}),
    connectTimeout: 10_000,
    // Exact values: DATETIME/TIMESTAMP read as UTC, DECIMAL and BIGINT as text, DATE as text.
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: ['DATE'],
  })
  conn.on('error', () => undefined)
  const run = (sql: string, params: unknown[] = []) =>
    new Promise<void>((resolve, reject) =>
      conn.query(sql, params, (err) => (err ? reject(err) : resolve())),
    )
  try {
    await new Promise<void>((resolve, reject) =>
      conn.connect((err) => (err ? reject(err) : resolve())),
    )
    // MariaDB: max_statement_time (seconds); MySQL: max_execution_time (ms, SELECTs only).
    await run('SET SESSION max_statement_time = ?', [c.queryTimeoutMs / 1000]).catch(() =>
      run('SET SESSION max_execution_time = ?', [c.queryTimeoutMs]),
    )
    await run('SET SESSION TRANSACTION READ ONLY')
    await run('START TRANSACTION READ ONLY')
  } catch (err) {
    conn.destroy()
    throw classifySourceError(err)
  }
  return {
    async *batches(query, batchSize) {
      const stream = conn.query(query.text, query.params).stream({ highWaterMark: batchSize })
      let batch: Record<string, unknown>[] = []
      let failure: unknown
      let ended = false
      let wake: (() => void) | undefined
      const notify = () => {
        const w = wake
        wake = undefined
        w?.()
      }
      stream.on('data', (row: Record<string, unknown>) => {
        batch.push(row)
        if (batch.length >= batchSize) {
          stream.pause()
          notify()
        }
      })
      stream.on('error', (err) => {
        failure = err
        notify()
      })
      stream.on('end', () => {
        ended = true
        notify()
      })
      for (;;) {
        if (failure === undefined && !ended && batch.length < batchSize)
          await new Promise<void>((r) => (wake = r))
        if (failure !== undefined) throw classifySourceError(failure)
        if (batch.length > 0) {
          const out = batch
          batch = []
          yield out
        }
        if (ended && batch.length === 0) return
        stream.resume()
      }
    },
    async close() {
      await run('ROLLBACK').catch(() => undefined)
      await new Promise<void>((resolve) => conn.end(() => resolve()))
      conn.destroy()
    },
  }
}

/** Opens a read-only session on the source, after the outbound policy allowed its address. */
export async function openSource(
  c: SourceConnection,
  policy: OutboundPolicy,
): Promise<SourceReader> {
  const port = c.port ?? defaultPort[c.kind]
  const address = await allowedAddress(policy, c.host, port)
  return c.kind === 'postgres' ? openPostgres(c, address) : openMysql(c, address)
}

export type ConnectionTest =
  | { ok: true; durationMs: number }
  | { ok: false; code: SyncErrorCode; message: string; transient: boolean }

/** "Test connection": connect, open the read-only transaction, run `SELECT 1`. */
export async function testSourceConnection(
  c: SourceConnection,
  policy: OutboundPolicy,
  clock: () => number = Date.now,
): Promise<ConnectionTest> {
  const started = clock()
  let reader: SourceReader | undefined
  try {
    reader = await openSource(c, policy)
    for await (const rows of reader.batches({ text: 'SELECT 1 AS ok', params: [] }, 1)) void rows
    return { ok: true, durationMs: clock() - started }
  } catch (err) {
    const e = classifySourceError(err)
    return { ok: false, code: e.code, message: e.message, transient: e.transient }
  } finally {
    await reader?.close()
  }
}
