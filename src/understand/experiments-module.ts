/**
 * Experiments: definitions, public assignment (`GET /v1/assign`) and readouts over the store's
 * events. No stages and no workers: a readout is computed when asked for.
 */
import type { ModuleFactory } from '../platform/module-contract.js'
import { DEFAULT_RESULTS_TIMEOUT_MS } from './engine/experiments/experiments-service.js'
import { experimentRoutes } from './http/experiment-routes.js'

export interface ExperimentsModuleOptions {
  /** Time limit of one readout's statements (default 30 s; a Postgres server enforces it). */
  timeoutMs?: number
}

export function createExperimentsModule(options: ExperimentsModuleOptions = {}): ModuleFactory {
  return () => ({
    name: 'experiments',
    routes: [experimentRoutes({ timeoutMs: options.timeoutMs ?? DEFAULT_RESULTS_TIMEOUT_MS })],
  })
}

export const experimentsModule: ModuleFactory = createExperimentsModule()
