/**
 * Data quality and PII controls: the tracking-plan filter that runs
 * before identity in every batch, the data-quality and PII API (with the normalisation a plan's
 * traits get), and the retention scheduler.
 * IP anonymisation and hashing happen at ingest (src/collect/http/tracking-routes.ts, ADR 0003).
 */
import { Counter } from 'prom-client'
import { createPlanCache } from './core/tracking-plan.js'
import { qualityRoutes } from './http/quality-routes.js'
import { normalizationRoutes } from './http/normalization-routes.js'
import { createQualityFilter, quarantine } from './engine/quality-filter.js'
import { createEventCatalogStage } from './engine/event-catalog-stage.js'
import { catalogRoutes } from './http/catalog-routes.js'
import { createRetentionScheduler, type RetentionScheduler } from '../govern/index.js'
import type { ModuleFactory } from '../platform/module-contract.js'

export interface QualityModuleOptions {
  /** How often retention runs (default 15 min). */
  retentionIntervalMs?: number
  /** Receives the retention scheduler (tests tick it by hand with their own clock). */
  onRetention?: (s: RetentionScheduler) => void
}

export function createQualityModule(options: QualityModuleOptions = {}): ModuleFactory {
  return (deps) => {
    const violations = new Counter({
      name: 'kindred_tracking_plan_violations_total',
      help: 'Events that broke their source tracking plan, by source and action (flag, quarantine)',
      labelNames: ['source', 'mode'] as const,
      registers: [deps.metrics.registry],
    })
    const retention = createRetentionScheduler({
      db: deps.db,
      clock: deps.clock,
      logger: deps.logger,
      ...(options.retentionIntervalMs === undefined
        ? {}
        : { intervalMs: options.retentionIntervalMs }),
    })
    options.onRetention?.(retention)
    const runsScheduler = deps.role === 'all' || deps.role === 'scheduler'
    return {
      name: 'quality',
      filters: [createQualityFilter({ plans: createPlanCache(), violations, clock: deps.clock })],
      // The catalogue is what arrived, after the plan's filter: quarantined events are not in it.
      stages: [createEventCatalogStage(deps.clock)],
      routes: [qualityRoutes(), normalizationRoutes(), catalogRoutes()],
      onPoison: (tx, poison) =>
        quarantine(
          tx,
          poison.map(({ event: e, error }) => ({
            workspaceId: e.workspaceId,
            sourceId: e.sourceId,
            messageId: e.event.messageId,
            reason: 'poison' as const,
            event: e.event,
            violations: [],
            error: (error instanceof Error ? error.message : String(error)).slice(0, 2_000),
            planVersion: null,
          })),
          deps.clock(),
        ).then(() => {
          for (const p of poison) {
            deps.logger.warn(
              { sourceId: p.event.sourceId, messageId: p.event.event.messageId, err: p.error },
              'event quarantined: it fails its batch on its own',
            )
          }
        }),
      start() {
        if (runsScheduler) retention.start()
        return Promise.resolve()
      },
      stop: () => retention.stop(),
    }
  }
}

export const qualityModule: ModuleFactory = createQualityModule()
