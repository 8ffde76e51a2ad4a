/** Test support: a real Kindred (HTTP + in-memory PGlite) on a free port. */
import pino from 'pino'
import { startKindred, type Kindred, type KindredOptions } from '../app/runtime.js'
import { createTestDatabase } from './databases.js'

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789'

/**
 * Test receivers listen on loopback, which production refuses: tests allow it explicitly, through
 * the operator's allow-list, so the default stays strict.
 */
export const TEST_OUTBOUND_ALLOW = '127.0.0.0/8,::1/128'

export interface TestKindred {
  url: string
  kindred: Kindred
  admin(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>
  createSource(
    name?: string,
    settings?: Record<string, unknown>,
  ): Promise<{ id: string; writeKey: string }>
  track(
    writeKey: string,
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>
  close(): Promise<void>
}

export function basic(writeKey: string): string {
  return `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
}

/** Store targets for suites that run on both: PGlite always, a server when configured. */
export function testStores(): Array<'pglite' | 'postgres'> {
  return process.env.KINDRED_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite']
}

export async function startTestKindred(
  options: Partial<KindredOptions> & { store?: 'pglite' | 'postgres' } = {},
): Promise<TestKindred> {
  const { store = 'pglite', ...rest } = options
  const baseUrl = process.env.KINDRED_TEST_DATABASE_URL
  const database = store === 'postgres' && baseUrl ? await createTestDatabase(baseUrl) : undefined
  const kindred = await startKindred({
    port: 0,
    host: '127.0.0.1',
    adminToken: TEST_ADMIN_TOKEN,
    logger: pino({ level: 'silent' }),
    consoleDir: '/nonexistent',
    outboundAllow: TEST_OUTBOUND_ALLOW,
    ...(database ? { databaseUrl: database.url } : {}),
    ...rest,
  })
  const url = kindred.url as string
  const admin: TestKindred['admin'] = (path, init = {}) =>
    fetch(`${url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        'content-type': 'application/json',
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    })
  return {
    url,
    kindred,
    admin,
    async createSource(name = 'Test source', settings) {
      const res = await admin('/api/v1/sources', {
        body: { name, ...(settings ? { settings } : {}) },
      })
      if (res.status !== 201) throw new Error(`createSource: ${res.status} ${await res.text()}`)
      return (await res.json()) as { id: string; writeKey: string }
    },
    track(writeKey, path, body, headers = {}) {
      return fetch(`${url}${path}`, {
        method: 'POST',
        headers: { authorization: basic(writeKey), 'content-type': 'application/json', ...headers },
        body:
          typeof body === 'string'
            ? body
            : Buffer.isBuffer(body)
              ? new Uint8Array(body)
              : JSON.stringify(body),
      })
    },
    async close() {
      await kindred.close()
      await database?.drop()
    },
  }
}
