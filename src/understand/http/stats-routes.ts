/**
 * The dashboard's numbers in one call (`../engine/stats-overview.ts`).
 */
import { statsOverview } from '../engine/stats-overview.js'
import type { RouteModule } from '../../platform/http/app.js'

export function statsRoutes(): RouteModule {
  return (app, ctx, auth) => {
    app.get('/api/v1/stats/overview', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:profiles')
      return statsOverview(ctx.db, workspaceId, ctx.clock())
    })
  }
}
