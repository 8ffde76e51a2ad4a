import type { FastifyRequest } from 'fastify'
import { KindredError } from '../protocol/errors.js'
import { apiKeysRepository, type ApiKey } from '../store/repositories/api-keys-repository.js'
import { sourcesRepository, type Source } from '../store/repositories/sources-repository.js'
import { DEFAULT_WORKSPACE_ID } from '../store/repositories/workspaces-repository.js'
import { hashSecret } from '../store/ids.js'
import type { AppContext } from './context.js'

const CACHE_MS = 30_000
const NEGATIVE_CACHE_MS = 5_000

/** Small TTL cache so the hot path does not hit the store for every request's key. */
function ttlCache<V>(clock: () => number) {
  const map = new Map<string, { value: V | undefined; until: number }>()
  return {
    get(key: string): { value: V | undefined } | undefined {
      const hit = map.get(key)
      if (!hit) return undefined
      if (hit.until < clock()) {
        map.delete(key)
        return undefined
      }
      return { value: hit.value }
    },
    set(key: string, value: V | undefined) {
      if (map.size > 10_000) map.clear()
      map.set(key, { value, until: clock() + (value === undefined ? NEGATIVE_CACHE_MS : CACHE_MS) })
    },
    clear() {
      map.clear()
    },
  }
}

export function createAuth(ctx: AppContext) {
  const now = () => ctx.clock().getTime()
  const sources = ttlCache<Source>(now)
  const keys = ttlCache<ApiKey>(now)

  async function sourceForWriteKey(writeKey: string): Promise<Source | undefined> {
    const hash = hashSecret(writeKey)
    const hit = sources.get(hash)
    if (hit) return hit.value
    const found = await sourcesRepository.findByWriteKeyHash(ctx.db, hash)
    sources.set(hash, found)
    return found
  }

  async function apiKeyFor(token: string): Promise<ApiKey | undefined> {
    const hash = hashSecret(token)
    const hit = keys.get(hash)
    if (hit) return hit.value
    const found = await apiKeysRepository.findByHash(ctx.db, hash)
    keys.set(hash, found)
    return found
  }

  return {
    sourceForWriteKey,
    /** Source or key changes must be seen at once on this node. */
    invalidate() {
      sources.clear()
      keys.clear()
    },
    /**
     * Admin API: `Authorization: Bearer <token>`, or `?token=` for EventSource (which cannot set
     * headers). The workspace comes from `X-Kindred-Workspace` / `?workspace=`, default `default`.
     */
    async admin(
      req: FastifyRequest,
      scope = 'admin',
    ): Promise<{ key: ApiKey; workspaceId: string }> {
      const header = req.headers.authorization
      const query = req.query as Record<string, unknown> | undefined
      let token: string | undefined
      if (typeof header === 'string' && header.startsWith('Bearer ')) token = header.slice(7).trim()
      else if (typeof query?.token === 'string') token = query.token
      if (!token) {
        throw new KindredError(
          'UNAUTHORIZED',
          'missing admin token: send "Authorization: Bearer <token>"',
        )
      }
      const key = await apiKeyFor(token)
      if (!key) throw new KindredError('UNAUTHORIZED', 'invalid or revoked token')
      if (!key.scopes.includes('admin') && !key.scopes.includes(scope)) {
        throw new KindredError('FORBIDDEN', `this key lacks the "${scope}" scope`)
      }
      const wsHeader = req.headers['x-kindred-workspace']
      const requested =
        (typeof wsHeader === 'string' && wsHeader) ||
        (typeof query?.workspace === 'string' && query.workspace) ||
        key.workspaceId ||
        DEFAULT_WORKSPACE_ID
      if (key.workspaceId !== null && key.workspaceId !== requested) {
        throw new KindredError('FORBIDDEN', 'this key belongs to another workspace')
      }
      return { key, workspaceId: requested }
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
