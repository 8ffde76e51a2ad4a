/**
 * A Kindred module plugs a domain (segments, destinations, …) into the runtime: processor stages
 * that run in the batch transaction after the events are stored, HTTP routes, and background
 * workers (dispatcher, scheduler) started for the roles that run them.
 */
import type { Logger } from 'pino'
import type { KindredEvent } from '../protocol/event-schema.js'
import type { Queryable } from './store/db.js'
import type { Db } from './store/db.js'
import type { RouteModule } from './http/app.js'
import type { Metrics } from './metrics/metrics.js'
import type { EventLogWriter } from './stream/event-log.js'
import type { ProcessorFilter, ProcessorStage } from './pipeline/processor.js'
import type { PoisonHandler } from './pipeline/poison.js'
import type { OutboundPolicy } from '../protocol/outbound-policy.js'

export type Role = 'all' | 'ingest' | 'processor' | 'dispatcher' | 'scheduler'

export interface ModuleDeps {
  db: Db
  metrics: Metrics
  logger: Logger
  clock: () => Date
  role: Role
  /** Local state (file exports, generated keys); undefined for in-memory test stores. */
  dataDir: string | undefined
  /** Append canonical events (imports go through the same pipeline as live events). */
  eventLog: EventLogWriter
  /** 32-byte key for secrets at rest (KINDRED_SECRET_KEY, or generated into the data dir). */
  secretKey: Buffer
  /** Non-public addresses destinations may reach (KINDRED_OUTBOUND_ALLOW); default none. */
  outbound?: OutboundPolicy
  /** Root of file exports (KINDRED_EXPORT_DIR); default `<dataDir>/exports`. */
  exportDir?: string | undefined
  /** Every module's profile hooks, filled as the runtime builds the modules (read at call time). */
  profileHooks?: readonly ProfileHooks[]
}

/** A split (unmerge): `moved` events of `originalId` now belong to the new profile `newId`. */
export interface ProfileSplitMove {
  workspaceId: string
  originalId: string
  newId: string
  /** Every event of the original profile before the split. */
  events: ReadonlyArray<{ sourceId: string; event: KindredEvent }>
  moved: ReadonlyArray<{ sourceId?: string | undefined; messageId: string }>
}

/**
 * What a capability keeps per profile follows when another capability changes the profile
 * outside the processor (unify merges or splits it, govern records consent through the API):
 * each hook runs in the same transaction. The caller does not know who listens, so it imports no
 * other capability (ADR 0010).
 */
export interface ProfileHooks {
  /** After merges: each `from` profile now redirects to `into`. */
  afterMerge?(
    tx: Queryable,
    workspaceId: string,
    redirects: ReadonlyArray<{ from: string; into: string }>,
    now: Date,
  ): Promise<void>
  afterSplit?(tx: Queryable, split: ProfileSplitMove): Promise<void>
  /**
   * After consent was decided outside the processor (the API, an import): `purposes` changed
   * for `profileId`, so what depends on consent (segments with consent conditions) follows.
   */
  afterConsentChange?(
    tx: Queryable,
    workspaceId: string,
    profileId: string,
    purposes: ReadonlySet<string>,
    now: Date,
  ): Promise<void>
}

export interface KindredModule {
  name: string
  /** Run before identity, over the fresh events of a batch (see ProcessorFilter). */
  filters?: ProcessorFilter[]
  /** Keeps events that fail their batch on their own (the first module that has one wins). */
  onPoison?: PoisonHandler
  /** Appended after the identity stage, in module order, inside the batch transaction. */
  stages?: ProcessorStage[]
  routes?: RouteModule[]
  /** Runs when unify merges or splits profiles outside the processor. */
  profileHooks?: ProfileHooks
  /** Background work for this role (dispatcher loop, scheduler); resolves once started. */
  start?(): Promise<void>
  /** Stops background work and waits for what is in flight. */
  stop?(): Promise<void>
  /**
   * What `/healthz` should mention without failing (the lake writer falling behind): the node
   * still serves, so these are warnings beside `status: ok`, never a 503.
   */
  healthWarnings?(): string[]
}

export type ModuleFactory = (deps: ModuleDeps) => KindredModule | Promise<KindredModule>
