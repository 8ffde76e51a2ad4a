/**
 * Attribution API (`POST /api/v1/attribution/query`): every model side by side, by channel and by
 * campaign, with bootstrap intervals. A read, but a POST (the query is a body): the audit hook
 * records a summary (rows read, time), never the answer.
 */
import type { RouteModule } from '../../platform/http/app.js'
import { annotateAudit } from '../../platform/http/audit.js'
import { jsonBody } from '../../platform/http/http-helpers.js'
import { z } from 'zod'
import { runAttribution, type AttributionDeps } from '../engine/attribution/attribution-service.js'

const READ = 'read:insights'
// The body's fields are checked by the service's schema, with paths in the error details.
const bodySchema = z.record(z.string(), z.unknown())

export function attributionRoutes(d: AttributionDeps): RouteModule {
  return (app, _ctx, auth) => {
    app.post('/api/v1/attribution/query', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const body = jsonBody(req, bodySchema)
      const out = await runAttribution(d, workspaceId, body)
      annotateAudit(req, { after: { ...out.meta } })
      void reply.header('x-kindred-attribution-ms', String(out.meta.elapsedMs))
      return out
    })
  }
}
