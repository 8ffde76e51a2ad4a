/** Shapes of the admin API's answers, as the console reads them (see console/README.md). */

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

export type Role = 'owner' | 'admin' | 'editor' | 'viewer'

export interface LoginResult {
  token: string
  expiresAt: string
  user: { id: string; email: string }
  workspaces: Array<{ workspaceId: string; workspaceName: string; role: Role }>
}

export interface Member {
  id: string
  email: string
  name: string | null
  role: Role
  createdAt: string
}

export interface ApiKeyInfo {
  id: string
  name: string
  keyPrefix: string
  scopes: string[]
  createdAt: string
  createdBy: string | null
}

export interface CreatedApiKey extends ApiKeyInfo {
  secret: string
}

export interface AuditEntry {
  id: string
  at: string
  actorKind: string
  actorId: string | null
  actorLabel: string | null
  action: string
  targetType: string | null
  targetId: string | null
  outcome: 'success' | 'failure' | 'denied'
  status: number | null
  before: unknown
  after: unknown
  ip: string | null
}

export interface ScopeInfo {
  scope: string
  description: string
}

export interface Workspace {
  id: string
  name: string
}

export interface Source {
  id: string
  name: string
  writeKeyPrefix: string
  createdAt: string
  updatedAt: string
}

export interface CreatedSource extends Source {
  writeKey: string
}

export interface ValidationIssue {
  index?: number
  path: string | Array<string | number>
  message: string
  code: string
}

export interface LiveEvent {
  receivedAt: string
  status: 'accepted' | 'rejected'
  event: Record<string, unknown> | null
  errors?: ValidationIssue[]
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

export type ConsentStatus = 'granted' | 'denied'

/** `GET /profiles/:id/consent`: state per configured purpose and the history of decisions. */
export interface ProfileConsent {
  profileId: string
  purposes: Array<{
    purpose: string
    status: ConsentStatus | 'unknown'
    /** Whether destinations of this purpose may receive this person (the default decides unknown). */
    allowed: boolean
    updatedAt: string | null
    source: 'event' | 'api' | 'import' | null
    sourceId: string | null
    proof: string | null
  }>
  history: Array<{
    id: string
    purpose: string
    status: ConsentStatus
    source: 'event' | 'api' | 'import'
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

export interface Segment {
  id: string
  name: string
  description?: string
  definition: unknown
  size?: number
  createdAt?: string
  updatedAt?: string
}

export interface SegmentPreview {
  count: number
  sample: ProfileSummary[]
  tookMs?: number
}

export interface ComputedTrait {
  id: string
  name: string
  description?: string
  definition: unknown
  createdAt?: string
  updatedAt?: string
}

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

/** What a destination does: forward events (filtered, mapped), upsert profiles, sync segments. */
export interface DestinationActions {
  forwardEvents?: {
    events?: string[]
    types?: string[]
    where?: Array<{ path: string; op: string } & Record<string, unknown>>
    /** Target path ← source path. */
    mapping?: Record<string, string>
  }
  upsertProfiles?: boolean
  syncAudience?: { segmentIds: string[]; mirror?: boolean }
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
