/**
 * Predictions API (`/api/v1/predictions`): create (queued for background training, 202), list,
 * read one with its model report, retrain (`POST /:id/retrain`, 202) and delete. Kind `clv` is
 * the customer-value model (BG/NBD + Gamma-Gamma); its outputs appear on profiles as the
 * computed traits `predicted.<name>.expected_purchases`, `.p_alive` and `.value`.
 */
import {
  createPrediction,
  deletePrediction,
  getPrediction,
  listPredictions,
  predictionInputSchema,
  retrainPrediction,
} from '../engine/predictions/predictions-service.js'
import type { RouteModule } from '../../platform/http/app.js'
import { jsonBody, notFound } from '../../platform/http/http-helpers.js'

const READ = 'read:predictions'
const WRITE = 'write:predictions'

/** `wake` tells this node's trainer that a training was queued (others find it by polling). */
export function predictionRoutes(wake: () => void): RouteModule {
  return (app, ctx, auth) => {
    app.get('/api/v1/predictions', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      return { data: await listPredictions(ctx.db, workspaceId) }
    })

    app.post('/api/v1/predictions', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, WRITE)
      const input = jsonBody(req, predictionInputSchema)
      const created = await createPrediction(ctx.db, workspaceId, input, ctx.clock())
      wake()
      return reply.code(202).send(created)
    })

    app.get<{ Params: { id: string } }>('/api/v1/predictions/:id', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      const found = await getPrediction(ctx.db, workspaceId, req.params.id)
      if (found === undefined) throw notFound(`prediction ${req.params.id}`)
      return found
    })

    app.post<{ Params: { id: string } }>('/api/v1/predictions/:id/retrain', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, WRITE)
      const queued = await retrainPrediction(ctx.db, workspaceId, req.params.id, ctx.clock())
      if (queued === undefined) throw notFound(`prediction ${req.params.id}`)
      wake()
      return reply.code(202).send(queued)
    })

    app.delete<{ Params: { id: string } }>('/api/v1/predictions/:id', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, WRITE)
      if (!(await deletePrediction(ctx.db, workspaceId, req.params.id)))
        throw notFound(`prediction ${req.params.id}`)
      return reply.code(204).send()
    })
  }
}
