/**
 * Attribution: the query API over the store's events. No stages and no workers: every answer is
 * computed when asked for, bounded by a time limit.
 */
import type { ModuleFactory } from '../platform/module-contract.js'
import { DEFAULT_ATTRIBUTION_TIMEOUT_MS } from './engine/attribution/attribution-service.js'
import { attributionRoutes } from './http/attribution-routes.js'

export interface AttributionModuleOptions {
  /** Time limit of one query (default 30 s). */
  timeoutMs?: number
  /** Embedded store: rows read per second of time limit before a query is refused. */
  embeddedRowsPerSecond?: number
}

export function createAttributionModule(options: AttributionModuleOptions = {}): ModuleFactory {
  return (deps) => ({
    name: 'attribution',
    routes: [
      attributionRoutes({
        db: deps.db,
        clock: deps.clock,
        timeoutMs: options.timeoutMs ?? DEFAULT_ATTRIBUTION_TIMEOUT_MS,
        ...(options.embeddedRowsPerSecond === undefined
          ? {}
          : { embeddedRowsPerSecond: options.embeddedRowsPerSecond }),
      }),
    ],
  })
}

export const attributionModule: ModuleFactory = createAttributionModule()
