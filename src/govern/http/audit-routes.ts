/**
 * Reading the audit log, newest first, by actor, action prefix and time.
 * @module
 */
import { z } from 'zod'
import { auditRepository } from '../../platform/store/repositories/audit-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import { parseQuery } from '../../platform/http/http-helpers.js'

const auditQuery = z.object({
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, 'a cursor from a previous page')
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  actor: z.string().min(1).max(100).optional(),
  action: z
    .string()
    .regex(/^[a-z0-9.-]{1,100}$/, 'an action like "source.create" or "source."')
    .optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
})

export function auditRoutes(): RouteModule {
  return (app, ctx, auth) => {
    app.get('/api/v1/audit', async (req) => {
      const { workspaceId, principal } = await auth.admin(req, 'read:audit')
      const q = parseQuery(auditQuery, req.query)
      const rows = await auditRepository.list(ctx.db, {
        workspaceId,
        // Sign-ins belong to no workspace; only a key for every workspace sees them.
        includeGlobal: principal.kind === 'key' && principal.boundWorkspaceId === null,
        beforeId: q.cursor,
        actorId: q.actor,
        action: q.action,
        since: q.since === undefined ? undefined : new Date(q.since),
        until: q.until === undefined ? undefined : new Date(q.until),
        limit: q.limit + 1,
      })
      const page = rows.slice(0, q.limit)
      return {
        data: page,
        nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
      }
    })
  }
}
