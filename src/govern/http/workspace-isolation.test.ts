/**
 * Cross-workspace isolation over every route. Workspace A (`default`) holds one of everything;
 * a key and a user of workspace B then call every `/api/v1/*` route the server registered, with
 * A's ids in the path. A route added later is covered automatically, and this test fails for a
 * route it cannot classify (a path parameter it has no A fixture for): extend the fixtures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

let k: TestKindred
const A: Record<string, string> = {}
let bKey = ''
let bSession = ''

/**
 * Routes that are not about one workspace's data, and why. Every other route must authenticate,
 * refuse a foreign workspace, and find none of A's rows.
 */
const GLOBAL: Record<string, string> = {
  'POST /api/v1/auth/login': 'signs the caller in; answers only about their own account',
  'POST /api/v1/auth/logout': 'ends the caller’s own session',
}

const MARKER = 'alpha-marker'

/** The A id a path parameter takes, by resource (first path segment) or parameter name. */
function fixtureFor(url: string, param: string): string | undefined {
  // The resource is the path up to its first parameter: `sources`, `privacy/requests`…
  const parts = url.split('/')
  const firstParam = parts.findIndex((part) => part.startsWith(':'))
  const resource = parts.slice(3, firstParam === -1 ? undefined : firstParam).join('/')
  const byParam: Record<string, string | undefined> = {
    profileId: A.profile,
    keyId: A.retiredWriteKey,
  }
  if (param !== 'id') return byParam[param]
  const byResource: Record<string, string | undefined> = {
    sources: A.source,
    segments: A.segment,
    insights: A.insight,
    predictions: A.prediction,
    experiments: A.experiment,
    'computed-traits': A.computedTrait,
    destinations: A.destination,
    imports: A.import,
    profiles: A.profile,
    users: A.user,
    'api-keys': A.key,
    'global-keys': A.key,
    workspaces: 'default',
    'privacy/requests': A.privacyRequest,
    'privacy/suppressions': A.suppression,
    'identity/matching/runs': A.matchingRun,
    'identity/review': A.reviewPair,
    'syncs/connections': A.syncConnection,
    'syncs/models': A.syncModel,
    'syncs/runs': A.syncRun,
  }
  return byResource[resource]
}

/** Bodies and queries that point at A's data; `{}` by default. */
function inputsFor(method: string, url: string): { query?: string; body?: unknown } {
  const route = `${method} ${url}`
  const table: Record<string, { query?: string; body?: unknown }> = {
    'GET /api/v1/profiles/lookup': { query: `type=email&value=${encodeURIComponent(A.email!)}` },
    'GET /api/v1/profiles': { query: `q=${encodeURIComponent(A.email!.slice(0, 6))}` },
    'GET /api/v1/audit': { query: `actor=${encodeURIComponent(A.keyActor!)}` },
    'POST /api/v1/imports': { body: { sourceId: A.source, kind: 'events', format: 'jsonl' } },
    'POST /api/v1/imports/preview': {
      body: { sourceId: A.source, kind: 'events', format: 'jsonl', sample: '' },
    },
    'POST /api/v1/api-keys': { body: { name: 'x', scopes: [`write:source:${A.source}`] } },
    'POST /api/v1/segments/preview': {
      body: { definition: { kind: 'trait', trait: 'email', condition: { op: 'exists' } } },
    },
  }
  // Valid bodies for changes of A's rows: a 400 would stop before the workspace check is reached.
  const changes: Record<string, { body: unknown }> = {
    'PATCH /api/v1/sources/:id': { body: { name: 'renamed by B' } },
    'PATCH /api/v1/users/:id': { body: { role: 'viewer' } },
    'POST /api/v1/users/:id/password': { body: { newPassword: 'set by workspace B' } },
    'PUT /api/v1/profiles/:id/consent': { body: { purposes: { marketing: 'denied' } } },
    'POST /api/v1/profiles/:id/split': {
      body: { identifiers: [{ type: 'email', value: A.email }] },
    },
    'PUT /api/v1/segments/:id': {
      body: {
        name: 'by B',
        definition: { kind: 'trait', trait: 'x', condition: { op: 'exists' } },
      },
    },
    'PUT /api/v1/computed-traits/:id': {
      body: {
        name: 'by B',
        definition: {
          aggregate: 'count',
          event: { event: 'X' },
          window: { amount: 1, unit: 'days' },
        },
      },
    },
    'PUT /api/v1/destinations/:id': { body: { name: 'by B' } },
    'PUT /api/v1/insights/:id': { body: { name: 'by B' } },
    'DELETE /api/v1/workspaces/:id': { body: { confirm: 'default' } },
  }
  return table[route] ?? changes[route] ?? { body: {} }
}

async function request(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  // The live feed streams forever when it answers 200: a short timeout turns that into a failure.
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), 5_000)
  try {
    const res = await fetch(`${k.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      signal: controller.signal,
      ...(body === undefined || method === 'GET' || method === 'HEAD'
        ? {}
        : { body: JSON.stringify(body) }),
    })
    return { status: res.status, text: await res.text() }
  } catch (err) {
    return { status: 0, text: `request failed: ${(err as Error).message}` }
  } finally {
    clearTimeout(timer)
  }
}

/** A digest of every row of workspace A in every table that has a workspace_id. */
async function fingerprintOfA(): Promise<Record<string, string>> {
  const db = k.kindred.store.db
  const tables = await db.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
     JOIN information_schema.tables t USING (table_schema, table_name)
     WHERE c.table_schema = 'public' AND c.column_name = 'workspace_id'
       AND t.table_type = 'BASE TABLE' ORDER BY 1`,
  )
  const out: Record<string, string> = {}
  for (const { table_name: table } of tables.rows) {
    // Partitions are covered through their parent.
    if (/^events_/.test(table)) continue
    const r = await db.query<{ d: string }>(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) || ':' || count(*) AS d
       FROM "${table}" t WHERE workspace_id = $1`,
      ['default'],
    )
    out[table] = r.rows[0]?.d ?? ''
  }
  return out
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text()
  if (!res.ok) throw new Error(`${res.status} ${text}`)
  return JSON.parse(text) as T
}

beforeAll(async () => {
  k = await startTestKindred()
  // ---- workspace A: one of everything --------------------------------------------------------
  const source = await k.createSource(`${MARKER} source`)
  A.source = source.id
  A.email = 'alice-alpha@example.com'
  expect(
    (
      await k.track(source.writeKey, '/v1/identify', {
        userId: 'alpha-user-1',
        traits: { email: A.email, name: `${MARKER} Alice` },
      })
    ).status,
  ).toBe(200)
  // A rotation leaves a retiring key, the one row `…/write-keys/:keyId` names.
  const rotated = await json<{ keys: { id: string | null }[] }>(
    await k.admin(`/api/v1/sources/${A.source}/rotate-key`, { body: {} }),
  )
  A.retiredWriteKey = rotated.keys.find((key) => key.id !== null)?.id ?? ''
  const ct = await json<{ id: string }>(
    await k.admin('/api/v1/computed-traits', {
      body: {
        id: 'alpha_orders',
        name: `${MARKER} orders`,
        definition: {
          aggregate: 'count',
          event: { event: 'Order' },
          window: { amount: 30, unit: 'days' },
        },
      },
    }),
  )
  A.computedTrait = ct.id
  const seg = await json<{ id: string }>(
    await k.admin('/api/v1/segments', {
      body: {
        id: 'alpha_segment',
        name: `${MARKER} segment`,
        definition: { kind: 'trait', trait: 'email', condition: { op: 'exists' } },
      },
    }),
  )
  A.segment = seg.id
  const insight = await json<{ id: string }>(
    await k.admin('/api/v1/insights', {
      body: {
        name: `${MARKER} insight`,
        definition: {
          kind: 'trends',
          series: [{ event: 'Order' }],
          interval: 'day',
          range: { kind: 'between', from: '2025-01-06', to: '2025-01-07' },
        },
      },
    }),
  )
  A.insight = insight.id
  const prediction = await json<{ id: string }>(
    await k.admin('/api/v1/predictions', {
      body: {
        name: 'alpha_prediction',
        kind: 'clv',
        purchaseEvent: `${MARKER} Order`,
        horizonPeriods: 52,
        discountRate: 0.1,
      },
    }),
  )
  A.prediction = prediction.id
  const experiment = await json<{ id: string }>(
    await k.admin('/api/v1/experiments', {
      body: {
        key: 'alpha_experiment',
        name: `${MARKER} experiment`,
        arms: [
          { key: 'control', weight: 1 },
          { key: 'b', weight: 1 },
        ],
        metrics: [{ key: 'orders', kind: 'conversion', event: 'Order' }],
      },
    }),
  )
  A.experiment = experiment.id
  const dest = await json<{ id: string }>(
    await k.admin('/api/v1/destinations', {
      body: {
        type: 'builtin.webhook',
        name: `${MARKER} hook`,
        settings: { url: 'http://127.0.0.1:9/hook' },
        actions: { forwardEvents: { events: ['Order'] } },
      },
    }),
  )
  A.destination = dest.id
  const imp = await json<{ id: string }>(
    await k.admin('/api/v1/imports', {
      body: { sourceId: A.source, kind: 'events', format: 'jsonl', fileName: `${MARKER}.jsonl` },
    }),
  )
  A.import = imp.id
  const key = await json<{ id: string }>(
    await k.admin('/api/v1/api-keys', {
      body: { name: `${MARKER} key`, scopes: ['read:profiles'] },
    }),
  )
  A.key = key.id
  const user = await json<{ id: string }>(
    await k.admin('/api/v1/users', {
      body: { email: 'owner-alpha@example.com', password: 'alpha password 1', role: 'owner' },
    }),
  )
  A.user = user.id
  A.keyActor = key.id
  const request = await json<{ id: string }>(
    await k.admin('/api/v1/privacy/requests', {
      body: { type: 'access', identifier: { type: 'email', value: A.email } },
    }),
  )
  A.privacyRequest = request.id
  // Finished before the fingerprint is taken: the worker changing it later is not B's doing.
  let status = ''
  for (let i = 0; i < 300 && status !== 'completed'; i++) {
    const res = await k.admin(`/api/v1/privacy/requests/${request.id}`)
    status = ((await res.json()) as { status: string }).status
    if (status !== 'completed') await new Promise((r) => setTimeout(r, 100))
  }
  expect(status).toBe('completed')
  const suppression = await json<{ id: string }>(
    await k.admin('/api/v1/privacy/suppressions', {
      body: { identifier: { type: 'email', value: 'suppressed-alpha@example.com' } },
    }),
  )
  A.suppression = suppression.id
  // A database sync of A's: a connection to a private address the outbound policy refuses, so its
  // run fails at once, for good (and is over before the fingerprint is taken).
  const connection = await json<{ id: string }>(
    await k.admin('/api/v1/syncs/connections', {
      body: {
        name: `${MARKER} crm`,
        kind: 'postgres',
        host: '10.255.255.1',
        database: 'kindred_isolation_none',
        user: 'nobody',
        password: `${MARKER}-password`,
      },
    }),
  )
  A.syncConnection = connection.id
  const syncModel = await json<{ id: string }>(
    await k.admin('/api/v1/syncs/models', {
      body: {
        definition: {
          name: `${MARKER} contacts`,
          connectionId: connection.id,
          source: { table: 'contacts' },
          key: 'id',
          identifiers: { email: 'email' },
        },
      },
    }),
  )
  A.syncModel = syncModel.id
  const syncRun = await json<{ id: string }>(
    await k.admin(`/api/v1/syncs/models/${syncModel.id}/runs`, { method: 'POST' }),
  )
  A.syncRun = syncRun.id
  let syncStatus = ''
  for (let i = 0; i < 300 && syncStatus !== 'failed'; i++) {
    const res = await k.admin(`/api/v1/syncs/runs/${syncRun.id}`)
    syncStatus = ((await res.json()) as { status: string }).status
    if (syncStatus !== 'failed') await new Promise((r) => setTimeout(r, 100))
  }
  expect(syncStatus).toBe('failed')
  const run = await json<{ data: { id: string } }>(
    await k.admin('/api/v1/identity/matching/runs', { method: 'POST', body: {} }),
  )
  A.matchingRun = run.data.id
  let runStatus = ''
  for (let i = 0; i < 300 && (runStatus === '' || runStatus === 'running'); i++) {
    const res = await k.admin(`/api/v1/identity/matching/runs/${run.data.id}`)
    runStatus = ((await res.json()) as { data: { status: string } }).data.status
    if (runStatus === 'running') await new Promise((r) => setTimeout(r, 100))
  }
  expect(runStatus).toBe('succeeded')
  // A review pair needs two look-alike people; the fixture only needs the row to exist in A.
  A.reviewPair = 'mpair_alphafixture'
  await k.kindred.store.db.query(
    `INSERT INTO matching_pairs (workspace_id, id, profile_a, profile_b, status, probability,
       explanation, created_at) VALUES ('default', $1, 'p_alpha_a', 'p_alpha_b', 'pending', 0.9,
       '{}'::jsonb, now())`,
    [A.reviewPair],
  )
  // The profile, once the processor has run.
  for (let i = 0; i < 150 && !A.profile; i++) {
    const res = await k.admin(`/api/v1/profiles/lookup?type=email&value=${A.email}`)
    if (res.status === 200) A.profile = ((await res.json()) as { id: string }).id
    else await new Promise((r) => setTimeout(r, 100))
  }
  expect(A.profile).toBeTruthy()

  // ---- workspace B: a key and an owner ----------------------------------------------------------
  await json(await k.admin('/api/v1/workspaces', { body: { id: 'ws-b', name: 'B' } }))
  const inB = { 'x-kindred-workspace': 'ws-b' }
  bKey = (
    await json<{ secret: string }>(
      await k.admin('/api/v1/api-keys', {
        body: { name: 'b admin', scopes: ['admin'] },
        headers: inB,
      }),
    )
  ).secret
  await json(
    await k.admin('/api/v1/users', {
      body: { email: 'bob-b@example.com', password: 'bravo password 1', role: 'owner' },
      headers: inB,
    }),
  )
  const login = await fetch(`${k.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bob-b@example.com', password: 'bravo password 1' }),
  })
  bSession = ((await login.json()) as { token: string }).token
}, 180_000)
afterAll(() => k.close())

describe('workspace isolation over every route', () => {
  it('no route of workspace B reads or changes workspace A', async () => {
    const routes = k.kindred.routes
      .filter((r) => r.url.startsWith('/api/v1/') && r.method !== 'HEAD')
      // Reads first: B's own audit log then holds nothing that names A's ids.
      .sort((a, b) => Number(a.method !== 'GET') - Number(b.method !== 'GET'))
    expect(routes.length).toBeGreaterThan(40)
    const markers = [...Object.values(A), MARKER].filter((v) => v.length >= 6)
    const before = await fingerprintOfA()
    const problems: string[] = []

    for (const { method, url } of routes) {
      const route = `${method} ${url}`
      if (GLOBAL[route]) continue
      const params = [...url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as string)
      let path = url
      for (const p of params) {
        const value = fixtureFor(url, p)
        if (!value) {
          problems.push(`${route}: no workspace-A fixture for ":${p}"; add one to fixtureFor`)
          continue
        }
        path = path.replace(`:${p}`, encodeURIComponent(value))
      }
      const { query, body } = inputsFor(method, url)
      const full = query ? `${path}?${query}` : path

      const anonymous = await request(method, full, {}, body)
      if (anonymous.status !== 401)
        problems.push(`${route}: ${anonymous.status} without credentials`)

      for (const [who, token] of [
        ['B key', bKey],
        ['B user', bSession],
      ] as const) {
        const auth = { authorization: `Bearer ${token}` }
        const foreign = await request(
          method,
          full,
          { ...auth, 'x-kindred-workspace': 'default' },
          body,
        )
        if (foreign.status !== 403) {
          problems.push(`${route}: ${who} asking for workspace A got ${foreign.status}`)
        }
        const own = await request(method, full, { ...auth, 'x-kindred-workspace': 'ws-b' }, body)
        if (params.length > 0 && own.status !== 404 && own.status !== 403) {
          problems.push(
            `${route}: ${who} got ${own.status} for A's ${params.join(', ')} (sent ${JSON.stringify(body)}): ${own.text.slice(0, 120)}`,
          )
        }
        if (own.status >= 500 || own.status === 0)
          problems.push(`${route}: ${who} got ${own.status}`)
        // An error that repeats the id B asked for is no leak; anything else of A's is.
        const asked = `${decodeURIComponent(full)} ${JSON.stringify(body)}`
        const leaked = markers.filter((m) => own.text.includes(m) && !asked.includes(m))
        if (leaked.length > 0) problems.push(`${route}: ${who} saw A's ${leaked.join(', ')}`)
      }
    }
    expect(problems).toEqual([])
    expect(await fingerprintOfA()).toEqual(before)
  }, 300_000)

  it('lists only the caller’s workspaces', async () => {
    for (const token of [bKey, bSession]) {
      const res = await request('GET', '/api/v1/workspaces', { authorization: `Bearer ${token}` })
      const ids = (JSON.parse(res.text) as { data: { id: string }[] }).data.map((w) => w.id)
      expect(ids).toEqual(['ws-b'])
    }
  })
})
