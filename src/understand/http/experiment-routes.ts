/**
 * Experiments API: definitions (`/api/v1/experiments`), readouts
 * (`GET /api/v1/experiments/:id/results`), and the public assignment endpoint for websites and
 * apps, `GET /v1/assign?experiment=<key>&userId=…|anonymousId=…`, authenticated by a write key
 * (HTTP Basic username, or `writeKey` in the query) like the tracking API: CORS with the origin
 * echoed, and the source's rate limit (one request counts as one event).
 */
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import type { RouteModule } from '../../platform/http/app.js'
import { writeKeyFromHeader } from '../../platform/http/auth.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import {
  assignUnit,
  createExperiment,
  experimentInputSchema,
  experimentResults,
  getExperiment,
  listExperiments,
} from '../engine/experiments/experiments-service.js'

const READ = 'read:experiments'
const WRITE = 'write:experiments'

const assignQuery = z
  .object({
    experiment: z.string().min(1).max(100),
    userId: z.string().min(1).max(400).optional(),
    anonymousId: z.string().min(1).max(400).optional(),
    writeKey: z.string().min(1).max(200).optional(),
  })
  .refine((q) => q.userId !== undefined || q.anonymousId !== undefined, {
    message: 'send userId or anonymousId',
    path: ['userId'],
  })

export function experimentRoutes(options: { timeoutMs: number }): RouteModule {
  return (app, ctx, auth) => {
    app.get('/api/v1/experiments', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      return { data: await listExperiments(ctx.db, workspaceId) }
    })

    app.post('/api/v1/experiments', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, WRITE)
      const input = jsonBody(req, experimentInputSchema)
      return reply.code(201).send(await createExperiment(ctx.db, workspaceId, input, ctx.clock()))
    })

    app.get<{ Params: { id: string } }>('/api/v1/experiments/:id', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      const e = await getExperiment(ctx.db, workspaceId, req.params.id)
      if (!e) throw notFound(`experiment ${req.params.id}`)
      return e
    })

    app.get<{ Params: { id: string } }>('/api/v1/experiments/:id/results', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      const r = await experimentResults(
        { db: ctx.db, clock: ctx.clock, timeoutMs: options.timeoutMs },
        workspaceId,
        req.params.id,
      )
      if (!r) throw notFound(`experiment ${req.params.id}`)
      return r
    })

    // Its own /v1 scope. Preflights are answered by the tracking API's CORS plugin, which owns
    // `OPTIONS /v1/*`; the answers here carry the same headers it sets (origin echoed, with
    // credentials: analytics.js sends Authorization).
    void app.register(
      async (v1) => {
        v1.addHook('onSend', async (req, reply, payload) => {
          const origin = req.headers.origin
          if (origin) {
            void reply.header('access-control-allow-origin', origin)
            void reply.header('access-control-allow-credentials', 'true')
            void reply.header('vary', 'Origin')
          }
          return payload
        })
        v1.get('/assign', async (req) => {
          const q = parseQuery(assignQuery, req.query)
          const writeKey = writeKeyFromHeader(req.headers.authorization) ?? q.writeKey
          if (!writeKey) {
            throw new KindredError(
              'UNAUTHORIZED',
              'missing write key: send it as the HTTP Basic username or as "writeKey"',
            )
          }
          const source = await auth.sourceForWriteKey(writeKey)
          if (!source) throw new KindredError('UNAUTHORIZED', 'invalid write key')
          const config = source.settings.rateLimit ?? ctx.config.defaultRateLimit
          const r = ctx.rateLimiter.take(source.id, 1, config)
          if (!r.ok) {
            throw new KindredError(
              'RATE_LIMITED',
              `rate limit of ${config.eventsPerSecond} requests/s exceeded; retry later`,
              {
                headers: {
                  'Retry-After': String(r.retryAfterSeconds),
                  'X-RateLimit-Reset': String(r.resetAtMs),
                },
                details: { eventsPerSecond: config.eventsPerSecond, burst: config.burst },
              },
            )
          }
          // The unit: the user once known, else the anonymous id (the caller sends the same one
          // it will send with its events).
          const unit = q.userId ?? q.anonymousId!
          return assignUnit(ctx.db, source.workspaceId, q.experiment, unit)
        })
      },
      { prefix: '/v1' },
    )
  }
}
