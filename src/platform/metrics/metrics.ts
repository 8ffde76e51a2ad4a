import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** One Prometheus registry per Kindred instance (tests run several in one process). */
export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'kindred_process_' })
  return {
    registry,
    eventsReceived: new Counter({
      name: 'kindred_events_received_total',
      help: 'Events accepted by the tracking API and durable in the event log',
      registers: [registry],
    }),
    eventsRejected: new Counter({
      name: 'kindred_events_rejected_total',
      help: 'Events rejected by the tracking API, by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    eventsProcessed: new Counter({
      name: 'kindred_events_processed_total',
      help: 'Events applied by the processor (identity, profiles, event store)',
      registers: [registry],
    }),
    eventsDuplicate: new Counter({
      name: 'kindred_events_duplicate_total',
      help: 'Events dropped by the processor because their messageId was already stored for the source',
      registers: [registry],
    }),
    processorLag: new Gauge({
      name: 'kindred_processor_lag_events',
      help: 'Events in the last read batch of the event log (0 when caught up), also when that batch failed',
      registers: [registry],
    }),
    eventsSkipped: new Counter({
      name: 'kindred_processor_events_skipped_total',
      help: 'Events the processor could neither apply nor set aside, skipped so the log flows on, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    processorFailures: new Gauge({
      name: 'kindred_processor_consecutive_failures',
      help: 'Consecutive failed attempts at the current micro-batch (0 after a success)',
      registers: [registry],
    }),
    processorStalled: new Gauge({
      name: 'kindred_processor_stalled',
      help: '1 while the processor cursor does not advance although events wait (a batch keeps failing or hangs)',
      registers: [registry],
    }),
    processorLastProgress: new Gauge({
      name: 'kindred_processor_last_progress_timestamp_seconds',
      help: 'When the processor last advanced its cursor or found the log caught up (Unix seconds)',
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'kindred_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    processorBatchDuration: new Histogram({
      name: 'kindred_processor_batch_duration_seconds',
      help: 'Time to apply one micro-batch',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** The processor's identity cache, read from its own counters when scraped. */
export function registerIdentityCacheMetrics(
  metrics: Metrics,
  stats: () => { hits: number; misses: number; stale: number; size: number },
): void {
  const reported = { hits: 0, misses: 0, stale: 0 }
  new Counter({
    name: 'kindred_identity_cache_lookups_total',
    help: 'Identifier lookups of the processor by cache outcome (stale: cached, but its profile had changed)',
    labelNames: ['result'] as const,
    registers: [metrics.registry],
    collect() {
      const now = stats()
      for (const [key, label] of [
        ['hits', 'hit'],
        ['misses', 'miss'],
        ['stale', 'stale'],
      ] as const) {
        this.inc({ result: label }, now[key] - reported[key])
        reported[key] = now[key]
      }
    },
  })
  new Gauge({
    name: 'kindred_identity_cache_entries',
    help: 'Identifiers held in the processor identity cache',
    registers: [metrics.registry],
    collect() {
      this.set(stats().size)
    },
  })
}
