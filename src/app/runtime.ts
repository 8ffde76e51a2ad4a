import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino, { type Logger } from 'pino'
import { openStore, type Store } from '../platform/store/open-store.js'
import { newId } from '../platform/store/ids.js'
import { ensureEventPartitions } from '../platform/store/partitions.js'
import { createPostgresEventLog } from '../platform/stream/postgres-event-log.js'
import { openFileEventLog } from '../platform/stream/file-event-log.js'
import { openNatsEventLog, parseNatsEventLogUrl } from '../platform/stream/nats-event-log.js'
import { KindredError } from '../protocol/errors.js'
import { startHealthServer } from '../platform/http/health-server.js'
import { logSafeError } from '../platform/http/log-safe-error.js'
import type { EventLog } from '../platform/stream/event-log.js'
import { createApp, type RouteModule } from '../platform/http/app.js'
import { registerTrackingRoutes } from '../collect/http/tracking-routes.js'
import { registerBrowserBuildRoutes } from '../collect/http/browser-build-routes.js'
import { sourcesRoutes } from '../collect/http/sources-routes.js'
import { accessRoutes } from '../govern/http/access.js'
import { createLiveFeed } from '../platform/http/live-feed.js'
import { createRateLimiter } from '../platform/http/rate-limiter.js'
import type { AppContext } from '../platform/http/context.js'
import type { LoginLimits } from '../govern/engine/login-throttle.js'
import type { HttpTimeouts } from '../platform/http/http-timeouts.js'
import { bootstrap } from './bootstrap.js'
import {
  createMetrics,
  registerIdentityCacheMetrics,
  type Metrics,
} from '../platform/metrics/metrics.js'
import {
  createProcessor,
  type Processor,
  type ProcessorStage,
} from '../platform/pipeline/processor.js'
import { createIdentitySettingsCache } from '../unify/engine/identity-settings.js'
import { createIdentityCache } from '../unify/core/identity-cache.js'
import { createIdentityStage } from '../unify/engine/identity-stage.js'
import { profileRoutes } from '../unify/http/profile-routes.js'
import { identityRulesRoutes } from '../unify/http/identity-rules-routes.js'
import { statsRoutes } from '../understand/http/stats-routes.js'
import type { KindredModule, ModuleFactory, ProfileHooks } from '../platform/module-contract.js'
import { createConsentModule } from '../govern/consent-module.js'
import { segmentsModule } from '../understand/segments-module.js'
import { createInsightsModule } from '../understand/insights-module.js'
import { predictionsModule } from '../understand/predictions-module.js'
import { attributionModule } from '../understand/attribution-module.js'
import { experimentsModule } from '../understand/experiments-module.js'
import { destinationsModule } from '../activate/destinations-module.js'
import { importsModule } from '../collect/imports-module.js'
import { qualityModule } from '../collect/quality-module.js'
import { createSyncsModule } from '../collect/syncs-module.js'
import { createPrivacyModule } from '../govern/privacy-module.js'
import { createGovernDeliveries } from '../activate/index.js'
import { matchingModule } from '../unify/matching-module.js'
import { createLakeModule, lakeDir, type LakeModuleOptions } from '../platform/lake/lake-module.js'
import { openLakeEventSource } from '../platform/lake/lake-reader.js'
import { loadSecretKey, writeKeySealer } from './secret-key.js'
import { parseOutboundAllow, type OutboundPolicy } from '../protocol/outbound-policy.js'

export const roles = ['all', 'ingest', 'processor', 'dispatcher', 'scheduler'] as const
export type Role = (typeof roles)[number]

/** Only this machine by default; containers and proxies on other hosts need `0.0.0.0` or an address. */
export const DEFAULT_HOST = '127.0.0.1'

export interface KindredOptions {
  port?: number
  /** Address to listen on (`--host`, KINDRED_HOST, HOST); default DEFAULT_HOST. */
  host?: string
  dataDir?: string | undefined
  databaseUrl?: string | undefined
  /** `nats://…` (KINDRED_EVENT_LOG): NATS JetStream event log, needs `databaseUrl`. */
  eventLogUrl?: string | undefined
  adminToken?: string | undefined
  role?: Role
  logger?: Logger
  logLevel?: string
  consoleDir?: string | undefined
  defaultRateLimit?: { eventsPerSecond: number; burst: number }
  /** Extra processor stages and HTTP route modules (identity, profiles, segments…). */
  stages?: ProcessorStage[]
  routes?: RouteModule[]
  /** Domain modules; defaults to consent, segments, destinations, imports. */
  modules?: ModuleFactory[]
  secretKey?: string | undefined
  /** Console session lifetime (default 12 hours). */
  sessionTtlMs?: number | undefined
  /** Identifiers the processor keeps between batches (default 100,000; 0 turns the cache off). */
  identityCacheSize?: number | undefined
  /** Peers trusted to set `X-Forwarded-For` (see AppContext.config.trustProxy). */
  trustProxy?: boolean | string | undefined
  /** Sign-in throttle buckets (default: DEFAULT_LOGIN_LIMITS). */
  loginLimits?: LoginLimits | undefined
  /**
   * Non-public addresses destinations may reach (KINDRED_OUTBOUND_ALLOW syntax, e.g.
   * `10.1.2.0/24,db.internal:5432`). Default: public addresses only.
   */
  outboundAllow?: string | undefined
  /** Root of file exports (KINDRED_EXPORT_DIR); default `<dataDir>/exports`. */
  exportDir?: string | undefined
  /** Client time limits (default DEFAULT_HTTP_TIMEOUTS). */
  httpTimeouts?: Partial<HttpTimeouts> | undefined
  /**
   * The wall clock of the API and the modules (default the system's). Tests hand in one they move,
   * to see a key's overlap end without waiting for it.
   */
  clock?: (() => Date) | undefined
  /**
   * The lake (Parquet + Delta log, src/platform/lake), part of the default modules: on unless
   * `enabled: false` (KINDRED_LAKE=off), in `dir` (KINDRED_LAKE_DIR) or `<dataDir>/lake`; no data
   * dir and no `dir` means no lake (in-memory stores).
   */
  lake?: LakeModuleOptions | undefined
}

export interface Kindred {
  url: string | undefined
  /** Worker roles (processor, dispatcher, scheduler): the /healthz + /metrics listener. */
  healthUrl: string | undefined
  store: Store
  metrics: Metrics
  processor: Processor | undefined
  eventLog: EventLog
  generatedAdminToken: string | undefined
  /** The HTTP routes, `{ method, url }` (empty for roles without HTTP). */
  routes: Array<{ method: string; url: string }>
  close(): Promise<void>
}

/**
 * The data dir holds personal data (event log, store, exports): owner-only. Its own mode closes
 * everything below it to other users, also files older versions wrote world-readable; the umask
 * makes whatever this process creates from now on (segment files, PGlite, exports) owner-only too.
 */
function protectDataDir(dir: string): void {
  process.umask(0o077)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
}

function protectTree(dir: string): void {
  if (!existsSync(dir)) return
  chmodSync(dir, 0o700)
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name)
    if (entry.isDirectory()) protectTree(p)
    else if (entry.isFile()) chmodSync(p, 0o600)
  }
}

export const defaultConsoleDir = fileURLToPath(new URL('../../console/dist/', import.meta.url))

export async function startKindred(options: KindredOptions = {}): Promise<Kindred> {
  const logger =
    options.logger ?? pino({ level: options.logLevel ?? 'info', base: { service: 'kindred' } })
  const role = options.role ?? 'all'
  let outbound: OutboundPolicy
  try {
    outbound = parseOutboundAllow(options.outboundAllow)
  } catch (err) {
    throw new KindredError('CONFIG_INVALID', `KINDRED_OUTBOUND_ALLOW: ${(err as Error).message}`)
  }
  if (options.dataDir !== undefined) protectDataDir(path.resolve(options.dataDir))
  const store = await openStore({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir === undefined ? undefined : path.resolve(options.dataDir),
  })
  const { db } = store
  // PGlite sets its own file modes, whatever the umask: owner-only from here, for the files
  // there are now (it adds few later, and those are behind the data dir's own mode).
  if (options.dataDir !== undefined && !options.databaseUrl) {
    protectTree(path.join(path.resolve(options.dataDir), 'pglite'))
  }
  const { generatedToken, revokedKeyIds, adminTokenRevoked } = await bootstrap(
    db,
    options.adminToken,
  )
  if (revokedKeyIds.length > 0) {
    logger.warn(
      { keyIds: revokedKeyIds },
      'KINDRED_ADMIN_TOKEN changed: the previous one is revoked',
    )
  }
  if (adminTokenRevoked) {
    logger.warn('KINDRED_ADMIN_TOKEN names a revoked key: it stays revoked; set a new token')
  }
  await ensureEventPartitions(db, new Date())
  const metrics = createMetrics()
  // Embedded: segment files in the data dir (ADR 0002). Server: the event_log table, shared by
  // every ingest node. In-memory (tests): the table on PGlite, so both adapters stay exercised.
  // Scale-out: NATS JetStream, partitioned; processors lease partitions in Postgres (ADR 0004).
  let eventLog: EventLog
  if (options.eventLogUrl) {
    if (!options.databaseUrl || !/^(nats|tls):\/\//.test(options.eventLogUrl)) {
      await store.close()
      throw new KindredError(
        'CONFIG_INVALID',
        'KINDRED_EVENT_LOG=nats://… needs DATABASE_URL (a Postgres server holds the cursors and partition leases)',
      )
    }
    if (!options.secretKey) {
      // Several nodes share one database: a key generated per data dir would let each node read
      // only the destination secrets it stored itself.
      await store.close()
      throw new KindredError(
        'CONFIG_INVALID',
        'KINDRED_EVENT_LOG=nats://… runs several nodes on one database: set the same KINDRED_SECRET_KEY (64 hex characters) on every node',
      )
    }
    eventLog = await openNatsEventLog({
      ...parseNatsEventLogUrl(options.eventLogUrl),
      databaseUrl: options.databaseUrl,
      consume: role === 'all' || role === 'processor',
      onError: (err, what) => logger.warn({ err }, `event log: ${what}`),
    })
  } else {
    eventLog =
      options.databaseUrl || options.dataDir === undefined
        ? createPostgresEventLog(db)
        : await openFileEventLog(path.join(path.resolve(options.dataDir), 'event-log'))
  }

  const identitySettings = createIdentitySettingsCache(() => Date.now())
  const identityCache = createIdentityCache()
  registerIdentityCacheMetrics(metrics, () => identityCache.stats())
  const stages: ProcessorStage[] = [createIdentityStage(identitySettings, { cache: identityCache })]
  const dataDir = options.dataDir === undefined ? undefined : path.resolve(options.dataDir)
  // Filled as the modules are built; unify reads it whenever it merges or splits profiles.
  const profileHooks: ProfileHooks[] = []
  const clock = options.clock ?? (() => new Date())
  const secretKey = loadSecretKey(options.secretKey, dataDir)
  const deps = {
    db,
    profileHooks,
    metrics,
    logger,
    clock,
    role,
    dataDir,
    eventLog,
    secretKey,
    outbound,
    exportDir: options.exportDir === undefined ? undefined : path.resolve(options.exportDir),
  }
  // Govern sits below activate (ADR 0010): consent and privacy name what they need of deliveries
  // in a port, and activate's implementation is handed in here.
  const deliveries = createGovernDeliveries()
  const modules: KindredModule[] = []
  for (const factory of options.modules ?? [
    createConsentModule({ deliveries }),
    segmentsModule,
    // Insights read the lake's live files with DuckDB whenever the lake is written here (the
    // writer may run on another node of the same shared directory); off means stale files.
    (d) => {
      const dir =
        options.lake?.enabled === false ? undefined : lakeDir(options.lake ?? {}, d.dataDir)
      const lake =
        dir === undefined
          ? undefined
          : openLakeEventSource({ db: d.db, dir, clock: () => d.clock().getTime() })
      return createInsightsModule(lake === undefined ? {} : { lake })(d)
    },
    predictionsModule,
    attributionModule,
    experimentsModule,
    destinationsModule,
    importsModule,
    matchingModule,
    qualityModule,
    createSyncsModule({ sealer: writeKeySealer(secretKey) }),
    createPrivacyModule({ deliveries }),
    createLakeModule(options.lake),
  ]) {
    const m = await factory(deps)
    modules.push(m)
    if (m.profileHooks) profileHooks.push(m.profileHooks)
  }
  const postStages: ProcessorStage[] = [
    ...modules.flatMap((m) => m.stages ?? []),
    ...(options.stages ?? []),
  ]
  let processor: Processor | undefined
  if (role === 'all' || role === 'processor') {
    processor = createProcessor({
      db,
      log: eventLog,
      metrics,
      filters: modules.flatMap((m) => m.filters ?? []),
      onPoison: modules.find((m) => m.onPoison)?.onPoison,
      stages,
      postStages,
      onError: (err) =>
        logger.error({ err: logSafeError(err) }, 'processor batch failed; will retry'),
      onSkip: ({ event: e, error }, keepError) =>
        logger.error(
          {
            sourceId: e.sourceId,
            messageId: e.event.messageId,
            err: logSafeError(error),
            keepError: logSafeError(keepError),
          },
          'event skipped: it could neither be applied nor set aside',
        ),
    })
    const p = processor
    eventLog.onAppended(() => p.wake())
    processor.start()
  }

  const healthWarnings = () => modules.flatMap((m) => m.healthWarnings?.() ?? [])
  let fastify: Awaited<ReturnType<typeof createApp>>['fastify'] | undefined
  let url: string | undefined
  let routes: Kindred['routes'] = []
  let health: Awaited<ReturnType<typeof startHealthServer>> | undefined
  if (role === 'all' || role === 'ingest') {
    const ctx: AppContext = {
      db,
      eventLog,
      metrics,
      liveFeed: createLiveFeed(),
      rateLimiter: createRateLimiter(() => Date.now()),
      logger,
      clock,
      processorHealth: processor?.health,
      healthWarnings,
      newId: (kind) => newId(kind),
      config: {
        defaultRateLimit: options.defaultRateLimit ?? { eventsPerSecond: 10_000, burst: 50_000 },
        consoleDir: options.consoleDir ?? defaultConsoleDir,
        sessionTtlMs: options.sessionTtlMs,
        loginLimits: options.loginLimits,
        trustProxy: options.trustProxy,
        httpTimeouts: options.httpTimeouts,
      },
    }
    const app = await createApp(ctx, [
      registerTrackingRoutes,
      registerBrowserBuildRoutes,
      sourcesRoutes({ sealer: writeKeySealer(secretKey) }),
      ...accessRoutes(),
      identityRulesRoutes({ identitySettings }),
      profileRoutes({ identitySettings, profileHooks }),
      statsRoutes(),
      ...modules.flatMap((m) => m.routes ?? []),
      ...(options.routes ?? []),
    ])
    fastify = app.fastify
    routes = app.routes
    url = await fastify.listen({ port: options.port ?? 8787, host: options.host ?? DEFAULT_HOST })
    logger.info({ url, role, store: db.dialect }, 'kindred listening')
  } else if (options.port !== undefined) {
    // Worker roles answer /healthz and /metrics only (probes and Prometheus), no API.
    health = await startHealthServer(
      metrics.registry,
      db,
      options.port,
      options.host ?? DEFAULT_HOST,
      () => ({ role, partitions: eventLog.partitions?.() ?? [] }),
      processor?.health,
      healthWarnings,
    )
    logger.info({ url: health.url, role }, 'kindred worker health and metrics listening')
  }

  // Workers run in `all` and in their own role (dispatcher, scheduler); modules decide which.
  for (const m of modules) await m.start?.()

  let closing: Promise<void> | undefined
  return {
    url,
    healthUrl: health?.url,
    store,
    metrics,
    processor,
    eventLog,
    generatedAdminToken: generatedToken,
    routes,
    close() {
      // Drain in order: stop taking requests, flush accepted events, finish the current batch.
      closing ??= (async () => {
        await fastify?.close()
        await health?.close()
        await eventLog.close()
        await processor?.stop()
        for (const m of [...modules].reverse()) await m.stop?.()
        await store.close()
      })()
      return closing
    },
  }
}
