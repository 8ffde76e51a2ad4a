import type { FastifyRequest } from 'fastify'
import { KindredError } from '../../protocol/errors.js'
import { hasScope, roleScopes, sourceOfScope, type UserRole } from '../../protocol/scopes.js'
import { idPrefixes } from '../../protocol/ids.js'
import { apiKeysRepository, type ApiKey } from '../store/repositories/api-keys-repository.js'
import { sourcesRepository, type Source } from '../store/repositories/sources-repository.js'
import { sessionsRepository } from '../store/repositories/sessions-repository.js'
import { usersRepository, type User } from '../store/repositories/users-repository.js'
import { DEFAULT_WORKSPACE_ID } from '../store/repositories/workspaces-repository.js'
import { hashSecret } from '../store/ids.js'
import { ttlCache } from '../cache.js'
import type { AppContext } from './context.js'

const CACHE_MS = 30_000
const NEGATIVE_CACHE_MS = 5_000

export const SESSION_COOKIE = 'kindred_session'
/** The header the console sends with cookie-authenticated changes (see `admin()` for why). */
export const CLIENT_HEADER = 'x-kindred-client'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
/** Routes an EventSource opens, which may authenticate with `?token=`. */
const QUERY_TOKEN_ROUTES = new Set(['/api/v1/sources/:id/events/live'])

/** Who is calling: an API key, or a signed-in user with a role in the workspace. */
export interface Principal {
  kind: 'key' | 'user'
  /** Key id or user id. */
  id: string
  /** Key name or user e-mail, for the audit log and the console. */
  label: string
  /** The scopes in effect in the requested workspace. */
  scopes: readonly string[]
  /** The workspace a key is bound to (null = every workspace); a user's current workspace. */
  boundWorkspaceId: string | null
  role?: UserRole
  user?: User
  sessionId?: string
}

export interface AuthResult {
  /** Kept for routes written before users existed: a key-shaped view of the principal. */
  key: ApiKey
  workspaceId: string
  principal: Principal
}

/** The caller of a request, once `auth.admin` has identified it (the audit hook reads it). */
const callers = new WeakMap<FastifyRequest, { principal: Principal; workspaceId: string }>()
export function callerOf(
  req: FastifyRequest,
): { principal: Principal; workspaceId: string } | undefined {
  return callers.get(req)
}

/** Entries per cache (sources, keys, key → source): enough for every live key of a large install. */
const CACHE_MAX = 10_000

/**
 * A bounded TTL cache so the hot path does not hit the store for every request's key. Unknown
 * keys are remembered too, for less time (`NEGATIVE_CACHE_MS`), so a client retrying with a bad
 * key costs no query per request; the value is boxed because the cache holds no `undefined`.
 */
function keyCache<V>(clock: () => number) {
  const cache = ttlCache<string, { value: V | undefined }>({
    max: CACHE_MAX,
    ttlMs: CACHE_MS,
    clock,
  })
  return {
    get: (key: string): { value: V | undefined } | undefined => cache.get(key),
    set(key: string, value: V | undefined) {
      cache.set(key, { value }, { ttl: value === undefined ? NEGATIVE_CACHE_MS : CACHE_MS })
    },
    clear() {
      cache.clear()
    },
  }
}

const isSessionToken = (t: string) => t.startsWith(`${idPrefixes.sessionToken}_`)

export function createAuth(ctx: AppContext) {
  const now = () => ctx.clock().getTime()
  const sources = keyCache<{ source: Source; expiresAt: number | null }>(now)
  const keys = keyCache<ApiKey>(now)
  const keySources = keyCache<Source>(now)

  async function sourceForWriteKey(writeKey: string): Promise<Source | undefined> {
    const hash = hashSecret(writeKey)
    let hit = sources.get(hash)
    if (!hit) {
      const found = await sourcesRepository.findByWriteKeyHash(ctx.db, hash, ctx.clock())
      const value = found && { source: found.source, expiresAt: found.expiresAt?.getTime() ?? null }
      sources.set(hash, value)
      hit = { value }
    }
    // A rotated-away key's overlap may end while it sits in the cache: checked on every use.
    const entry = hit.value
    return entry && (entry.expiresAt === null || entry.expiresAt > now()) ? entry.source : undefined
  }

  async function apiKeyFor(token: string): Promise<ApiKey | undefined> {
    const hash = hashSecret(token)
    const hit = keys.get(hash)
    if (hit) return hit.value
    const found = await apiKeysRepository.findByHash(ctx.db, hash)
    keys.set(hash, found)
    return found
  }

  /**
   * The tracking API takes a source's write key, or an API key holding exactly one
   * `write:source:<id>` scope: that key may send events to that source and nowhere else.
   */
  async function sourceForIngestKey(token: string): Promise<Source | undefined> {
    const bySource = await sourceForWriteKey(token)
    if (bySource) return bySource
    const hash = hashSecret(token)
    const hit = keySources.get(hash)
    if (hit) return hit.value
    const key = await apiKeyFor(token)
    const sourceIds = (key?.scopes ?? []).flatMap((s) => sourceOfScope(s) ?? [])
    const sourceId = sourceIds.length === 1 ? sourceIds[0] : undefined
    const found =
      key?.workspaceId && sourceId
        ? await sourcesRepository.get(ctx.db, key.workspaceId, sourceId)
        : undefined
    keySources.set(hash, found)
    return found
  }

  async function sessionPrincipal(token: string): Promise<Principal | undefined> {
    const session = await sessionsRepository.findLive(ctx.db, hashSecret(token), ctx.clock())
    if (!session) return undefined
    const user = await usersRepository.get(ctx.db, session.userId)
    if (!user) return undefined
    return {
      kind: 'user',
      id: user.id,
      label: user.email,
      scopes: [],
      boundWorkspaceId: null,
      user,
      sessionId: session.id,
    }
  }

  /** The bearer token, session cookie or (live feed only) `?token=`, and where it came from. */
  function credentials(req: FastifyRequest): { token: string; via: 'bearer' | 'cookie' | 'query' } {
    const header = req.headers.authorization
    if (typeof header === 'string' && header.startsWith('Bearer ')) {
      return { token: header.slice(7).trim(), via: 'bearer' }
    }
    // Parsed by @fastify/cookie (registered in app.ts); an empty value counts as no cookie.
    const cookie = req.cookies[SESSION_COOKIE]
    if (cookie) return { token: cookie, via: 'cookie' }
    // EventSource cannot set headers, so the live feed takes `?token=`; only there, because a
    // token in a URL ends up in proxy logs and browser histories.
    const query = req.query as Record<string, unknown> | undefined
    if (
      typeof query?.token === 'string' &&
      SAFE_METHODS.has(req.method) &&
      QUERY_TOKEN_ROUTES.has(req.routeOptions.url ?? '')
    ) {
      return { token: query.token, via: 'query' }
    }
    throw new KindredError(
      'UNAUTHORIZED',
      'missing credentials: send "Authorization: Bearer <token>" (an API key or a session token from POST /api/v1/auth/login)',
    )
  }

  /** Identifies the caller (without any scope or workspace check). */
  async function identify(req: FastifyRequest): Promise<Principal> {
    const { token, via } = credentials(req)
    if (via === 'cookie' || isSessionToken(token)) {
      // CSRF: a browser attaches the cookie to any request to this origin, including a form
      // posted from another site. SameSite=Strict already stops that in current browsers; as a
      // second line, a cookie is only accepted for a change when the request carries a custom
      // header, which a cross-site form cannot send and cross-site fetch cannot send without a
      // CORS preflight that this API never grants. Bearer tokens are not sent automatically, so
      // they need no such check.
      if (via === 'cookie' && !SAFE_METHODS.has(req.method) && !req.headers[CLIENT_HEADER]) {
        throw new KindredError(
          'FORBIDDEN',
          `a session cookie needs the "${CLIENT_HEADER}" header for changes (or use "Authorization: Bearer <session token>")`,
        )
      }
      const principal = await sessionPrincipal(token)
      if (!principal) {
        throw new KindredError('UNAUTHORIZED', 'session expired or signed out: sign in again')
      }
      return principal
    }
    const key = await apiKeyFor(token)
    if (!key) throw new KindredError('UNAUTHORIZED', 'invalid or revoked token')
    return {
      kind: 'key',
      id: key.id,
      label: key.name,
      scopes: key.scopes,
      boundWorkspaceId: key.workspaceId,
    }
  }

  function requestedWorkspace(req: FastifyRequest): string | undefined {
    const wsHeader = req.headers['x-kindred-workspace']
    const query = req.query as Record<string, unknown> | undefined
    return (
      (typeof wsHeader === 'string' && wsHeader) ||
      (typeof query?.workspace === 'string' && query.workspace) ||
      undefined
    )
  }

  /**
   * Admin API: authenticates the caller, picks the workspace (`X-Kindred-Workspace` /
   * `?workspace=`; default: the key's workspace, a user's first, or `default`) and checks that the
   * caller holds `scope` there. `scope = null` only requires a valid caller who may use the
   * workspace (`/me`). Routes must then only read and change rows of the returned `workspaceId`.
   */
  async function admin(req: FastifyRequest, scope: string | null = 'admin'): Promise<AuthResult> {
    const identified = await identify(req)
    const requested = requestedWorkspace(req)
    let principal: Principal
    let workspaceId: string
    if (identified.kind === 'key') {
      workspaceId = requested ?? identified.boundWorkspaceId ?? DEFAULT_WORKSPACE_ID
      if (identified.boundWorkspaceId !== null && identified.boundWorkspaceId !== workspaceId) {
        throw new KindredError('FORBIDDEN', 'this key belongs to another workspace')
      }
      principal = identified
    } else {
      const memberships = await usersRepository.memberships(ctx.db, identified.id)
      const fallback =
        memberships.find((m) => m.workspaceId === DEFAULT_WORKSPACE_ID) ?? memberships[0]
      workspaceId = requested ?? fallback?.workspaceId ?? DEFAULT_WORKSPACE_ID
      const membership = memberships.find((m) => m.workspaceId === workspaceId)
      if (!membership) {
        throw new KindredError('FORBIDDEN', `you are not a member of workspace "${workspaceId}"`)
      }
      principal = {
        ...identified,
        role: membership.role,
        scopes: roleScopes[membership.role],
        boundWorkspaceId: workspaceId,
      }
    }
    // Recorded before the scope check, so refused attempts are audited too.
    callers.set(req, { principal, workspaceId })
    if (scope !== null && !hasScope(principal.scopes, scope)) {
      throw new KindredError(
        'FORBIDDEN',
        principal.role
          ? `your role "${principal.role}" does not allow this (needs "${scope}")`
          : `this key lacks the "${scope}" scope`,
      )
    }
    const key: ApiKey = {
      id: principal.id,
      workspaceId: principal.boundWorkspaceId,
      name: principal.label,
      keyPrefix: '',
      scopes: [...principal.scopes],
      createdAt: '',
      createdBy: null,
      revokedAt: null,
      origin: null,
    }
    return { key, workspaceId, principal }
  }

  return {
    sourceForWriteKey,
    sourceForIngestKey,
    identify,
    admin,
    /** Source or key changes must be seen at once on this node. */
    invalidate() {
      sources.clear()
      keys.clear()
      keySources.clear()
    },
  }
}

export type Auth = ReturnType<typeof createAuth>

/** The write key from HTTP Basic (`writeKey:`), as Segment's SDKs send it. */
export function writeKeyFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined
  const [scheme, value] = header.split(' ', 2)
  if (!value || scheme?.toLowerCase() !== 'basic') return undefined
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  const user = i === -1 ? decoded : decoded.slice(0, i)
  return user || undefined
}
