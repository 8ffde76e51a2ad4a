/**
 * Admin API of destinations: catalog, instances (secrets encrypted at rest, never returned),
 * delivery log, dead letters and replay. Every route is scoped to the caller's workspace.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import {
  DestinationError,
  REDACTED,
  decryptSettings,
  encryptSettings,
  getDestination,
  listDestinations,
  maskUrl,
  mergeSecretUpdate,
  parseSettings,
  redactSettings,
  settingsJsonSchema,
  type Action,
  type AnyDestination,
} from '../core/index.js'
import { KindredError } from '../../protocol/errors.js'
import { hasScope } from '../../protocol/scopes.js'
import { checkEndpointSettings, type OutboundPolicy } from '../../protocol/outbound-policy.js'
import { actionsSchema, type DestinationActions } from '../core/destination-config.js'
import {
  destinationsRepository,
  enqueueInitialAudienceSync,
  type DestinationRow,
} from '../engine/destinations-repository.js'
import { deliveryJobsRepository } from '../engine/dispatcher/delivery-jobs-repository.js'
import { readDeliveryLog } from '../engine/dispatcher/delivery-log.js'
import { newId } from '../../platform/store/ids.js'
import { loadConsentSettings } from '../../govern/index.js'
import { purposeNameSchema } from '../../govern/core/index.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'

export interface DestinationRoutesDeps {
  secretKey: Uint8Array
  /** Which non-public addresses endpoints may name (the dispatcher checks again at send time). */
  outbound: OutboundPolicy
  /** Config changed for a workspace (processor stage cache). */
  onChange(workspaceId: string): void
  /** New work was enqueued (initial audience sync, replay). */
  wake(): void
}

const READ = 'read:destinations'
const WRITE = 'write:destinations'
const nameSchema = z.string().trim().min(1).max(200)
const rateLimitSchema = z.number().positive().max(100_000).nullable()
/** How long failing deliveries are retried: 5 minutes to 7 days; null takes the default (24 h). */
const retryHoursSchema = z
  .number()
  .min(1 / 12)
  .max(168)
  .nullable()

const createSchema = z.object({
  type: z.string().min(1),
  name: nameSchema,
  settings: z.record(z.string(), z.unknown()).default({}),
  actions: actionsSchema.default({}),
  enabled: z.boolean().default(true),
  rateLimit: rateLimitSchema.optional(),
  retryHours: retryHoursSchema.optional(),
  purpose: purposeNameSchema.nullable().optional(),
})

const updateSchema = z.object({
  type: z.string().optional(),
  name: nameSchema.optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  actions: actionsSchema.optional(),
  enabled: z.boolean().optional(),
  rateLimit: rateLimitSchema.optional(),
  retryHours: retryHoursSchema.optional(),
  purpose: purposeNameSchema.nullable().optional(),
})

/** The bodies of `POST /destinations` and `PUT /destinations/:id`, as a client writes them. */
export type DestinationCreate = z.input<typeof createSchema>
export type DestinationUpdate = z.input<typeof updateSchema>

const replaySchema = z.object({ ids: z.array(z.string().regex(/^\d+$/)).max(10_000).optional() })

const listQuery = z.object({
  cursor: z
    .string()
    .regex(/^\d{1,18}$/, 'pass back nextCursor unchanged')
    .optional(),
  status: z.enum(['success', 'retry', 'failed', 'partial']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
})

const actionKeys: Record<keyof DestinationActions, Action> = {
  forwardEvents: 'forwardEvents',
  upsertProfiles: 'upsertProfiles',
  syncAudience: 'syncAudience',
}

function checkActions(def: AnyDestination, actions: DestinationActions): void {
  for (const [key, action] of Object.entries(actionKeys)) {
    const v = actions[key as keyof DestinationActions]
    if (v === undefined || v === false) continue
    if (!def.manifest.actions.includes(action)) {
      throw new KindredError(
        'VALIDATION_FAILED',
        `${def.manifest.name} does not support ${action}: use one of ${def.manifest.actions.join(', ')}`,
        { details: [{ path: `actions.${key}`, message: 'unsupported action' }] },
      )
    }
  }
}

function validSettings(
  def: AnyDestination,
  settings: Record<string, unknown>,
  policy: OutboundPolicy,
): Record<string, unknown> {
  const parsed = parseSettings(def, settings) as Record<string, unknown>
  // Refused here so an editor learns at once; names are resolved and checked again at send time.
  const issues = checkEndpointSettings(def.manifest.endpointFields, parsed, policy)
  if (issues.length > 0) {
    throw new KindredError(
      'VALIDATION_FAILED',
      issues.map((i) => `settings.${i.path}: ${i.message}`).join('; '),
      { details: issues.map((i) => ({ ...i, path: `settings.${i.path}` })) },
    )
  }
  return parsed
}

/** `mergeSecretUpdate` with its refusal naming the secrets to enter again by their body path. */
function mergeUpdate(
  def: AnyDestination,
  current: Record<string, unknown>,
  incoming: Record<string, unknown>,
): Record<string, unknown> {
  try {
    return mergeSecretUpdate(def.manifest, current, incoming)
  } catch (err) {
    if (err instanceof DestinationError && err.code === 'SECRET_REENTRY_REQUIRED') {
      const details = (err.details as { path: string; code: string; message: string }[]).map(
        (d) => ({ ...d, path: `settings.${d.path}` }),
      )
      throw new DestinationError(err.code, err.message, details)
    }
    throw err
  }
}

/**
 * Error text for callers who may only read: failures whose text comes from the receiver's answer
 * (`HTTP 4xx: <body message>`, per-item vendor messages) are cut to the status, because the
 * receiver may be an internal service. Kindred's own messages (timeouts, refusals) stay.
 */
function viewerError(error: string | null, full: boolean): string | null {
  if (full || error === null) return error
  const [, prefix = '', rest = error] =
    /^(retry budget exhausted after \d+ attempts: )?(.*)$/s.exec(error) ?? [error, '', error]
  const http = /^HTTP (\d{3})\b/.exec(rest)
  if (http) return `${prefix}HTTP ${http[1]} (details need ${WRITE})`
  if (/^[A-Z][A-Z0-9_]+: /.test(rest)) return error
  return `${prefix}(details need ${WRITE})`
}

function typePurpose(type: string): string | null {
  try {
    return getDestination(type).manifest.purpose
  } catch {
    return null
  }
}

const destinationsQuery = z.object({ segment: z.string().min(1).max(200).optional() })

function syncsSegment(actions: DestinationActions, segmentId: string): boolean {
  return actions.syncAudience?.segmentIds.includes(segmentId) ?? false
}

function output(d: DestinationRow, full = true) {
  let settings: Record<string, unknown> = d.settings
  try {
    settings = redactSettings(getDestination(d.type).manifest, d.settings)
  } catch {
    // unknown type: nothing to redact against, hide everything
    settings = Object.fromEntries(Object.keys(d.settings).map((k) => [k, REDACTED]))
  }
  return {
    id: d.id,
    type: d.type,
    name: d.name,
    settings,
    actions: d.actions,
    enabled: d.enabled,
    rateLimit: d.rateLimit,
    /** Hours a failing delivery is retried before it is a dead letter (null: the default, 24). */
    retryHours: d.retryHours,
    /** The consent purpose its deliveries need: its own when it chose one, else its type's. */
    purpose: d.purpose ?? typePurpose(d.type),
    /** Set when the instance chose its purpose (null: its type's). */
    purposeOverride: d.purpose,
    status: d.status,
    consecutiveFailures: d.consecutiveFailures,
    lastError: viewerError(d.lastError, full),
    lastSuccessAt: d.lastSuccessAt,
    lastFailureAt: d.lastFailureAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  }
}

/** A destination as the API shows it (list, create, update, and the detail without `jobs`). */
export type DestinationView = ReturnType<typeof output>

/** A connector of `GET /destinations/catalog`: its manifest without the code, settings as JSON Schema. */
function catalogEntry(d: AnyDestination) {
  return {
    id: d.manifest.id,
    name: d.manifest.name,
    category: d.manifest.category,
    purpose: d.manifest.purpose,
    actions: d.manifest.actions,
    settingsSchema: settingsJsonSchema(d),
    secretFields: d.manifest.secretFields,
    description: d.manifest.description,
    docs: d.manifest.docs,
    maxBatchSize: d.manifest.maxBatchSize,
    rateLimit: d.manifest.rateLimit,
  }
}
export type CatalogEntryView = ReturnType<typeof catalogEntry>

/**
 * One attempt of `GET /destinations/:id/deliveries`. Response bodies and the error text taken
 * from them only for callers who may write (see `viewerError`).
 */
export interface DeliveryView {
  id: string
  at: string | null
  status: string
  attempt: number
  /** The delivery jobs this attempt carried (replay takes their ids). */
  jobIds: string[]
  /** Those of them that gave up since (dead letters: only a replay sends them again). */
  deadJobIds: string[]
  /** Who and what the attempt carried (the first 20 jobs). */
  jobs: Array<{ id: string; kind: string; profileId: string | null; action: string | null }>
  /** The request body as logged (secrets redacted, cut at 2,000 characters); writers only. */
  payload: string | null
  request: { method: string; url: string }
  responseStatus: number | null
  responseExcerpt: string | null
  latencyMs: number | null
  error: string | null
}

function requestSummary(request: Record<string, unknown>): { method: string; url: string } {
  if (request.type === 'sql') return { method: 'SQL', url: String(request.statement ?? '') }
  if (request.type === 'file') return { method: 'FILE', url: String(request.path ?? '') }
  if (request.type === 'stream') {
    const exchange = typeof request.exchange === 'string' ? `${request.exchange}/` : ''
    return {
      method: String(request.protocol ?? 'stream').toUpperCase(),
      url: `${exchange}${String(request.target ?? '')}`,
    }
  }
  // Rows written before query values were masked at logging time are masked here.
  return { method: String(request.method ?? ''), url: maskUrl(String(request.url ?? '')) }
}

export function destinationRoutes(deps: DestinationRoutesDeps): RouteModule {
  return (app: FastifyInstance, ctx: AppContext, auth: Auth) =>
    registerDestinationRoutes(app, ctx, auth, deps)
}

function registerDestinationRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  auth: Auth,
  deps: DestinationRoutesDeps,
): void {
  const { db } = ctx
  /** A purpose a destination may serve: one of the workspace's consent purposes. */
  async function knownPurpose(workspaceId: string, purpose: string | null) {
    if (purpose === null) return null
    const { purposes } = await loadConsentSettings(db, workspaceId)
    if (!purposes.includes(purpose))
      throw new KindredError(
        'VALIDATION_FAILED',
        `purpose "${purpose}" is not one of the workspace's consent purposes (${purposes.join(', ')}): add it under Settings → Consent first`,
        {
          details: [{ path: 'purpose', code: 'unknown_purpose', message: 'not a consent purpose' }],
        },
      )
    return purpose
  }

  async function load(workspaceId: string, id: string): Promise<DestinationRow> {
    const d = await destinationsRepository.get(db, workspaceId, id)
    if (!d) throw notFound(`destination ${id}`)
    return d
  }

  app.get('/api/v1/destinations/catalog', async (req) => {
    await auth.admin(req, READ)
    return { data: listDestinations().map(catalogEntry) }
  })

  /** Whether the caller may see receivers' answers (see `viewerError`). */
  const mayWrite = (principal: { scopes: readonly string[] }) => hasScope(principal.scopes, WRITE)

  app.get('/api/v1/destinations', async (req) => {
    const { workspaceId, principal } = await auth.admin(req, READ)
    const { segment } = parseQuery(destinationsQuery, req.query)
    const full = mayWrite(principal)
    const rows = await destinationsRepository.list(db, workspaceId)
    return {
      data: rows
        // `?segment=` answers the segment page's "which destinations sync this audience".
        .filter((d) => segment === undefined || syncsSegment(d.actions, segment))
        .map((d) => output(d, full)),
    }
  })

  app.post('/api/v1/destinations', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const body = jsonBody(req, createSchema)
    const def = getDestination(body.type)
    checkActions(def, body.actions)
    const settings = validSettings(def, body.settings, deps.outbound)
    const now = ctx.clock()
    // Checked before the transaction: on the embedded store a read outside it would wait for it.
    const purpose =
      body.purpose === undefined ? undefined : await knownPurpose(workspaceId, body.purpose)
    const row = await db.transaction(async (tx) => {
      const d = await destinationsRepository.insert(
        tx,
        {
          workspaceId,
          id: newId('destination'),
          type: def.manifest.id,
          name: body.name,
          settings: encryptSettings(def.manifest, settings, deps.secretKey),
          actions: body.actions,
          enabled: body.enabled,
          rateLimit: body.rateLimit ?? null,
          retryHours: body.retryHours ?? null,
          purpose: purpose ?? null,
        },
        now,
      )
      if (d.enabled && body.actions.syncAudience) {
        await enqueueInitialAudienceSync(tx, d, body.actions.syncAudience.segmentIds, now)
      }
      return d
    })
    deps.onChange(workspaceId)
    deps.wake()
    return reply.code(201).send(output(row))
  })

  app.get<{ Params: { id: string } }>('/api/v1/destinations/:id', async (req) => {
    const { workspaceId, principal } = await auth.admin(req, READ)
    const d = await load(workspaceId, req.params.id)
    const jobs = await deliveryJobsRepository.countByState(db, workspaceId, d.id)
    return { ...output(d, mayWrite(principal)), jobs }
  })

  app.put<{ Params: { id: string } }>('/api/v1/destinations/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const body = jsonBody(req, updateSchema)
    const stored = await load(workspaceId, req.params.id)
    const def = getDestination(stored.type)
    if (body.type !== undefined && body.type !== stored.type) {
      throw new KindredError(
        'VALIDATION_FAILED',
        `a destination's type cannot change (it is ${stored.type}): create a new destination`,
      )
    }
    const actions = body.actions ?? stored.actions
    checkActions(def, actions)
    let settings = stored.settings
    if (body.settings !== undefined) {
      let current: Record<string, unknown>
      try {
        current = decryptSettings(def.manifest, stored.settings, deps.secretKey)
      } catch {
        current = {}
      }
      const merged = mergeUpdate(def, current, body.settings)
      settings = encryptSettings(
        def.manifest,
        validSettings(def, merged, deps.outbound),
        deps.secretKey,
      )
    }
    const now = ctx.clock()
    const enabled = body.enabled ?? stored.enabled
    // Checked before the transaction: on the embedded store a read outside it would wait for it.
    const purpose =
      body.purpose === undefined ? undefined : await knownPurpose(workspaceId, body.purpose)
    const row = await db.transaction(async (tx) => {
      const d = await destinationsRepository.update(
        tx,
        {
          workspaceId,
          id: stored.id,
          name: body.name ?? stored.name,
          settings,
          actions,
          enabled,
          rateLimit: body.rateLimit === undefined ? stored.rateLimit : body.rateLimit,
          retryHours: body.retryHours === undefined ? stored.retryHours : body.retryHours,
          purpose: purpose === undefined ? stored.purpose : purpose,
        },
        now,
      )
      const before = new Set(stored.enabled ? (stored.actions.syncAudience?.segmentIds ?? []) : [])
      const added = (actions.syncAudience?.segmentIds ?? []).filter((s) => !before.has(s))
      if (d && enabled && added.length > 0) await enqueueInitialAudienceSync(tx, d, added, now)
      return d
    })
    if (!row) throw notFound(`destination ${req.params.id}`)
    deps.onChange(workspaceId)
    deps.wake()
    return output(row)
  })

  app.delete<{ Params: { id: string } }>('/api/v1/destinations/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const deleted = await db.transaction((tx) =>
      destinationsRepository.delete(tx, workspaceId, req.params.id),
    )
    if (!deleted) throw notFound(`destination ${req.params.id}`)
    deps.onChange(workspaceId)
    return reply.code(204).send()
  })

  // Response bodies, and error text taken from them, only for callers who configure destinations:
  // a receiver may be an internal service the operator allowed, and viewers need no more than the
  // status to see that deliveries fail.
  app.get<{ Params: { id: string } }>('/api/v1/destinations/:id/deliveries', async (req) => {
    const { workspaceId, principal } = await auth.admin(req, READ)
    const full = mayWrite(principal)
    await load(workspaceId, req.params.id)
    const { cursor, status, limit } = parseQuery(listQuery, req.query)
    const page = await readDeliveryLog(db, workspaceId, req.params.id, {
      before: cursor,
      status,
      limit,
    })
    const jobs = await deliveryJobsRepository.describeJobs(
      db,
      workspaceId,
      req.params.id,
      page.data.flatMap((x) => x.jobIds.slice(0, 1_000)),
    )
    return {
      data: page.data.map((x): DeliveryView => ({
        id: x.id,
        at: x.at,
        status: x.status,
        attempt: x.attempt,
        jobIds: x.jobIds,
        deadJobIds: x.jobIds.filter((id) => jobs.get(id)?.state === 'dead'),
        jobs: x.jobIds.slice(0, 20).flatMap((id) => {
          const j = jobs.get(id)
          return j ? [{ id, kind: j.kind, profileId: j.profileId, action: j.action }] : []
        }),
        payload: full && typeof x.request.body === 'string' ? x.request.body : null,
        request: requestSummary(x.request),
        responseStatus: x.responseStatus,
        responseExcerpt: full ? x.responseExcerpt : null,
        latencyMs: x.latencyMs === null ? null : Math.round(x.latencyMs * 10) / 10,
        error: viewerError(x.error, full),
      })),
      nextCursor: page.next,
    }
  })

  app.get<{ Params: { id: string } }>('/api/v1/destinations/:id/dead-letters', async (req) => {
    const { workspaceId, principal } = await auth.admin(req, READ)
    const full = mayWrite(principal)
    await load(workspaceId, req.params.id)
    const { cursor, limit } = parseQuery(listQuery.omit({ status: true }), req.query)
    const page = await deliveryJobsRepository.deadLetters(db, workspaceId, req.params.id, {
      before: cursor,
      limit,
    })
    return {
      data: page.data.map((x) => ({
        id: x.id,
        kind: x.kind,
        profileId: x.profileId,
        attempts: x.attempts,
        lastError: viewerError(x.lastError, full),
        createdAt: x.createdAt,
        failedAt: x.failedAt,
        input: x.input,
      })),
      nextCursor: page.next,
    }
  })

  app.post<{ Params: { id: string } }>('/api/v1/destinations/:id/replay', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    await load(workspaceId, req.params.id)
    const body = jsonBody(req, replaySchema)
    const replayed = await deliveryJobsRepository.replayDead(
      db,
      workspaceId,
      req.params.id,
      body.ids,
      ctx.clock(),
    )
    deps.wake()
    return { replayed }
  })
}
