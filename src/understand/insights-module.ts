/**
 * Insights (trends, funnels, retention, RFM): the HTTP API over two backends, the store's
 * `events` table (Postgres SQL, always) and the lake's Parquet files (DuckDB, when a lake is
 * wired with `lake`). No stages and no workers: every result is computed when asked for.
 */
import type { ModuleFactory } from '../platform/module-contract.js'
import { duckdbInsightsBackend } from './engine/insights/duckdb-insights-backend.js'
import { DEFAULT_INSIGHT_TIMEOUT_MS } from './engine/insights/insight-timeout.js'
import {
  type BackendChoice,
  type InsightsDeps,
  type InsightsLake,
} from './engine/insights/insights-service.js'
import { postgresInsightsBackend } from './engine/insights/postgres-insights-backend.js'
import { insightRoutes } from './http/insight-routes.js'

export interface InsightsModuleOptions {
  /** Time limit of one query (default 30 s). */
  timeoutMs?: number
  /** The lake's live Parquet files per workspace: enables backend `duckdb`. */
  lake?: InsightsLake
  /** The backend a request gets when it names none (default `auto`: the lake when fresh). */
  defaultBackend?: BackendChoice
  /** `auto` reads the lake while it is at most this many seconds behind (default 120). */
  maxLagSeconds?: number
  /** DuckDB worker threads (default 1). */
  duckdbThreads?: number
  /** Embedded store: events read per second of time limit (see postgres-insights-backend.ts). */
  embeddedEventsPerSecond?: number
}

export function createInsightsModule(options: InsightsModuleOptions = {}): ModuleFactory {
  return (deps) => {
    const duckdb =
      options.lake === undefined
        ? undefined
        : {
            backend: duckdbInsightsBackend({ threads: options.duckdbThreads ?? 1 }),
            lake: options.lake,
          }
    const service: InsightsDeps = {
      db: deps.db,
      clock: deps.clock,
      postgres: postgresInsightsBackend(deps.db, {
        ...(options.embeddedEventsPerSecond === undefined
          ? {}
          : { embeddedEventsPerSecond: options.embeddedEventsPerSecond }),
      }),
      duckdb,
      timeoutMs: options.timeoutMs ?? DEFAULT_INSIGHT_TIMEOUT_MS,
      defaultBackend: options.defaultBackend,
      maxLagSeconds: options.maxLagSeconds,
    }
    return {
      name: 'insights',
      routes: [insightRoutes(service)],
      stop() {
        duckdb?.backend.close()
        options.lake?.close?.()
        return Promise.resolve()
      },
    }
  }
}

/** Insights with default settings: the store backend only, until a lake is wired. */
export const insightsModule: ModuleFactory = createInsightsModule()
