/**
 * @module platform/lake/lake-metrics
 * The lake writer's metrics, on the instance's registry (`platform/metrics/metrics.ts`).
 * `kindred_lake_lag_seconds` is the one to alert on: how long the oldest change not yet in the
 * lake has waited in the store.
 */
import { Counter, Gauge, Histogram } from 'prom-client'
import type { Metrics } from '../metrics/metrics.js'

export function registerLakeMetrics(metrics: Metrics) {
  const registers = [metrics.registry]
  return {
    lag: new Gauge({
      name: 'kindred_lake_lag_seconds',
      help: 'Age of the oldest change recorded in the store and not yet committed to the lake (0 when caught up)',
      registers,
    }),
    pending: new Gauge({
      name: 'kindred_lake_pending_changes',
      help: 'Changes waiting in the store for the lake writer',
      registers,
    }),
    freshness: new Histogram({
      name: 'kindred_lake_freshness_seconds',
      help: 'Time from a change being recorded in the store to its lake commit',
      buckets: [0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 90, 120, 300],
      registers,
    }),
    rowsWritten: new Counter({
      name: 'kindred_lake_rows_written_total',
      help: 'Rows appended to the lake, by table',
      labelNames: ['table'] as const,
      registers,
    }),
    commits: new Counter({
      name: 'kindred_lake_commits_total',
      help: 'Delta commits made by the lake writer, by table and operation (append, compact, erase)',
      labelNames: ['table', 'operation'] as const,
      registers,
    }),
    filesVacuumed: new Counter({
      name: 'kindred_lake_files_vacuumed_total',
      help: 'Removed data files deleted from disk after the retention, by table',
      labelNames: ['table'] as const,
      registers,
    }),
    failures: new Counter({
      name: 'kindred_lake_writer_failures_total',
      help: 'Lake writer passes that failed (retried; the changes wait in the store)',
      registers,
    }),
  }
}

export type LakeMetrics = ReturnType<typeof registerLakeMetrics>
