/**
 * The paths Segment's CDN serves to the classic `<script>` snippet, served by Kindred from the
 * pinned `@segment/analytics-next` package (src/collect/engine/browser-build.ts):
 * `GET /analytics.js/v1/:writeKey/analytics.min.js` (for a known write key, like the CDN) and
 * `GET /analytics-next/bundles/:name` (its code-split chunks). Scripts are fetched by `<script>`
 * tags from the customer's site, so no CORS is needed.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import type { Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { sendError } from '../../platform/http/errors.js'
import { loadBrowserBuild, WRITE_KEY_SHAPE, type BrowserBuild } from '../engine/browser-build.js'

const WriteKeyParams = z.object({ writeKey: z.string().regex(WRITE_KEY_SHAPE) })
const BundleParams = z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]{1,200}$/) })

const JS = 'application/javascript; charset=utf-8'

export function registerBrowserBuildRoutes(
  app: FastifyInstance,
  _ctx: AppContext,
  auth: Auth,
): void {
  let build: BrowserBuild | undefined
  const load = () => (build ??= loadBrowserBuild())

  app.get('/analytics.js/v1/:writeKey/analytics.min.js', async (req, reply) => {
    const params = WriteKeyParams.safeParse(req.params)
    if (!params.success) {
      return sendError(reply, new KindredError('NOT_FOUND', 'unknown write key'), req)
    }
    const source = await auth.sourceForWriteKey(params.data.writeKey)
    if (!source) return sendError(reply, new KindredError('NOT_FOUND', 'unknown write key'), req)
    return reply
      .header('content-type', JS)
      .header('cache-control', 'public, max-age=300')
      .header('x-analytics-next-version', load().version)
      .send(load().standalone(params.data.writeKey))
  })

  app.get('/analytics-next/bundles/:name', async (req, reply) => {
    const params = BundleParams.safeParse(req.params)
    const body = params.success ? load().bundle(params.data.name) : undefined
    if (!body) return sendError(reply, new KindredError('NOT_FOUND', 'no such bundle'), req)
    // Chunk names carry a content hash: a new version has new names.
    return reply
      .header('content-type', JS)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(body)
  })
}
