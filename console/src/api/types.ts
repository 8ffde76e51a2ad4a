/**
 * Shapes of the admin API's answers, as the console reads them (see console/README.md). Where the
 * server exports the type of what a route answers, it is imported from there (types only, so no
 * server code reaches the bundle) and a change on the server fails the console's typecheck; the
 * rest are read models the server builds inline and are declared here.
 */
import type { FieldIssue } from '../../../src/protocol/errors.js'
import type { EventType } from '../../../src/protocol/event-schema.js'
import type { UserRole } from '../../../src/protocol/scopes.js'
import type { LiveMessage } from '../../../src/platform/http/live-feed.js'
import type { ApiKey } from '../../../src/platform/store/repositories/api-keys-repository.js'
import type { AuditEntry } from '../../../src/platform/store/repositories/audit-repository.js'
import type { Source } from '../../../src/platform/store/repositories/sources-repository.js'
import type { Member } from '../../../src/platform/store/repositories/users-repository.js'
import type { Workspace as WorkspaceRecord } from '../../../src/platform/store/repositories/workspaces-repository.js'
import type { DestinationActionsInput } from '../../../src/activate/core/destination-config.js'
import type { ConsentSource } from '../../../src/govern/core/privacy/consent-policy.js'
import type { ConsentStatus } from '../../../src/govern/core/privacy/consent-settings.js'
import type { SegmentPreview } from '../../../src/understand/engine/segments/segments-service.js'
import type { computedTraitView } from '../../../src/understand/http/computed-trait-routes.js'
import type { segmentView } from '../../../src/understand/http/segment-routes.js'

export type { AuditEntry, ConsentSource, ConsentStatus, EventType, Member, SegmentPreview, Source }
export type Role = UserRole
/**
 * What a destination does: forward events (filtered, mapped), upsert profiles, sync segments. The
 * console edits what it sends (defaults unapplied), and what the server answers is one of those.
 */
export type DestinationActions = DestinationActionsInput

export interface Page<T> {
  data: T[]
  nextCursor?: string | null
}

export interface Me {
  workspace: { id: string; name: string }
  scopes: string[]
  kind?: 'key' | 'user'
  role?: Role
  user?: { id: string; email: string; name: string | null }
  /** A signed-in user's workspaces and role in each. */
  workspaces?: Array<{ workspaceId: string; workspaceName: string; role: Role }>
}

export interface LoginResult {
  token: string
  expiresAt: string
  user: { id: string; email: string }
  workspaces: Array<{ workspaceId: string; workspaceName: string; role: Role }>
}

/** `GET /api/v1/api-keys`: a key without its hash, revocation or origin. */
export type ApiKeyInfo = Pick<
  ApiKey,
  'id' | 'name' | 'keyPrefix' | 'scopes' | 'createdAt' | 'createdBy'
>

export interface CreatedApiKey extends ApiKeyInfo {
  secret: string
}

export interface ScopeInfo {
  scope: string
  description: string
}

/** `GET /api/v1/workspaces`. */
export type Workspace = Pick<WorkspaceRecord, 'id' | 'name'>

export interface CreatedSource extends Source {
  writeKey: string
}

export type ValidationIssue = FieldIssue

/** One message of the live debugger's stream; the event is whatever JSON object was sent. */
export interface LiveEvent extends Omit<LiveMessage, 'event'> {
  event: Record<string, unknown> | null
}

export interface Identity {
  type: string
  value: string
}

export interface ProfileSummary {
  id: string
  traits: Record<string, unknown>
  identities: Identity[]
  createdAt: string
  updatedAt: string
}

export interface ProfileDetail extends ProfileSummary {
  segments?: Array<{ id: string; name?: string; enteredAt: string; exitedAt?: string | null }>
  computedTraits?: Array<{
    id: string
    name?: string
    value: unknown
    definition?: unknown
    updatedAt?: string
  }>
  consent?: Record<string, { status: string; updatedAt: string; source?: string }>
  mergedInto?: string | null
}

/** `GET /profiles/:id/consent`: state per configured purpose and the history of decisions. */
export interface ProfileConsent {
  profileId: string
  purposes: Array<{
    purpose: string
    status: ConsentStatus | 'unknown'
    /** Whether destinations of this purpose may receive this person (the default decides unknown). */
    allowed: boolean
    updatedAt: string | null
    source: ConsentSource | null
    sourceId: string | null
    proof: string | null
  }>
  history: Array<{
    id: string
    purpose: string
    status: ConsentStatus
    source: ConsentSource
    sourceId: string | null
    proof: string
    details: Record<string, unknown>
    occurredAt: string
    recordedAt: string
  }>
}

export interface ProfileEvent {
  messageId: string
  type: string
  event?: string | null
  timestamp: string
  receivedAt: string
  sourceId: string
  properties?: Record<string, unknown>
  traits?: Record<string, unknown>
  context?: Record<string, unknown>
}

export interface IdentityDetail extends Identity {
  messageId?: string
  firstSeenAt?: string
  lastSeenAt?: string
  sourceId?: string
}

export interface Merge {
  id: string
  kind?: string
  fromProfileId: string
  intoProfileId: string
  at: string
  reason?: string
  rule?: string
  identifiers?: Identity[]
  messageId?: string
}

export interface Provenance {
  sourceId?: string
  messageId?: string
  /** ISO string or epoch milliseconds. */
  at?: string | number
  kind?: string
}

/** One golden-record trait with where its value came from (and the values that lost). */
export interface TraitProvenance extends Provenance {
  key: string
  value: unknown
  strategy?: string
  provenance?: Provenance
  history?: Array<{ value: unknown; sourceId?: string; at?: string | number; messageId?: string }>
  conflicts?: Array<{ value: unknown; count?: number; first?: Provenance; last?: Provenance }>
}

export type Segment = ReturnType<typeof segmentView>

export type ComputedTrait = ReturnType<typeof computedTraitView>

export interface JsonSchema {
  type?: string | string[]
  title?: string
  description?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  enum?: unknown[]
  default?: unknown
  format?: string
  items?: JsonSchema
  additionalProperties?: boolean | JsonSchema
  minimum?: number
  maximum?: number
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  $defs?: Record<string, JsonSchema>
  definitions?: Record<string, JsonSchema>
  $ref?: string
  writeOnly?: boolean
}

export interface CatalogEntry {
  id: string
  name: string
  category: string
  purpose?: string
  description?: string
  actions?: Array<string | { id: string; name?: string; description?: string }>
  settingsSchema?: JsonSchema
  secretFields?: string[]
}

export interface Destination {
  id: string
  name: string
  /** The catalog entry's id (manifest id). */
  type?: string
  catalogId?: string
  enabled?: boolean
  settings?: Record<string, unknown>
  actions?: DestinationActions
  health?: { status: 'healthy' | 'degraded'; message?: string } | 'healthy' | 'degraded'
  status?: string
  consecutiveFailures?: number
  lastError?: string | null
  lastSuccessAt?: string | null
  lastFailureAt?: string | null
  createdAt?: string
  updatedAt?: string
}

export interface Delivery {
  id: string
  at: string
  status: string
  attempt?: number
  /** Delivery jobs this attempt carried (replay takes their ids). */
  jobIds?: string[]
  request?: { method: string; url: string }
  responseStatus?: number | null
  responseExcerpt?: string | null
  latencyMs?: number | null
  error?: string | null
}

export interface Overview {
  eventsPerMinute?: Array<{ at: string; sourceId: string; count: number }>
  profiles?: { total: number; identified: number }
  mergesPerDay?: Array<{ day: string; count: number }>
  segmentSizes?: Array<{ id: string; name: string; size: number }>
  deliverySuccess?: Array<{ destinationId: string; name: string; success: number; failed: number }>
  dataQuality?: { withEmail: number; withPhone: number; withName: number; total: number }
}
