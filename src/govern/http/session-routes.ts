/**
 * Signing in and out of the console: a password checked under the sign-in throttle, a session
 * row, and its token as an HttpOnly cookie (and in the answer, for scripts).
 * @module
 */
import type { CookieSerializeOptions } from '@fastify/cookie'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import { hashSecret, newSecret } from '../../platform/store/ids.js'
import { sessionsRepository } from '../../platform/store/repositories/sessions-repository.js'
import { usersRepository } from '../../platform/store/repositories/users-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import { writeAudit } from '../../platform/http/audit.js'
import { SESSION_COOKIE } from '../../platform/http/auth.js'
import { jsonBody } from '../../platform/http/http-helpers.js'
import { createLoginThrottle } from '../engine/login-throttle.js'
import { DUMMY_PASSWORD_HASH, PASSWORD_MAX_LENGTH, verifyPassword } from '../engine/passwords.js'
import { meOf, type UserAndWorkspaces } from './me-routes.js'

const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000

const loginSchema = z.object({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
})

/**
 * The session cookie's attributes, for setting and clearing alike (a browser clears a cookie only
 * when name, path and domain match). HttpOnly: scripts never see the token; SameSite=Strict: other
 * sites' requests do not carry it (auth.ts adds the header check for changes); Secure whenever the
 * request came over https (`'auto'`: `req.protocol`, so behind a proxy named by trustProxy, its
 * `X-Forwarded-Proto`), not over plain http, where a Secure cookie would never be sent back.
 */
const SESSION_COOKIE_OPTIONS = {
  path: '/',
  httpOnly: true,
  sameSite: 'strict',
  secure: 'auto',
} as const satisfies CookieSerializeOptions

/** What sign-in answers: the session token (for scripts; the console keeps the cookie) and who. */
export interface SignInView extends UserAndWorkspaces {
  token: string
  expiresAt: string
}

export function sessionRoutes(): RouteModule {
  return (app, ctx, auth) => {
    const ttlMs = ctx.config.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS
    const { db } = ctx
    // In the database, not in memory: every node counts against the same buckets.
    const throttle = createLoginThrottle(db, ctx.clock, ctx.config.loginLimits)

    app.post('/api/v1/auth/login', async (req, reply) => {
      // A cross-site form can post text/plain or urlencoded but not JSON without a CORS preflight
      // (never granted here), so this keeps other sites from signing a visitor into their account.
      if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
        throw new KindredError(
          'UNSUPPORTED_ENCODING',
          'send the sign-in as JSON: "Content-Type: application/json"',
        )
      }
      const body = jsonBody(req, loginSchema)
      const who = body.email.toLowerCase()
      const attempt = await throttle.begin(req.ip, who)
      const found = await usersRepository.findByEmail(db, who)
      // Verified even for an unknown e-mail, so both answers take the same time.
      const ok = await verifyPassword(body.password, found?.passwordHash ?? DUMMY_PASSWORD_HASH)
      if (!found || !ok) {
        await writeAudit(
          db,
          req,
          {
            action: 'auth.login',
            workspaceId: null,
            outcome: 'failure',
            status: 401,
            actor: { kind: found ? 'user' : 'anonymous', id: found?.user.id ?? null, label: who },
          },
          ctx.clock,
        )
        throw new KindredError('UNAUTHORIZED', 'e-mail or password is wrong')
      }
      await attempt.succeeded()
      const token = newSecret('sessionToken')
      const createdAt = ctx.clock()
      const session = await db.transaction(async (tx) => {
        const s = await sessionsRepository.insert(tx, {
          id: ctx.newId('session'),
          userId: found.user.id,
          tokenHash: hashSecret(token),
          createdAt,
          expiresAt: new Date(createdAt.getTime() + ttlMs),
          ip: req.ip,
          userAgent: (req.headers['user-agent'] ?? '').slice(0, 300) || null,
        })
        await writeAudit(
          tx,
          req,
          {
            action: 'auth.login',
            workspaceId: null,
            status: 200,
            actor: { kind: 'user', id: found.user.id, label: found.user.email },
            target: { type: 'session', id: s.id },
          },
          ctx.clock,
        )
        return s
      })
      void reply.setCookie(SESSION_COOKIE, token, {
        ...SESSION_COOKIE_OPTIONS,
        maxAge: Math.floor(ttlMs / 1000),
      })
      return {
        token,
        expiresAt: session.expiresAt,
        ...(await meOf(db, found.user)),
      } satisfies SignInView
    })

    app.post('/api/v1/auth/logout', async (req, reply) => {
      const principal = await auth.identify(req)
      if (principal.kind !== 'user' || !principal.sessionId) {
        throw new KindredError(
          'VALIDATION_FAILED',
          'only a session can sign out; revoke API keys with DELETE /api/v1/api-keys/:id',
        )
      }
      const sessionId = principal.sessionId
      await db.transaction(async (tx) => {
        await sessionsRepository.revoke(tx, sessionId, ctx.clock())
        await writeAudit(
          tx,
          req,
          {
            action: 'auth.logout',
            workspaceId: null,
            status: 200,
            actor: { kind: 'user', id: principal.id, label: principal.label },
            target: { type: 'session', id: sessionId },
          },
          ctx.clock,
        )
      })
      // Max-Age=0 (and an Expires in 1970) with the same attributes the cookie was set with.
      void reply.clearCookie(SESSION_COOKIE, SESSION_COOKIE_OPTIONS)
      return { success: true }
    })
  }
}
