import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import { annotateAudit, writeAudit } from '../../platform/http/audit.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import { sourcePiiSchema } from '../../govern/core/index.js'
import {
  DEFAULT_OVERLAP_SECONDS,
  MAX_OVERLAP_SECONDS,
  issueWriteKey,
  listWriteKeys,
  rotateWriteKey,
  type WriteKeySealer,
} from '../engine/write-key-service.js'

const rateLimitSchema = z.object({
  eventsPerSecond: z
    .number()
    .positive()
    .max(10_000_000)
    .describe('Sustained events per second for this write key'),
  burst: z
    .number()
    .int()
    .positive()
    .max(100_000_000)
    .describe('Events allowed in a burst above the sustained rate'),
})
const sourceSettingsSchema = z.looseObject({
  rateLimit: rateLimitSchema.optional(),
  pii: sourcePiiSchema.optional().describe('IP anonymisation and hashed fields for this source'),
})
const createSourceSchema = z.object({
  name: z.string().trim().min(1).max(200),
  settings: sourceSettingsSchema.optional(),
})
const patchSourceSchema = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  settings: sourceSettingsSchema.optional(),
  /** Replaces the key at once (no overlap); `POST …/rotate-key` keeps the old one working. */
  rotateWriteKey: z.boolean().optional(),
})
const rotateKeySchema = z.object({
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_OVERLAP_SECONDS)
    .default(DEFAULT_OVERLAP_SECONDS)
    .describe('How long the old key keeps working (0: it stops at once)'),
})
const idParams = z.object({ id: z.string().min(1).max(100) })
const keyParams = z.object({ id: z.string().min(1).max(100), keyId: z.string().min(1).max(100) })

export interface SourcesRoutesDeps {
  /** Seals write keys at rest so they can be shown again (built from the secret key in app). */
  sealer: WriteKeySealer
}

function registerSourcesRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  auth: Auth,
  { sealer }: SourcesRoutesDeps,
): void {
  app.get('/api/v1/sources', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:sources')
    return { data: await sourcesRepository.list(ctx.db, workspaceId) }
  })

  app.post('/api/v1/sources', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, 'write:sources')
    const body = jsonBody(req, createSourceSchema)
    const { writeKey, stored } = issueWriteKey(sealer)
    const source = await sourcesRepository.insert(ctx.db, {
      id: ctx.newId('source'),
      workspaceId,
      name: body.name,
      writeKeyHash: stored.hash,
      writeKeyPrefix: stored.prefix,
      writeKeySealed: stored.sealed,
      settings: body.settings ?? {},
    })
    // Also in `GET …/write-keys` later, for members who manage sources.
    return reply.code(201).send({ ...source, writeKey })
  })

  app.get<{ Params: { id: string } }>('/api/v1/sources/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:sources')
    const source = await sourcesRepository.get(ctx.db, workspaceId, req.params.id)
    if (!source) throw notFound(`source ${req.params.id}`)
    return source
  })

  app.patch<{ Params: { id: string } }>('/api/v1/sources/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:sources')
    const body = jsonBody(req, patchSourceSchema)
    const before = await sourcesRepository.get(ctx.db, workspaceId, req.params.id)
    if (before) annotateAudit(req, { before })
    const result = await ctx.db.transaction(async (tx) => {
      const source = await sourcesRepository.update(tx, workspaceId, req.params.id, {
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.settings === undefined ? {} : { settings: body.settings }),
      })
      if (!source || !body.rotateWriteKey) return source && { source }
      const rotated = await rotateWriteKey(tx, {
        workspaceId,
        sourceId: source.id,
        overlapSeconds: 0,
        now: ctx.clock(),
        sealer,
      })
      return rotated && { source: rotated.source, writeKey: rotated.writeKey }
    })
    if (!result) throw notFound(`source ${req.params.id}`)
    auth.invalidate()
    ctx.rateLimiter.forget(result.source.id)
    return result.writeKey === undefined
      ? result.source
      : { ...result.source, writeKey: result.writeKey }
  })

  // The source's working keys, in full, with the current one first. Seeing a key is recorded in
  // the audit log: anyone who saw it could send events as this source.
  app.get('/api/v1/sources/:id/write-keys', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:sources')
    const { id } = parseQuery(idParams, req.params)
    const keys = await listWriteKeys(ctx.db, {
      workspaceId,
      sourceId: id,
      now: ctx.clock(),
      sealer,
    })
    if (!keys) throw notFound(`source ${id}`)
    await writeAudit(
      ctx.db,
      req,
      {
        action: 'source.write-key.view',
        target: { type: 'source', id },
        after: { prefixes: keys.map((k) => k.prefix) },
        status: 200,
      },
      ctx.clock,
    )
    return { data: keys }
  })

  // A new key; the old one keeps working for the overlap (default 24 h), so apps can move over.
  app.post('/api/v1/sources/:id/rotate-key', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:sources')
    const { id } = parseQuery(idParams, req.params)
    const body = jsonBody(req, rotateKeySchema)
    const now = ctx.clock()
    const rotated = await ctx.db.transaction(async (tx) => {
      const r = await rotateWriteKey(tx, {
        workspaceId,
        sourceId: id,
        overlapSeconds: body.overlapSeconds,
        now,
        sealer,
      })
      if (!r) throw notFound(`source ${id}`)
      await writeAudit(
        tx,
        req,
        {
          action: 'source.write-key.rotate',
          target: { type: 'source', id },
          after: {
            prefix: r.source.writeKeyPrefix,
            retiredPrefix: r.retired?.prefix ?? null,
            overlapSeconds: body.overlapSeconds,
            retiredExpiresAt: r.retired?.expiresAt ?? now.toISOString(),
          },
          status: 200,
        },
        ctx.clock,
      )
      return r
    })
    auth.invalidate()
    const keys = await listWriteKeys(ctx.db, { workspaceId, sourceId: id, now, sealer })
    return { source: rotated.source, writeKey: rotated.writeKey, keys: keys ?? [] }
  })

  // Stops a retiring key before its overlap ends (it leaked, or every app has moved over).
  app.delete('/api/v1/sources/:id/write-keys/:keyId', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, 'write:sources')
    const { id, keyId } = parseQuery(keyParams, req.params)
    const ended = await ctx.db.transaction(async (tx) => {
      const done = await sourcesRepository.expireRetiredWriteKey(
        tx,
        workspaceId,
        id,
        keyId,
        ctx.clock(),
      )
      if (done) {
        await writeAudit(
          tx,
          req,
          {
            action: 'source.write-key.revoke',
            target: { type: 'source', id },
            after: { keyId },
            status: 204,
          },
          ctx.clock,
        )
      }
      return done
    })
    if (!ended) {
      throw notFound(
        `retiring write key ${keyId} of source ${id} (the current key is replaced with POST /api/v1/sources/${id}/rotate-key)`,
      )
    }
    auth.invalidate()
    return reply.code(204).send()
  })

  app.delete<{ Params: { id: string } }>('/api/v1/sources/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, 'write:sources')
    const before = await sourcesRepository.get(ctx.db, workspaceId, req.params.id)
    if (before) annotateAudit(req, { before })
    const deleted = await sourcesRepository.delete(ctx.db, workspaceId, req.params.id)
    if (!deleted) throw notFound(`source ${req.params.id}`)
    auth.invalidate()
    return reply.code(204).send()
  })

  // Live debugger: Server-Sent Events of what the source receives, accepted and rejected.
  app.get<{ Params: { id: string } }>('/api/v1/sources/:id/events/live', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, 'read:sources')
    const source = await sourcesRepository.get(ctx.db, workspaceId, req.params.id)
    if (!source) throw notFound(`source ${req.params.id}`)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    })
    res.write(`retry: 2000\n: connected to ${source.id}\n\n`)
    let dropped = 0
    const unsubscribe = ctx.liveFeed.subscribe(source.id, (message) => {
      // A slow viewer must not hold memory: drop while the socket is backed up, and say so.
      if (res.writableLength > 1_000_000) {
        dropped++
        return
      }
      if (dropped > 0) {
        res.write(`event: dropped\ndata: ${JSON.stringify({ count: dropped })}\n\n`)
        dropped = 0
      }
      res.write(`event: event\ndata: ${JSON.stringify(message)}\n\n`)
    })
    const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000)
    const close = () => {
      clearInterval(heartbeat)
      unsubscribe()
    }
    req.raw.on('close', close)
    res.on('error', close)
  })
}

export function sourcesRoutes(deps: SourcesRoutesDeps): RouteModule {
  return (app, ctx, auth) => registerSourcesRoutes(app, ctx, auth, deps)
}
