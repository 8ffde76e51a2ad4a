/**
 * The dashboard's numbers in one call (`../engine/stats-overview.ts`).
 */
import { z } from 'zod'
import { statsOverview } from '../engine/stats-overview.js'
import type { RouteModule } from '../../platform/http/app.js'
import { parseQuery } from '../../platform/http/http-helpers.js'

const overviewQuery = z.object({ time: z.enum(['received', 'event']).default('received') })

export function statsRoutes(): RouteModule {
  return (app, ctx, auth) => {
    app.get('/api/v1/stats/overview', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:profiles')
      const q = parseQuery(overviewQuery, req.query)
      return statsOverview(ctx.db, workspaceId, ctx.clock(), { clock: q.time })
    })
  }
}
