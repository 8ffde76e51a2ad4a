/**
 * Privacy requests: the `/api/v1/privacy` routes, the worker that runs requests
 * in the background (in the `all` and `dispatcher` roles), and the tombstone stage that keeps a
 * deleted person from being recreated by events still in the log. Ingest's suppression check is
 * the store-wide matcher (src/govern/engine/privacy/suppression-cache.ts) the tracking routes call.
 */
import { deriveSuppressionKey } from './core/privacy/suppression.js'
import { privacyRoutes } from './http/privacy-routes.js'
import { suppressionMatcher } from './engine/privacy/suppression-cache.js'
import { createTombstoneStage } from './engine/privacy/tombstone-stage.js'
import {
  createPrivacyWorker,
  type PrivacyWorker,
  type PrivacyWorkerOptions,
} from './engine/privacy/privacy-worker.js'
import type { ModuleFactory } from '../platform/module-contract.js'
import type { GovernDeliveries } from './engine/delivery-port.js'
import { newId } from '../platform/store/ids.js'
import type { IdKind } from '../protocol/ids.js'

export type PrivacyModuleOptions = Pick<
  PrivacyWorkerOptions,
  'pollIntervalMs' | 'leaseMs' | 'tombstoneGraceMs' | 'maxAttempts'
> & {
  /**
   * Where an erased person's deletions are forwarded: activate's `createGovernDeliveries()`,
   * handed in by the composition root (govern imports nothing of activate), or `noDeliveries`.
   */
  deliveries: GovernDeliveries
}

const privacyKinds: Record<string, IdKind> = { prq: 'privacyRequest', sup: 'suppression' }

/** The worker names ids by their prefix (`prq`, `sup`); minted by `newId` like every other id. */
function privacyId(prefix: string): string {
  const kind = privacyKinds[prefix]
  if (kind === undefined) throw new Error(`no id kind has the prefix "${prefix}"`)
  return newId(kind)
}

export function createPrivacyModule(options: PrivacyModuleOptions): ModuleFactory {
  return (deps) => {
    const clock = () => deps.clock().getTime()
    // A purpose-specific subkey: the instance secret itself only ever encrypts destination secrets.
    const suppressionKey = deriveSuppressionKey(deps.secretKey)
    // Created here, with the key, before the tracking routes ask for the store's matcher.
    const matcher = suppressionMatcher(deps.db, suppressionKey)
    const runsWorker = deps.role === 'all' || deps.role === 'dispatcher'
    const worker: PrivacyWorker | undefined = runsWorker
      ? createPrivacyWorker({
          ...options,
          db: deps.db,
          logger: deps.logger,
          clock,
          newId: privacyId,
          suppressionKey,
          eventLog: deps.eventLog,
        })
      : undefined
    return {
      name: 'privacy',
      stages: [createTombstoneStage(matcher, clock)],
      routes: [privacyRoutes({ matcher, suppressionKey, wake: () => worker?.wake() })],
      start() {
        worker?.start()
        return Promise.resolve()
      },
      async stop() {
        await worker?.stop()
        await matcher.flush().catch(() => undefined)
      },
    }
  }
}
