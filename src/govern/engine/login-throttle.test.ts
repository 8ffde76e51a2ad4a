/**
 * Sign-in throttling across nodes: two Kindred HTTP nodes share one database and must count every
 * failed password check once, whichever node saw it. On Postgres (KINDRED_TEST_DATABASE_URL) the
 * nodes are two full Kindred instances on one database; on PGlite, which one process owns, the
 * second node is a second HTTP app (its own memory and in-process rate limiter) on the first
 * one's store. Refills are an hour per attempt here, so no assertion depends on timing.
 */
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMetrics } from '../../platform/metrics/metrics.js'
import { hashSecret, newId } from '../../platform/store/ids.js'
import { createTestDatabase } from '../../testing/databases.js'
import { createApp } from '../../platform/http/app.js'
import { accessRoutes } from '../http/access.js'
import type { AppContext } from '../../platform/http/context.js'
import { createLiveFeed } from '../../platform/http/live-feed.js'
import { createLoginThrottle, type LoginLimits } from './login-throttle.js'
import type { KindredError } from '../../protocol/errors.js'
import { createRateLimiter } from '../../platform/http/rate-limiter.js'
import { startTestKindred, testStores, type TestKindred } from '../../testing/test-server.js'

const HOUR = 3_600_000
const limits: LoginLimits = {
  perIp: { burst: 8, everyMs: HOUR },
  perAccount: { burst: 3, everyMs: HOUR },
  // Out of the way here; its own tests are below.
  perEmail: { burst: 1_000, everyMs: HOUR },
}
const PASSWORD = 'throttled but right'

interface Node {
  url: string
}

describe.each(testStores())('sign-in throttle shared by two nodes on %s', (store) => {
  let a: TestKindred
  let b: Node
  const cleanup: Array<() => Promise<void>> = []
  let dropDatabase: (() => Promise<void>) | undefined

  beforeAll(async () => {
    if (store === 'postgres') {
      const database = await createTestDatabase(process.env.KINDRED_TEST_DATABASE_URL as string)
      // Dropped last, once both nodes have closed their connections to it.
      dropDatabase = () => database.drop()
      a = await startTestKindred({
        databaseUrl: database.url,
        loginLimits: limits,
        trustProxy: 'loopback',
      })
      const other = await startTestKindred({
        databaseUrl: database.url,
        role: 'ingest',
        loginLimits: limits,
        trustProxy: 'loopback',
      })
      cleanup.unshift(() => other.close())
      b = other
    } else {
      a = await startTestKindred({ loginLimits: limits, trustProxy: 'loopback' })
      const ctx: AppContext = {
        db: a.kindred.store.db,
        eventLog: a.kindred.eventLog,
        metrics: createMetrics(),
        liveFeed: createLiveFeed(),
        rateLimiter: createRateLimiter(() => Date.now()),
        logger: pino({ level: 'silent' }),
        clock: () => new Date(),
        newId: (kind) => newId(kind),
        config: {
          defaultRateLimit: { eventsPerSecond: 10, burst: 10 },
          consoleDir: '/nonexistent',
          loginLimits: limits,
          trustProxy: 'loopback',
        },
      }
      const app = await createApp(ctx, accessRoutes())
      b = { url: await app.fastify.listen({ port: 0, host: '127.0.0.1' }) }
      cleanup.unshift(() => app.fastify.close())
    }
    cleanup.push(() => a.close())
    if (dropDatabase) cleanup.push(dropDatabase)
    for (const email of ['ada@example.com', 'bob@example.com', 'cy@example.com']) {
      const res = await a.admin('/api/v1/users', {
        body: { email, password: PASSWORD, role: 'viewer' },
      })
      expect(res.status).toBe(201)
    }
  }, 120_000)

  afterAll(async () => {
    for (const step of cleanup) await step()
  })

  // Each test signs in from its own address (the server trusts X-Forwarded-For from loopback, as
  // behind a load balancer on this host), so the per-IP buckets of the tests do not mix.
  async function login(node: Node, ip: string, email: string, password: string) {
    const res = await fetch(`${node.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify({ email, password }),
    })
    return { status: res.status, headers: res.headers, body: (await res.json()) as unknown }
  }

  it('counts failures for one e-mail on both nodes together', async () => {
    const ip = '198.51.100.1'
    const statuses = []
    for (const node of [a, b, a, b]) {
      statuses.push((await login(node, ip, 'ada@example.com', 'wrong password')).status)
    }
    // 3 failures in all, not 3 per node.
    expect(statuses).toEqual([401, 401, 401, 429])
    const refused = await login(a, ip, 'ada@example.com', PASSWORD)
    expect(refused.status).toBe(429)
    expect(refused.body).toMatchObject({ error: { code: 'RATE_LIMITED' } })
    // The next attempt comes back in one refill step (an hour here).
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(HOUR / 1000 - 60)
    expect(retryAfter).toBeLessThanOrEqual(HOUR / 1000)
    expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now())
    // Another address is not blocked for that account.
    expect((await login(b, '198.51.100.2', 'ada@example.com', PASSWORD)).status).toBe(200)
  })

  it('counts failures per IP on both nodes; a success neither counts nor resets them', async () => {
    const ip = '198.51.100.3'
    // 7 failures, one e-mail each (below the per-account limit), on alternating nodes.
    for (let i = 0; i < 7; i++) {
      const r = await login(i % 2 ? b : a, ip, `nobody-${i}@example.com`, 'wrong password')
      expect(r.status).toBe(401)
    }
    // A success takes the 8th attempt and gives it back.
    expect((await login(b, ip, 'bob@example.com', PASSWORD)).status).toBe(200)
    // So the 8th failure is still allowed (the success did not count)…
    expect((await login(a, ip, 'nobody-7@example.com', 'wrong password')).status).toBe(401)
    // …and the 9th is refused (the success did not wipe the earlier failures).
    const ninth = await login(b, ip, 'nobody-8@example.com', 'wrong password')
    expect(ninth.status).toBe(429)
    expect(Number(ninth.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await login(a, ip, 'bob@example.com', PASSWORD)).status).toBe(429)
  })

  it('a wrong current password in a password change counts as a failed sign-in', async () => {
    const ip = '198.51.100.4'
    const signedIn = await login(a, ip, 'cy@example.com', PASSWORD)
    expect(signedIn.status).toBe(200)
    const token = (signedIn.body as { token: string }).token
    const change = (node: Node) =>
      fetch(`${node.url}/api/v1/me/password`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'x-forwarded-for': ip,
        },
        body: JSON.stringify({ currentPassword: 'a guess', newPassword: 'the new password' }),
      })
    const statuses = []
    for (const node of [a, b, a, b]) statuses.push((await change(node)).status)
    expect(statuses).toEqual([403, 403, 403, 429])
    // Sign-in from that address is throttled too: the guesses and the sign-ins share a bucket.
    expect((await login(b, ip, 'cy@example.com', PASSWORD)).status).toBe(429)
  })

  it('lets exactly `burst` of many concurrent guesses through', async () => {
    const ip = '198.51.100.5'
    const guesses = Array.from({ length: 10 }, (_, i) =>
      login(i % 2 ? b : a, ip, 'ada@example.com', `guess ${i}`),
    )
    const statuses = (await Promise.all(guesses)).map((r) => r.status).sort()
    expect(statuses).toEqual([401, 401, 401, ...Array(7).fill(429)])
  })

  it('stores hashed keys only and sweeps buckets that are full again', async () => {
    const db = a.kindred.store.db
    const rows = await db.query<{ key: string }>('SELECT key FROM login_attempts')
    expect(rows.rows.length).toBeGreaterThan(0)
    const text = JSON.stringify(rows.rows)
    expect(text).not.toContain('@example.com')
    expect(text).not.toContain('198.51.100')
    expect(rows.rows.map((r) => r.key)).toContain(hashSecret('login-ip:198.51.100.1'))
    const stale = hashSecret('login-ip:203.0.113.9')
    await db.query(
      `INSERT INTO login_attempts (key, full_at) VALUES ($1, now() - interval '1 minute')`,
      [stale],
    )
    await login(b, '198.51.100.6', 'bob@example.com', 'wrong password')
    const left = await db.query('SELECT 1 FROM login_attempts WHERE key = $1', [stale])
    expect(left.rows).toEqual([])
  })
})

describe('client address behind proxies (trustProxy)', () => {
  const limits: LoginLimits = {
    perIp: { burst: 2, everyMs: HOUR },
    perAccount: { burst: 50, everyMs: 1 },
    perEmail: { burst: 50, everyMs: 1 },
  }
  const attempts = async (url: string) => {
    const statuses: number[] = []
    // A new claimed address on every attempt: only a trusted peer's claim may count.
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      const res = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ email: `${ip}@example.com`, password: 'not the password' }),
      })
      statuses.push(res.status)
    }
    return statuses
  }

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const k = await startTestKindred({ loginLimits: limits, trustProxy: '10.20.30.40' })
    try {
      expect(await attempts(k.url)).toEqual([401, 401, 429])
    } finally {
      await k.close()
    }
  })

  it('trusts no proxy by default, not even one on this host', async () => {
    const k = await startTestKindred({ loginLimits: limits })
    try {
      expect(await attempts(k.url)).toEqual([401, 401, 429])
    } finally {
      await k.close()
    }
  })

  it('takes the client address from the proxies it is told to trust', async () => {
    const k = await startTestKindred({ loginLimits: limits, trustProxy: 'loopback' })
    try {
      expect(await attempts(k.url)).toEqual([401, 401, 401])
    } finally {
      await k.close()
    }
  })
})

describe('per e-mail bucket, whatever the address', () => {
  const PASSWORD = 'the right password'
  const limits: LoginLimits = {
    perIp: { burst: 1_000, everyMs: HOUR },
    perAccount: { burst: 1_000, everyMs: HOUR },
    perEmail: { burst: 5, everyMs: HOUR, backoffMaxMs: 4 * HOUR },
  }

  it('gives rotating X-Forwarded-For addresses no more than its allowance of guesses', async () => {
    // The worst case: a proxy that is trusted relays whatever address the client claims.
    const k = await startTestKindred({ loginLimits: limits, trustProxy: 'loopback' })
    try {
      const created = await k.admin('/api/v1/users', {
        body: { email: 'target@example.com', password: PASSWORD, role: 'viewer' },
      })
      expect(created.status).toBe(201)
      const login = (n: number, email: string, password: string) =>
        fetch(`${k.url}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${n}` },
          body: JSON.stringify({ email, password }),
        })
      const statuses: number[] = []
      for (let n = 1; n <= 12; n++) {
        // Spellings of one address share the bucket.
        const email = n % 2 ? 'target@example.com' : ' Target@Example.COM '
        statuses.push((await login(n, email, `guess ${n}`)).status)
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, ...Array(7).fill(429)])
      const right = await login(200, 'target@example.com', PASSWORD)
      expect(right.status).toBe(429)
      expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(HOUR / 1000 - 60)
      // Another account is not held by it.
      const other = await login(201, 'someone-else@example.com', 'a guess')
      expect(other.status).toBe(401)
    } finally {
      await k.close()
    }
  })

  it('backs off: each attempt after the bucket emptied waits twice as long, up to the cap', async () => {
    const k = await startTestKindred()
    try {
      let now = new Date('2026-12-01T00:00:00Z').getTime()
      const step = 60_000
      const throttle = createLoginThrottle(k.kindred.store.db, () => new Date(now), {
        perIp: { burst: 1_000, everyMs: 1 },
        perAccount: { burst: 1_000, everyMs: 1 },
        perEmail: { burst: 3, everyMs: step, backoffMaxMs: 8 * step },
      })
      const retryAfter = async (): Promise<number> => {
        try {
          await throttle.begin(`192.0.2.${now % 250}`, 'backoff@example.com')
          return 0
        } catch (err) {
          return Number((err as KindredError).headers['Retry-After'])
        }
      }
      for (let i = 0; i < 3; i++) expect(await retryAfter()).toBe(0)
      const waits: number[] = []
      for (let i = 0; i < 5; i++) {
        const wait = await retryAfter()
        waits.push(wait)
        now += wait * 1000
        expect(await retryAfter()).toBe(0)
      }
      expect(waits).toEqual([60, 120, 240, 480, 480])
    } finally {
      await k.close()
    }
  })
})
