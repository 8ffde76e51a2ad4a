import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import { hashSecret, newSecret, secretPrefix } from '../../platform/store/ids.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import { annotateAudit } from '../../platform/http/audit.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound } from '../../platform/http/http-helpers.js'
import { sourcePiiSchema } from '../../govern/core/index.js'

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
  rotateWriteKey: z.boolean().optional(),
})

function registerSourcesRoutes(app: FastifyInstance, ctx: AppContext, auth: Auth): void {
  app.get('/api/v1/sources', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:sources')
    return { data: await sourcesRepository.list(ctx.db, workspaceId) }
  })

  app.post('/api/v1/sources', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, 'write:sources')
    const body = jsonBody(req, createSourceSchema)
    const writeKey = newSecret('writeKey')
    const source = await sourcesRepository.insert(ctx.db, {
      id: ctx.newId('source'),
      workspaceId,
      name: body.name,
      writeKeyHash: hashSecret(writeKey),
      writeKeyPrefix: secretPrefix(writeKey),
      settings: body.settings ?? {},
    })
    // The write key is shown once: only its hash is stored.
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
    const writeKey = body.rotateWriteKey ? newSecret('writeKey') : undefined
    const source = await sourcesRepository.update(ctx.db, workspaceId, req.params.id, {
      ...(body.name === undefined ? {} : { name: body.name }),
      ...(body.settings === undefined ? {} : { settings: body.settings }),
      ...(writeKey === undefined
        ? {}
        : { writeKeyHash: hashSecret(writeKey), writeKeyPrefix: secretPrefix(writeKey) }),
    })
    if (!source) throw notFound(`source ${req.params.id}`)
    auth.invalidate()
    ctx.rateLimiter.forget(source.id)
    return writeKey === undefined ? source : { ...source, writeKey }
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

export function sourcesRoutes(): RouteModule {
  return registerSourcesRoutes
}
