/**
 * What sources have sent, for people looking at their data:
 * - `GET /api/v1/sources/:id/schema`: the source's calls (type and event name) with volumes and
 *   first/last seen, each with its top-level fields and their value types;
 * - `GET /api/v1/sources/:id/events?limit&cursor&q&type`: the source's stored events, newest
 *   first, searchable by user id, anonymous id, profile id or event-name prefix (the debugger's
 *   history before the live stream);
 * - `GET /api/v1/catalog`: the workspace's event, property and trait names with volumes (the
 *   segment builder's suggestions, and its warning for a name never seen).
 */
import { z } from 'zod'
import { cursorCodec, cursorField } from '../../protocol/cursor.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import { notFound, parseQuery } from '../../platform/http/http-helpers.js'
import { eventCatalogRepository } from '../engine/event-catalog-repository.js'

/** Events looked at per request when searching: a search answers fast, with a cursor onwards. */
const SCAN_LIMIT = 20_000

const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
  q: z.string().trim().min(1).max(500).optional(),
  type: z.enum(['track', 'identify', 'page', 'screen', 'group', 'alias']).optional(),
})

const cursor = cursorCodec(cursorField.integer(), cursorField.text(1024))

export function catalogRoutes(): RouteModule {
  return (app, ctx, auth) => {
    async function sourceOf(workspaceId: string, id: string) {
      const source = await sourcesRepository.get(ctx.db, workspaceId, id)
      if (!source) throw notFound(`source ${id}`)
      return source
    }

    app.get<{ Params: { id: string } }>('/api/v1/sources/:id/schema', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:sources')
      const source = await sourceOf(workspaceId, req.params.id)
      return { data: await eventCatalogRepository.sourceSchema(ctx.db, workspaceId, source.id) }
    })

    app.get<{ Params: { id: string } }>('/api/v1/sources/:id/events', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:sources')
      const source = await sourceOf(workspaceId, req.params.id)
      const q = parseQuery(eventsQuery, req.query)
      const page = await eventCatalogRepository.recent(ctx.db, workspaceId, source.id, {
        limit: q.limit,
        before: cursor.decode(q.cursor),
        q: q.q,
        type: q.type,
        scanLimit: SCAN_LIMIT,
      })
      return { data: page.events, nextCursor: page.next ? cursor.encode(page.next) : null }
    })

    app.get('/api/v1/catalog', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:segments')
      return eventCatalogRepository.workspaceNames(ctx.db, workspaceId)
    })
  }
}
