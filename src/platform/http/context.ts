import type { HttpTimeouts } from './http-timeouts.js'
import type { Logger } from 'pino'
import type { Db } from '../store/db.js'
import type { EventLogWriter } from '../stream/event-log.js'
import type { Metrics } from '../metrics/metrics.js'
import type { ProcessorHealth } from '../pipeline/processor.js'
import type { LiveFeed } from './live-feed.js'
import type { RateLimiter, BucketConfig } from './rate-limiter.js'
import type { LoginLimits } from '../store/repositories/login-attempts-repository.js'

/** Everything the HTTP layer needs, handed in from outside (tests build their own). */
export interface AppContext {
  db: Db
  eventLog: EventLogWriter
  metrics: Metrics
  liveFeed: LiveFeed
  rateLimiter: RateLimiter
  logger: Logger
  clock: () => Date
  /** The in-process processor's progress, for `/healthz` (absent on ingest-only nodes). */
  processorHealth?: (() => ProcessorHealth) | undefined
  /** Warnings `/healthz` reports beside `ok` (modules' `healthWarnings`: the lake behind). */
  healthWarnings?: (() => string[]) | undefined
  newId: (kind: 'source' | 'apiKey' | 'message' | 'workspace' | 'user' | 'session') => string
  config: {
    /** Default per-source ingest limit; a source's `settings.rateLimit` overrides it. */
    defaultRateLimit: BucketConfig
    /** Directory of the built console, served at `/` when present. */
    consoleDir?: string | undefined
    /** Console session lifetime; default 12 hours. */
    sessionTtlMs?: number | undefined
    /** Sign-in throttle; default `DEFAULT_LOGIN_LIMITS` (tests make refills slow to stay exact). */
    loginLimits?: LoginLimits | undefined
    /**
     * Which peers may set the client address with `X-Forwarded-For` (Fastify's `trustProxy`: a
     * boolean, or addresses, CIDRs and the presets loopback, linklocal, uniquelocal). Default:
     * none, so no client can claim another address to dodge the sign-in throttle or forge
     * `context.ip` and the audit log's IP; name the balancers' own addresses behind a proxy.
     */
    trustProxy?: boolean | string | undefined
    /** Client time limits; default `DEFAULT_HTTP_TIMEOUTS` (tests shorten them). */
    httpTimeouts?: Partial<HttpTimeouts> | undefined
  }
}
