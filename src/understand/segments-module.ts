/**
 * Computed traits and segments: the real-time processor stage, the scheduler (expiry
 * of windowed computed traits, time-dependent segments, size history) and the HTTP API.
 */
import {
  createSegmentScheduler,
  type SegmentScheduler,
} from './engine/segments/segments-scheduler.js'
import { createSegmentsStage } from './engine/segments/segments-stage.js'
import { computedTraitRoutes } from './http/computed-trait-routes.js'
import { segmentRoutes } from './http/segment-routes.js'
import { reevaluateAfterConsent, syncSegmentsAfterMerges } from './engine/segments/profile-hooks.js'
import type { ModuleFactory } from '../platform/module-contract.js'

export interface SegmentsModuleOptions {
  /** How often the scheduler runs (default 30 s). */
  schedulerIntervalMs?: number
  /** Receives the scheduler (tests tick it by hand). */
  onScheduler?: (s: SegmentScheduler) => void
}

export function createSegmentsModule(options: SegmentsModuleOptions = {}): ModuleFactory {
  return (deps) => {
    const scheduler = createSegmentScheduler({
      db: deps.db,
      clock: deps.clock,
      logger: deps.logger,
      ...(options.schedulerIntervalMs === undefined
        ? {}
        : { intervalMs: options.schedulerIntervalMs }),
    })
    options.onScheduler?.(scheduler)
    const runsScheduler = deps.role === 'all' || deps.role === 'scheduler'
    return {
      name: 'segments',
      stages: [createSegmentsStage(deps.clock)],
      routes: [segmentRoutes(), computedTraitRoutes()],
      profileHooks: {
        afterMerge: syncSegmentsAfterMerges,
        afterConsentChange: reevaluateAfterConsent,
      },
      start() {
        if (runsScheduler) scheduler.start()
        return Promise.resolve()
      },
      stop: () => scheduler.stop(),
    }
  }
}

/** Computed traits and segments with default settings (the runtime's default module). */
export const segmentsModule: ModuleFactory = createSegmentsModule()
