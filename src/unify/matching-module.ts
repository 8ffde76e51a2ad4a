/**
 * Probabilistic identity matching in the CDP: matching runs on demand, on a
 * per-workspace schedule and after profile imports; auto-merges above the threshold through the
 * identity stage's merge machinery; the review queue for the uncertain pairs. See
 * src/unify/engine/matching/README.md.
 */
import { createIdentitySettingsCache } from './engine/identity-settings.js'
import { matchingRoutes } from './http/matching-routes.js'
import { createMatchingService, type MatchingService } from './engine/matching/matching-service.js'
import type { ModuleFactory } from '../platform/module-contract.js'

export interface MatchingModuleOptions {
  /** How often due runs are looked for (default 30 s). */
  tickIntervalMs?: number
  /** Receives the service (tests and benchmarks start runs and wait for them). */
  onService?: (s: MatchingService) => void
}

export function createMatchingModule(options: MatchingModuleOptions = {}): ModuleFactory {
  return (deps) => {
    // Uncached: a merge must see the identity rules as they are now, not five seconds ago.
    const settingsCache = createIdentitySettingsCache(() => Date.now(), 0)
    const service = createMatchingService({
      db: deps.db,
      clock: deps.clock,
      logger: deps.logger,
      identitySettings: (q, ws) => settingsCache.get(q, ws),
      profileHooks: deps.profileHooks,
    })
    options.onService?.(service)
    const intervalMs = options.tickIntervalMs ?? 30_000
    let timer: NodeJS.Timeout | undefined
    let ticking: Promise<unknown> | undefined
    let stopped = true
    const schedule = () => {
      if (stopped) return
      timer = setTimeout(() => {
        ticking = service
          .tick()
          .catch((err: unknown) => deps.logger.error({ err }, 'matching tick failed'))
          .finally(() => {
            ticking = undefined
            schedule()
          })
      }, intervalMs)
      timer.unref()
    }
    return {
      name: 'matching',
      routes: [matchingRoutes(service)],
      start() {
        if (deps.role === 'all' || deps.role === 'scheduler') {
          stopped = false
          schedule()
        }
        return Promise.resolve()
      },
      async stop() {
        stopped = true
        if (timer !== undefined) clearTimeout(timer)
        await ticking
        await service.idle()
      },
    }
  }
}

export const matchingModule: ModuleFactory = createMatchingModule()
