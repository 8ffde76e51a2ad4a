/**
 * Database syncs (reverse ETL): the API under `/api/v1/syncs` and, for the roles that run
 * background work (`all`, `scheduler`), the worker that queues scheduled runs and runs them from
 * the leased queue (`engine/syncs/README.md`). The sealer comes from app: connection passwords
 * are sealed with the same key and code as destination secrets and write keys.
 */
import { strictOutboundPolicy } from '../protocol/outbound-policy.js'
import type { ModuleFactory } from '../platform/module-contract.js'
import type { WriteKeySealer } from './engine/write-key-service.js'
import { syncRoutes } from './http/sync-routes.js'
import { createSyncWorker } from './engine/syncs/sync-worker.js'
import { syncSecrets } from './engine/syncs/sync-sources.js'

export function createSyncsModule(options: {
  sealer: WriteKeySealer
  pollMs?: number
}): ModuleFactory {
  return (deps) => {
    const secrets = syncSecrets(options.sealer)
    const outbound = deps.outbound ?? strictOutboundPolicy
    const worker = createSyncWorker(
      {
        db: deps.db,
        eventLog: deps.eventLog,
        clock: deps.clock,
        outbound,
        openSecret: secrets.open,
      },
      { logger: deps.logger, ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}) },
    )
    const runsWork = deps.role === 'all' || deps.role === 'scheduler'
    return {
      name: 'syncs',
      routes: [syncRoutes({ clock: deps.clock, outbound, secrets, wake: () => worker.wake() })],
      async start() {
        if (runsWork) worker.start()
      },
      async stop() {
        await worker.stop()
      },
    }
  }
}
