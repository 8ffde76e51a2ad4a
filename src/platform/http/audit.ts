/**
 * The audit log, as the HTTP layer writes it. Every mutating `/api/v1/*` request of an identified
 * caller gets one row from a generic `onSend` hook (who, workspace, action, target, status);
 * routes add what only they know (the row before the change) with `annotateAudit`, or write their
 * own row inside their own transaction with `writeAudit`, which also stops the hook from writing
 * a second one.
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Queryable } from '../store/db.js'
import { auditRepository, type AuditRecord } from '../store/repositories/audit-repository.js'
import { callerOf } from './auth.js'
import type { AppContext } from './context.js'

export interface AuditDetails {
  /** e.g. `source.create`; derived from the route when omitted. */
  action?: string
  target?: { type: string; id: string }
  before?: unknown
  after?: unknown
}

export interface AuditWrite extends AuditDetails {
  action: string
  /** Defaults to the caller's workspace. */
  workspaceId?: string | null
  outcome?: AuditRecord['outcome']
  status?: number
  /** Defaults to the caller `auth.admin` identified on `req`. */
  actor?: { kind: AuditRecord['actorKind']; id: string | null; label: string | null }
}

const details = new WeakMap<FastifyRequest, AuditDetails>()
const written = new WeakSet<FastifyRequest>()

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
/** Responses of these routes are personal data: the hook never copies them into the log. */
const PERSONAL_DATA = /^\/api\/v1\/(profiles|privacy)(\/|$)/
const MAX_CAPTURED_BYTES = 32_768
const SECRET_FIELD = /(secret|password|passwd|token|key$|keyhash|authorization|credential)/i

/** A copy of `value` with every secret-looking field replaced (keys, tokens, passwords). */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20) return '[truncated]'
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SECRET_FIELD.test(k) && v !== null && typeof v !== 'boolean'
          ? '[redacted]'
          : redactSecrets(v, depth + 1)
    }
    return out
  }
  return value
}

/** Attach what the generic hook cannot know (the row before a change, a precise action). */
export function annotateAudit(req: FastifyRequest, more: AuditDetails): void {
  details.set(req, { ...details.get(req), ...more })
}

/**
 * Writes one audit row with `db`, which may be the caller's own transaction: the entry then
 * commits or rolls back with the change it records. Secrets in `before`/`after` are redacted.
 * The request's generic row is then skipped.
 */
export async function writeAudit(
  db: Queryable,
  req: FastifyRequest | undefined,
  entry: AuditWrite,
  clock: () => Date = () => new Date(),
): Promise<void> {
  const caller = req ? callerOf(req) : undefined
  const actor =
    entry.actor ??
    (caller
      ? {
          kind: caller.principal.kind,
          id: caller.principal.id,
          label: caller.principal.label,
        }
      : { kind: 'system' as const, id: null, label: null })
  await auditRepository.append(db, {
    workspaceId:
      entry.workspaceId === undefined ? (caller?.workspaceId ?? null) : entry.workspaceId,
    at: clock(),
    actorKind: actor.kind,
    actorId: actor.id,
    actorLabel: actor.label,
    action: entry.action,
    targetType: entry.target?.type ?? null,
    targetId: entry.target?.id ?? null,
    outcome: entry.outcome ?? 'success',
    status: entry.status ?? null,
    before: entry.before === undefined ? undefined : redactSecrets(entry.before),
    after: entry.after === undefined ? undefined : redactSecrets(entry.after),
    requestId: req ? String(req.id) : null,
    ip: req?.ip ?? null,
    method: req?.method ?? null,
    path: req ? req.url.split('?')[0]!.slice(0, 500) : null,
  })
  if (req) written.add(req)
}

const singular = (s: string) =>
  s.endsWith('ies')
    ? `${s.slice(0, -3)}y`
    : s.endsWith('s') && !s.endsWith('ss')
      ? s.slice(0, -1)
      : s
const VERBS: Record<string, string> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'update',
  DELETE: 'delete',
}

/**
 * `POST /api/v1/sources` → `source.create`, `PATCH /api/v1/sources/:id` → `source.update`,
 * `POST /api/v1/destinations/:id/replay` → `destination.replay`, `PUT /api/v1/identity/rules`
 * → `identity.rule.update`; the target is the first path parameter, typed by the first segment.
 */
export function actionOfRoute(
  method: string,
  routeUrl: string,
  params: Record<string, string>,
): { action: string; target?: { type: string; id: string } } {
  const parts = routeUrl
    .replace(/^\/api\/v1\//, '')
    .split('/')
    .filter(Boolean)
  const literals = parts.filter((p) => !p.startsWith(':')).map(singular)
  const last = parts[parts.length - 1] ?? ''
  const action =
    method === 'POST' && !last.startsWith(':') && literals.length >= 2
      ? literals.join('.')
      : `${literals.join('.')}.${VERBS[method] ?? method.toLowerCase()}`
  const param = parts.find((p) => p.startsWith(':'))
  const id = param ? params[param.slice(1)] : undefined
  return id !== undefined && literals[0]
    ? { action, target: { type: literals[0], id: id.slice(0, 200) } }
    : { action }
}

export function registerAuditHook(app: FastifyInstance, ctx: AppContext): void {
  app.addHook('onSend', async (req, reply, payload) => {
    if (!MUTATING.has(req.method) || written.has(req)) return payload
    const routeUrl = req.routeOptions.url
    if (!routeUrl?.startsWith('/api/v1/')) return payload
    // Unidentified callers (no or a wrong token) are not recorded: anyone could fill the log.
    const caller = callerOf(req)
    if (!caller) return payload
    const status = reply.statusCode
    const more = details.get(req) ?? {}
    const derived = actionOfRoute(
      req.method,
      routeUrl,
      (req.params ?? {}) as Record<string, string>,
    )
    let after = more.after
    if (
      after === undefined &&
      status < 300 &&
      typeof payload === 'string' &&
      payload.length <= MAX_CAPTURED_BYTES &&
      !PERSONAL_DATA.test(routeUrl)
    ) {
      try {
        after = JSON.parse(payload)
      } catch {
        after = undefined
      }
    }
    // A create has no id in its path: the new row's id is in the answer.
    const createdId = (after as { id?: unknown } | undefined)?.id
    const target =
      more.target ??
      derived.target ??
      (typeof createdId === 'string' && derived.action.endsWith('.create')
        ? { type: derived.action.split('.')[0] as string, id: createdId }
        : undefined)
    try {
      await writeAudit(
        ctx.db,
        req,
        {
          action: more.action ?? derived.action,
          ...(target ? { target } : {}),
          before: more.before,
          after,
          status,
          outcome:
            status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failure',
        },
        ctx.clock,
      )
    } catch (err) {
      req.log.error({ err }, 'audit log write failed')
    }
    return payload
  })
}
