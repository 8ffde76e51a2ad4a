import { existsSync } from 'node:fs'
import path from 'node:path'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import fastifyStatic from '@fastify/static'
import { KindredError, MAX_BATCH_BYTES } from '../protocol/index.js'
import { createAuth, type Auth } from './auth.js'
import type { AppContext } from './context.js'
import { sendError } from './errors.js'
import { registerTrackingRoutes } from './tracking-routes.js'
import { registerAdminRoutes } from './admin-routes.js'

export interface App {
  fastify: FastifyInstance
  auth: Auth
}

/** Extra route groups (profiles, segments, destinations…) register through this. */
export type RouteModule = (app: FastifyInstance, ctx: AppContext, auth: Auth) => void

export async function createApp(ctx: AppContext, modules: RouteModule[] = []): Promise<App> {
  const fastify: FastifyInstance = Fastify({
    loggerInstance: ctx.logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Compressed bodies are inflated and size-checked by the tracking routes themselves.
    bodyLimit: MAX_BATCH_BYTES * 2,
    trustProxy: true,
    return503OnClosing: true,
  })
  // One parser for every content type: SDKs mislabel bodies (gzip as form-urlencoded, JSON as
  // text/plain), so routes decode by Content-Encoding and parse JSON themselves.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  const auth = createAuth(ctx)

  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    ctx.metrics.httpDuration.observe(
      { method: req.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
  })
  fastify.addHook('onSend', async (req, reply, payload) => {
    if (!req.url.startsWith('/v1/')) {
      void reply
        .header('X-Content-Type-Options', 'nosniff')
        .header('Referrer-Policy', 'no-referrer')
    }
    return payload
  })

  fastify.setErrorHandler((err, req, reply) => sendError(reply, err, req))

  fastify.get('/healthz', async () => {
    await ctx.db.query('SELECT 1')
    return { status: 'ok' }
  })
  fastify.get('/metrics', async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics()
    return reply.type(ctx.metrics.registry.contentType).send(body)
  })

  registerTrackingRoutes(fastify, ctx, auth)
  registerAdminRoutes(fastify, ctx, auth)
  for (const m of modules) m(fastify, ctx, auth)

  const consoleDir = ctx.config.consoleDir
  const hasConsole = consoleDir !== undefined && existsSync(path.join(consoleDir, 'index.html'))
  if (hasConsole) {
    await fastify.register(fastifyStatic, {
      root: consoleDir,
      wildcard: false,
      index: ['index.html'],
    })
  }
  fastify.setNotFoundHandler((req, reply) => {
    const isApi = req.url.startsWith('/api/') || req.url.startsWith('/v1/')
    if (!isApi && req.method === 'GET' && hasConsole) {
      // SPA fallback: the console routes in the browser.
      return reply
        .header(
          'Content-Security-Policy',
          "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
        )
        .header('X-Frame-Options', 'DENY')
        .sendFile('index.html')
    }
    return sendError(
      reply,
      new KindredError('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`),
    )
  })
  return { fastify, auth }
}
