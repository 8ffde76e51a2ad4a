/**
 * Privacy requests and suppressions: `/api/v1/privacy/requests` (access,
 * deletion, suppression; run in the background by the privacy worker) and
 * `/api/v1/privacy/suppressions`. Every route is scoped to the caller's workspace; no response
 * carries an identifier in clear (type and mask only), except the access export itself.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import {
  createPrivacyRequestSchema,
  privacyRequestStatuses,
  privacyRequestTypes,
  rawIdentifierSchema,
} from '../core/privacy/privacy-request.js'
import { accessExport } from '../engine/privacy/access-export.js'
import {
  addSuppressions,
  deleteSuppression,
  getRequest,
  getSuppression,
  insertRequest,
  listRequests,
  listSuppressions,
  normaliseRequestIdentifier,
  requestOutput,
  type KeysetAfter,
  type SuppressionRow,
} from '../engine/privacy/requests.js'
import { recordLifecycle } from '../engine/privacy/privacy-worker.js'
import type { SuppressionMatcher } from '../engine/privacy/suppression-cache.js'
import type { SuppressionKey } from '../core/privacy/suppression.js'
import { newId } from '../../platform/store/ids.js'
import type { RouteModule } from '../../platform/http/app.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'

export interface PrivacyRoutesDeps {
  matcher: SuppressionMatcher
  /** Keys the identifier hashes of requests and suppressions. */
  suppressionKey: SuppressionKey
  /** A request was created: run it now rather than at the next poll. */
  wake(): void
}

const cursorSchema = z
  .string()
  .max(200)
  .regex(
    /^\d{4}-\d{2}-\d{2}T[0-9:.]+Z\|[a-z]+_[A-Za-z0-9_-]{6,64}$/,
    'pass back nextCursor unchanged',
  )

const listQuery = z.object({
  status: z.enum(privacyRequestStatuses).optional(),
  type: z.enum(privacyRequestTypes).optional(),
  cursor: cursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

const suppressionQuery = z.object({
  cursor: cursorSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
})

const idParam = z.object({ id: z.string().regex(/^[a-z]+_[A-Za-z0-9_-]{6,64}$/, 'an id') })

const suppressionBody = z.object({ identifier: rawIdentifierSchema })

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString())

function suppressionOutput(r: SuppressionRow) {
  return {
    id: r.id,
    identifier: { type: r.identifier_type, masked: r.identifier_mask },
    reason: r.reason,
    requestId: r.request_id,
    droppedCount: Number(r.dropped_count),
    lastDroppedAt: iso(r.last_dropped_at),
    createdAt: iso(r.created_at),
    expiresAt: iso(r.expires_at),
  }
}

/** A cursor is `<createdAt>|<id>` of the last row of the page before (checked by cursorSchema). */
function splitCursor(cursor: string | undefined): KeysetAfter | undefined {
  if (cursor === undefined) return undefined
  const [createdAt = '', id = ''] = cursor.split('|')
  return { createdAt, id }
}

function nextCursor(
  rows: ReadonlyArray<{ created_at: Date | string; id: string }>,
  hasMore: boolean,
) {
  const last = rows[rows.length - 1]
  return hasMore && last ? `${iso(last.created_at)}|${last.id}` : null
}

export function privacyRoutes(deps: PrivacyRoutesDeps): RouteModule {
  return (app: FastifyInstance, ctx, auth) => {
    app.post('/api/v1/privacy/requests', async (req, reply) => {
      const { key, workspaceId } = await auth.admin(req, 'write:privacy')
      const body = jsonBody(req, createPrivacyRequestSchema)
      const identifier =
        body.profileId !== undefined
          ? { type: 'profile_id', value: body.profileId }
          : normaliseRequestIdentifier(
              body.identifier as z.infer<typeof rawIdentifierSchema>,
              await deps.matcher.rules(workspaceId),
            )
      if (body.type === 'suppression' && identifier.type === 'profile_id') {
        throw new KindredError(
          'VALIDATION_FAILED',
          'a suppression names an identifier collected at ingest (email, user_id, …), not a profile id',
          { details: [{ path: 'identifier.type', message: 'not collectable' }] },
        )
      }
      const now = ctx.clock().toISOString()
      const row = await ctx.db.transaction(async (tx) => {
        const r = await insertRequest(
          tx,
          {
            workspaceId,
            id: newId('privacyRequest'),
            type: body.type,
            identifier,
            actor: key.id,
            now,
          },
          deps.suppressionKey,
        )
        await recordLifecycle(tx, {
          workspaceId,
          requestId: r.id,
          actor: key.id,
          action: 'privacy_request.created',
          before: null,
          after: 'pending',
        })
        return r
      })
      deps.wake()
      return reply.code(202).send(requestOutput(row))
    })

    app.get('/api/v1/privacy/requests', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:privacy')
      const q = parseQuery(listQuery, req.query)
      const { rows, hasMore } = await listRequests(ctx.db, workspaceId, {
        status: q.status,
        type: q.type,
        after: splitCursor(q.cursor),
        limit: q.limit,
      })
      return { items: rows.map(requestOutput), nextCursor: nextCursor(rows, hasMore) }
    })

    app.get('/api/v1/privacy/requests/:id', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:privacy')
      const { id } = parseQuery(idParam, req.params)
      const row = await getRequest(ctx.db, workspaceId, id)
      if (!row) throw notFound(`privacy request ${id}`)
      return requestOutput(row)
    })

    app.get('/api/v1/privacy/requests/:id/export', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, 'read:privacy')
      const { id } = parseQuery(idParam, req.params)
      const row = await getRequest(ctx.db, workspaceId, id)
      if (!row) throw notFound(`privacy request ${id}`)
      if (row.type !== 'access') {
        throw new KindredError(
          'CONFLICT',
          `request ${id} is a ${row.type} request; only access requests have an export`,
        )
      }
      if (row.status !== 'completed') {
        throw new KindredError(
          'CONFLICT',
          `request ${id} is ${row.status}; download the export once it is completed`,
        )
      }
      const s = row.subject
      if (!('profileIds' in s)) {
        throw new KindredError(
          'NOT_FOUND',
          `the export of ${id} is no longer available: the person was deleted since`,
        )
      }
      const chunks = accessExport(
        ctx.db,
        {
          workspaceId,
          requestId: id,
          profileId: s.profileId ?? null,
          profileIds: s.profileIds ?? [],
          identities: s.identities ?? [],
        },
        ctx.clock().toISOString(),
      )
      return reply
        .header('content-type', 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="kindred-access-${id}.json"`)
        .send(Readable.from(chunks))
    })

    app.post('/api/v1/privacy/suppressions', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, 'write:privacy')
      const body = jsonBody(req, suppressionBody)
      const identifier = normaliseRequestIdentifier(
        body.identifier,
        await deps.matcher.rules(workspaceId),
      )
      if (identifier.type === 'profile_id') {
        throw new KindredError('VALIDATION_FAILED', 'a profile id is not collected at ingest', {
          details: [{ path: 'identifier.type', message: 'not collectable' }],
        })
      }
      const [sid] = await addSuppressions(
        ctx.db,
        {
          workspaceId,
          identifiers: [identifier],
          reason: 'suppression',
          requestId: null,
          newId: () => newId('suppression'),
          now: ctx.clock().toISOString(),
        },
        deps.suppressionKey,
      )
      await deps.matcher.invalidate()
      const row = sid === undefined ? undefined : await getSuppression(ctx.db, workspaceId, sid)
      // addSuppressions returns the row it wrote or kept: only a broken store gets here.
      if (!row) throw new Error('the suppression just written cannot be read back')
      return reply.code(201).send(suppressionOutput(row))
    })

    app.get('/api/v1/privacy/suppressions', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:privacy')
      const q = parseQuery(suppressionQuery, req.query)
      await deps.matcher.flush()
      const { rows, hasMore } = await listSuppressions(ctx.db, workspaceId, {
        now: ctx.clock().toISOString(),
        after: splitCursor(q.cursor),
        limit: q.limit,
      })
      return { items: rows.map(suppressionOutput), nextCursor: nextCursor(rows, hasMore) }
    })

    app.delete('/api/v1/privacy/suppressions/:id', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, 'write:privacy')
      const { id } = parseQuery(idParam, req.params)
      if (!(await deleteSuppression(ctx.db, workspaceId, id))) throw notFound(`suppression ${id}`)
      await deps.matcher.invalidate()
      return reply.code(204).send()
    })
  }
}
