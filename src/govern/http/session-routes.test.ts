/**
 * The session cookie's attributes on sign-in and sign-out, over http and https, and what a
 * malformed `Cookie` header gets (a 401, never a 500). access-routes.test.ts covers the rest of
 * signing in (throttle, CSRF header, expiry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

const PASSWORD = 'correct horse battery'
const TTL_SECONDS = 3600

/** The attributes of one `Set-Cookie` value, names lower-cased; `value` is the cookie's own. */
function attributes(setCookie: string | null): {
  name: string
  value: string
  attrs: Map<string, string>
} {
  const [pair = '', ...rest] = (setCookie ?? '').split(';').map((p) => p.trim())
  const eq = pair.indexOf('=')
  const attrs = new Map<string, string>()
  for (const part of rest) {
    const i = part.indexOf('=')
    attrs.set((i === -1 ? part : part.slice(0, i)).toLowerCase(), i === -1 ? '' : part.slice(i + 1))
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs }
}

async function signIn(k: TestKindred, email: string, headers: Record<string, string> = {}) {
  return fetch(`${k.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
}

describe('the session cookie', () => {
  let k: TestKindred
  beforeAll(async () => {
    // Trusts the loopback peer (the test) as a proxy, so X-Forwarded-Proto decides `req.protocol`.
    k = await startTestKindred({ sessionTtlMs: TTL_SECONDS * 1000, trustProxy: 'loopback' })
    const res = await k.admin('/api/v1/users', {
      body: { email: 'cookie@example.com', password: PASSWORD, role: 'viewer' },
    })
    expect(res.status).toBe(201)
  })
  afterAll(() => k.close())

  it('is set on sign-in: the token, HttpOnly, SameSite=Strict, Path=/, Max-Age = the session TTL, not Secure over http', async () => {
    const res = await signIn(k, 'cookie@example.com')
    expect(res.status).toBe(200)
    const { token } = (await res.json()) as { token: string }
    const cookie = attributes(res.headers.get('set-cookie'))
    expect(cookie.name).toBe('kindred_session')
    expect(cookie.value).toBe(token)
    expect(Object.fromEntries(cookie.attrs)).toEqual({
      path: '/',
      httponly: '',
      samesite: 'Strict',
      'max-age': String(TTL_SECONDS),
    })
  })

  it('is Secure when the request came over https (here through a trusted proxy), and only then', async () => {
    const https = await signIn(k, 'cookie@example.com', { 'x-forwarded-proto': 'https' })
    expect(https.status).toBe(200)
    expect(attributes(https.headers.get('set-cookie')).attrs.has('secure')).toBe(true)
    const http = await signIn(k, 'cookie@example.com', { 'x-forwarded-proto': 'http' })
    expect(attributes(http.headers.get('set-cookie')).attrs.has('secure')).toBe(false)
  })

  it('is cleared on sign-out with the attributes it was set with', async () => {
    const { token } = (await (await signIn(k, 'cookie@example.com')).json()) as { token: string }
    const out = await fetch(`${k.url}/api/v1/auth/logout`, {
      method: 'POST',
      headers: { cookie: `kindred_session=${token}`, 'x-kindred-client': 'console' },
    })
    expect(out.status).toBe(200)
    const cookie = attributes(out.headers.get('set-cookie'))
    expect(cookie.name).toBe('kindred_session')
    expect(cookie.value).toBe('')
    expect(cookie.attrs.get('max-age')).toBe('0')
    expect(cookie.attrs.get('path')).toBe('/')
    expect(cookie.attrs.get('samesite')).toBe('Strict')
    expect(cookie.attrs.has('httponly')).toBe(true)
    expect(cookie.attrs.has('secure')).toBe(false)
    const after = await fetch(`${k.url}/api/v1/me`, {
      headers: { cookie: `kindred_session=${token}` },
    })
    expect(after.status).toBe(401)
  })

  it('reads the first kindred_session among other cookies', async () => {
    const { token } = (await (await signIn(k, 'cookie@example.com')).json()) as { token: string }
    const res = await fetch(`${k.url}/api/v1/me`, {
      headers: { cookie: `theme=dark; kindred_session=${token}; kindred_session=kss_stale` },
    })
    expect(res.status).toBe(200)
  })

  it.each([
    'kindred_session',
    'kindred_session=',
    '=;;=; ;',
    'kindred_session=%E0%A4%A',
    'kindred_session="kss_quoted"',
    'kindred_session=kss_\u00ff\u00fe',
    `kindred_session=${'x'.repeat(4000)}`,
    '__proto__=x; constructor=y',
  ])('answers a malformed Cookie header %j with 401, not a 500', async (header) => {
    const res = await fetch(`${k.url}/api/v1/me`, { headers: { cookie: header } })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
  })
})
