import { existsSync } from 'node:fs'
import path from 'node:path'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import fastifyStatic from '@fastify/static'
import { KindredError, MAX_BATCH_BYTES } from '../../protocol/index.js'
import { createAuth, type Auth } from './auth.js'
import type { AppContext } from './context.js'
import { sendError } from './errors.js'
import { checkHealth } from './health-check.js'
import { registerAuditHook } from './audit.js'
import {
  DEFAULT_HTTP_TIMEOUTS,
  fastifyTimeoutOptions,
  registerBodyTimeouts,
} from './http-timeouts.js'

export interface App {
  fastify: FastifyInstance
  auth: Auth
  /** Every route registered, as `{ method, url }` (route-wide tests walk this list). */
  routes: Array<{ method: string; url: string }>
}

/** Admin bodies are configuration, never bulk data (file uploads stream through their own parser). */
export const ADMIN_BODY_LIMIT = 512 * 1024
/** A longer URL (path plus query) is refused before routing. */
export const MAX_URL_LENGTH = 8 * 1024

/**
 * The console's policy: everything from this origin only; Mantine injects `<style>` elements at
 * run time, hence `'unsafe-inline'` for styles (never for scripts).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')
const API_CSP = "default-src 'none'; frame-ancestors 'none'"
const PERMISSIONS_POLICY =
  'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()'

// No proxy is trusted unless the operator names it: any peer could otherwise claim any address.
export const DEFAULT_TRUST_PROXY = false

/** Route groups (tracking, sources, access, profiles, segments…) register through this; the composition root (src/app) names them. */
export type RouteModule = (app: FastifyInstance, ctx: AppContext, auth: Auth) => void

export async function createApp(ctx: AppContext, modules: RouteModule[] = []): Promise<App> {
  const timeouts = { ...DEFAULT_HTTP_TIMEOUTS, ...ctx.config.httpTimeouts }
  const fastify: FastifyInstance = Fastify({
    ...fastifyTimeoutOptions(timeouts),
    loggerInstance: ctx.logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Compressed bodies are inflated and size-checked by the tracking routes themselves.
    bodyLimit: MAX_BATCH_BYTES * 2,
    trustProxy: ctx.config.trustProxy ?? DEFAULT_TRUST_PROXY,
    return503OnClosing: true,
    // Errors Fastify raises before routing (a malformed URL) get our error shape too.
    frameworkErrors: (err, req, reply) => sendError(reply, err, req),
  })
  // One parser for every content type: SDKs mislabel bodies (gzip as form-urlencoded, JSON as
  // text/plain), so routes decode by Content-Encoding and parse JSON themselves.
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  registerBodyTimeouts(fastify, timeouts)
  // Parses `Cookie` in its own onRequest hook, so it goes before every hook and route that reads
  // `req.cookies` (the session cookie in auth.ts); no secret: the session token is its own proof.
  await fastify.register(fastifyCookie)

  const auth = createAuth(ctx)
  const routes: App['routes'] = []
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) routes.push({ method, url: route.url })
    if (route.url.startsWith('/api/') && route.bodyLimit === undefined) {
      route.bodyLimit = ADMIN_BODY_LIMIT
    }
  })
  fastify.addHook('onRequest', async (req) => {
    if (req.url.length > MAX_URL_LENGTH) {
      throw new KindredError(
        'URI_TOO_LONG',
        `the URL is longer than ${MAX_URL_LENGTH} characters; send large inputs in the body`,
      )
    }
  })

  fastify.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    ctx.metrics.httpDuration.observe(
      { method: req.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
  })
  // Postgres text cannot hold NUL: a `%00` in a path or query is a bad request, not a 500.
  fastify.addHook('preHandler', async (req) => {
    for (const bag of [req.params, req.query]) {
      if (bag === null || typeof bag !== 'object') continue
      for (const [name, value] of Object.entries(bag as Record<string, unknown>)) {
        if (typeof value === 'string' && value.includes('\u0000')) {
          throw new KindredError('VALIDATION_FAILED', `"${name}" contains a NUL character`)
        }
      }
    }
  })
  // Security headers on everything but the tracking API (which answers SDKs on other sites).
  fastify.addHook('onSend', async (req, reply, payload) => {
    if (!req.url.startsWith('/v1/')) {
      const isConsole = !/^\/(api\/|metrics|healthz)/.test(req.url)
      void reply
        .header('X-Content-Type-Options', 'nosniff')
        .header('Referrer-Policy', 'no-referrer')
        .header('X-Frame-Options', 'DENY')
        .header('Permissions-Policy', PERMISSIONS_POLICY)
        .header('Cross-Origin-Opener-Policy', 'same-origin')
        .header('Content-Security-Policy', isConsole ? CONSOLE_CSP : API_CSP)
      if (req.protocol === 'https') {
        void reply.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains')
      }
    }
    return payload
  })
  registerAuditHook(fastify, ctx)

  fastify.setErrorHandler((err, req, reply) => sendError(reply, err, req))

  fastify.get('/healthz', async (_req, reply) => {
    const { httpStatus, body } = await checkHealth(
      ctx.db,
      ctx.processorHealth,
      {},
      ctx.healthWarnings,
    )
    if (httpStatus !== 200) void reply.header('Retry-After', '5')
    return reply.code(httpStatus).send(body)
  })
  fastify.get('/metrics', async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics()
    return reply.type(ctx.metrics.registry.contentType).send(body)
  })

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
      return reply.sendFile('index.html')
    }
    return sendError(
      reply,
      new KindredError('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0]}`),
    )
  })
  return { fastify, auth, routes }
}
