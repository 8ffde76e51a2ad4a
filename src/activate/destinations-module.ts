/**
 * Destinations and the dispatcher: the processor stage that turns events and trait
 * changes into delivery jobs, the `/api/v1/destinations` routes, and the dispatcher loop (in the
 * `all` and `dispatcher` roles) that delivers jobs and fans outbox segment changes out.
 */
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
} from './engine/dispatcher/dispatcher-worker.js'
import {
  createDestinationConfigCache,
  createDestinationsStage,
} from './engine/destinations-stage.js'
import { destinationRoutes } from './http/destination-routes.js'
import type { ModuleFactory } from '../platform/module-contract.js'
import { strictOutboundPolicy } from '../protocol/outbound-policy.js'

export type DestinationsModuleOptions = Omit<
  DispatcherOptions,
  'db' | 'secretKey' | 'logger' | 'registry' | 'dataDir' | 'exportDir' | 'outbound'
>

/** The module with dispatcher options (tests shorten the backoff; benches raise limits). */
export function createDestinationsModule(options: DestinationsModuleOptions = {}): ModuleFactory {
  return (deps) => {
    const clock = options.clock ?? (() => deps.clock().getTime())
    const runsDispatcher = deps.role === 'all' || deps.role === 'dispatcher'
    const cache = createDestinationConfigCache(clock)
    const outbound = deps.outbound ?? strictOutboundPolicy
    let dispatcher: Dispatcher | undefined
    if (runsDispatcher) {
      dispatcher = createDispatcher({
        ...options,
        clock,
        db: deps.db,
        secretKey: deps.secretKey,
        logger: deps.logger,
        registry: deps.metrics.registry,
        ...(deps.dataDir === undefined ? {} : { dataDir: deps.dataDir }),
        ...(deps.exportDir === undefined ? {} : { exportDir: deps.exportDir }),
        outbound,
      })
    }
    // The stage runs inside the batch transaction: the jobs are visible only after COMMIT, a few
    // ms later, so the wake-ups are deferred a little (the poll catches anything missed).
    const nudge = () => {
      if (!dispatcher) return
      const d = dispatcher
      setTimeout(() => d.wake(), 5)
      setTimeout(() => d.wake(), 40)
    }
    return {
      name: 'destinations',
      stages: [createDestinationsStage({ cache, clock, onEnqueued: nudge })],
      routes: [
        destinationRoutes({
          secretKey: deps.secretKey,
          outbound,
          onChange: (ws) => cache.invalidate(ws),
          wake: () => dispatcher?.wake(),
        }),
      ],
      start() {
        dispatcher?.start()
        return Promise.resolve()
      },
      async stop() {
        await dispatcher?.stop()
      },
    }
  }
}

/**
 * Dispatcher tuning from the environment (operators, end-to-end runs against a real process):
 * `KINDRED_DISPATCHER_BASE_DELAY_MS`, `_MAX_DELAY_MS`, `_MAX_ATTEMPTS`, `_POLL_MS`,
 * `_TIMEOUT_MS`, `_CONCURRENCY`.
 */
export function dispatcherOptionsFromEnv(
  env: Record<string, string | undefined>,
): DestinationsModuleOptions {
  const num = (name: string): number | undefined => {
    const v = env[`KINDRED_DISPATCHER_${name}`]
    const n = v === undefined || v === '' ? NaN : Number(v)
    return Number.isFinite(n) && n > 0 ? n : undefined
  }
  const out: DestinationsModuleOptions = {}
  const set = <K extends keyof DestinationsModuleOptions>(key: K, v: number | undefined) => {
    if (v !== undefined) (out as Record<string, unknown>)[key] = v
  }
  set('baseDelayMs', num('BASE_DELAY_MS'))
  set('maxDelayMs', num('MAX_DELAY_MS'))
  set('maxAttempts', num('MAX_ATTEMPTS'))
  set('pollIntervalMs', num('POLL_MS'))
  set('requestTimeoutMs', num('TIMEOUT_MS'))
  set('concurrencyPerDestination', num('CONCURRENCY'))
  return out
}

export const destinationsModule: ModuleFactory = (deps) =>
  createDestinationsModule(dispatcherOptionsFromEnv(process.env))(deps)
