/**
 * Fuzz: random malformed input to every public route (tracking, admin, auth), taken from the
 * server's own route list so later routes are fuzzed too. Every answer must be a 4xx JSON error
 * `{ error: { code, message } }` (reads with random query strings may also answer 2xx), never a
 * 5xx, and no table may gain or lose a row.
 */
import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  basic,
  startTestKindred,
  TEST_ADMIN_TOKEN,
  type TestKindred,
} from '../../testing/test-server.js'

let k: TestKindred
let writeKey = ''

/** Row counts of every table, except the audit log, which records each refused change by design. */
const NOT_FINGERPRINTED = new Set(['audit_log'])

async function rowCounts(): Promise<Record<string, number>> {
  const db = k.kindred.store.db
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  )
  const out: Record<string, number> = {}
  for (const { table_name: t } of tables.rows) {
    if (NOT_FINGERPRINTED.has(t)) continue
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t}"`)
    out[t] = r.rows[0]?.n ?? -1
  }
  return out
}

/** Partial updates whose every field is optional; a body of unknown keys changes nothing. */
const LENIENT = new Set<string>()

const FIELD_NAMES = [
  'name',
  'email',
  'password',
  'scopes',
  'role',
  'definition',
  'settings',
  'type',
  'identifiers',
  'sourceId',
  'kind',
  'format',
  'id',
  'userId',
  'anonymousId',
  'event',
  'batch',
  'traits',
  'properties',
  'actions',
  'rotateWriteKey',
  'writeKey',
  'ids',
  'mapping',
  'timestamp',
]

function deep(depth: number, array: boolean): string {
  return array
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

/** A body that no route accepts: wrong JSON types, broken JSON, huge, deep, or badly encoded. */
// No numbers: the tracking API accepts numeric ids and stringifies them, as Segment does.
const wrongValue = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
)
const bodyArb: fc.Arbitrary<{ bytes: Buffer; headers: Record<string, string> }> = fc.oneof(
  // Wrong top-level types.
  fc
    .oneof(
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 40 }),
      fc.array(wrongValue, { minLength: 1, maxLength: 4 }),
    )
    .map((v) => ({ bytes: Buffer.from(JSON.stringify(v)), headers: {} })),
  // Known field names with values of the wrong type.
  fc
    .dictionary(fc.constantFrom(...FIELD_NAMES), wrongValue, { minKeys: 1, maxKeys: 5 })
    .map((v) => ({ bytes: Buffer.from(JSON.stringify(v)), headers: {} })),
  // Invalid JSON.
  fc
    .string({ minLength: 1, maxLength: 60 })
    .map((s) => ({ bytes: Buffer.from(`{"${s}`), headers: {} })),
  // Huge strings (over every body limit).
  fc.constantFrom('name', 'email', 'event').map((f) => ({
    bytes: Buffer.from(JSON.stringify({ [f]: 'x'.repeat(1_200_000) })),
    headers: {},
  })),
  // Deep nesting.
  fc
    .tuple(fc.integer({ min: 500, max: 20_000 }), fc.boolean(), fc.constantFrom(...FIELD_NAMES))
    .map(([d, arr, f]) => ({ bytes: Buffer.from(`{"${f}":${deep(d, arr)}}`), headers: {} })),
  // Bad encodings: invalid UTF-8, a gzip header on plain bytes, gzip of garbage, unknown coding.
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({
    bytes: Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(b)]),
    headers: {},
  })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({
    bytes: Buffer.from(b),
    headers: { 'content-encoding': 'gzip' },
  })),
  fc.string({ maxLength: 40 }).map((s) => ({
    bytes: gzipSync(Buffer.from(`{"batch":${s}`)),
    headers: { 'content-encoding': 'gzip' },
  })),
  fc.constant({ bytes: Buffer.from('{}'), headers: { 'content-encoding': 'zstd-nope' } }),
)

const segmentArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 30 }),
  fc.stringMatching(/^[a-z]{2,4}_[A-Za-z0-9]{4,20}$/),
  fc.constantFrom('..', '%00', '%2e%2e%2f', 'null', '0', "' OR 1=1 --", 'x'.repeat(90)),
)
const queryArb = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 40 }), {
      maxKeys: 4,
    })
    .map((d) => new URLSearchParams(d).toString()),
  fc
    .dictionary(
      fc.constantFrom(
        'limit',
        'cursor',
        'since',
        'until',
        'type',
        'value',
        'q',
        'event',
        'status',
        'action',
        'actor',
        'workspace',
        'token',
      ),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.integer().map(String),
        fc.constant('-1'),
        fc.constant('1e309'),
      ),
      { maxKeys: 4 },
    )
    .map((d) => new URLSearchParams(d).toString()),
  fc.constantFrom(
    '%zz',
    'a[b]=c&a[b]=d',
    '&&==',
    'limit=99999999999999999999',
    `x=${'y'.repeat(9000)}`,
  ),
)
const authArb = fc.constantFrom('admin', 'none', 'garbage')

function encodeSegment(s: string): string {
  // Some cases are already percent-encoded on purpose; the rest must not contain a `/`.
  return /^[%.]/.test(s) ? s : encodeURIComponent(s)
}

async function send(
  method: string,
  path: string,
  body: { bytes: Buffer; headers: Record<string, string> },
  authKind: string,
): Promise<{ status: number; text: string; type: string }> {
  const tracking = path.startsWith('/v1/')
  const auth: Record<string, string> =
    authKind === 'none'
      ? {}
      : authKind === 'garbage'
        ? { authorization: 'Bearer garbage-garbage-garbage' }
        : { authorization: tracking ? basic(writeKey) : `Bearer ${TEST_ADMIN_TOKEN}` }
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), 10_000)
  try {
    const hasBody = method !== 'GET' && method !== 'HEAD'
    const res = await fetch(`${k.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...auth, ...(hasBody ? body.headers : {}) },
      signal: controller.signal,
      ...(hasBody ? { body: new Uint8Array(body.bytes) } : {}),
    })
    return {
      status: res.status,
      text: await res.text(),
      type: res.headers.get('content-type') ?? '',
    }
  } catch (err) {
    return { status: 0, text: String(err), type: '' }
  } finally {
    clearTimeout(timer)
  }
}

beforeAll(async () => {
  k = await startTestKindred()
  writeKey = (await k.createSource('Fuzzed')).writeKey
}, 120_000)
afterAll(() => k.close())

describe('fuzz every public route', () => {
  it('answers malformed input with 4xx JSON errors and changes no table', async () => {
    const routes = k.kindred.routes.filter(
      (r) =>
        (r.url.startsWith('/api/v1/') || r.url.startsWith('/v1/')) &&
        r.method !== 'HEAD' &&
        r.method !== 'OPTIONS',
    )
    expect(routes.length).toBeGreaterThan(50)
    const before = await rowCounts()
    let requests = 0
    const lenient = new Set<string>()
    for (const { method, url } of routes) {
      const params = [...url.matchAll(/:[A-Za-z]+/g)].length
      await fc.assert(
        fc.asyncProperty(
          fc.array(segmentArb, { minLength: params, maxLength: params }),
          queryArb,
          bodyArb,
          authArb,
          async (segments, query, body, authKind) => {
            let i = 0
            const path = url.replace(/:[A-Za-z]+/g, () => encodeSegment(segments[i++] ?? 'x'))
            const res = await send(method, query ? `${path}?${query}` : path, body, authKind)
            requests++
            const where = `${method} ${path}?${query.slice(0, 80)} → ${res.status} ${res.text.slice(0, 160)}`
            if (method !== 'GET' && res.status < 300) {
              // Only a body of all-optional fields with unknown keys dropped can pass: the route
              // must then accept `{}` too, and it must be one we know of.
              const empty = await send(
                method,
                path,
                { bytes: Buffer.from('{}'), headers: {} },
                authKind,
              )
              expect(empty.status, `${where} (and {} → ${empty.status})`).toBeLessThan(300)
              lenient.add(`${method} ${url}`)
              return
            }
            expect(res.status, where).toBeGreaterThanOrEqual(method === 'GET' ? 200 : 400)
            expect(res.status, where).toBeLessThan(500)
            if (res.status >= 400) {
              expect(res.type, where).toContain('application/json')
              const parsed = JSON.parse(res.text) as {
                error?: { code?: unknown; message?: unknown }
              }
              expect(typeof parsed.error?.code, where).toBe('string')
              expect(typeof parsed.error?.message, where).toBe('string')
            }
          },
        ),
        { numRuns: 40 },
      )
    }
    expect(requests).toBeGreaterThan(1000)
    // Routes whose body is all optional and that ignore unknown keys (a partial update).
    expect([...lenient].filter((r) => !LENIENT.has(r))).toEqual([])
    expect(await rowCounts()).toEqual(before)
  }, 240_000)
})
