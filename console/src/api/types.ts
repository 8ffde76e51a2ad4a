/**
 * Shapes of the admin API's answers, as the console reads them (see console/README.md). They are
 * the server's own types, imported as types only (so no server code reaches the bundle): a change
 * in what a route answers fails the console's typecheck. What is declared here is the console's
 * own (the page envelope, the JSON Schema subset the settings form understands).
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
import type {
  CatalogEntryView,
  DeliveryView,
  DestinationCreate,
  DestinationUpdate,
  DestinationView,
} from '../../../src/activate/http/destination-routes.js'
import type { ConsentSource } from '../../../src/govern/core/privacy/consent-policy.js'
import type { ConsentStatus } from '../../../src/govern/core/privacy/consent-settings.js'
import type { ProfileConsentView } from '../../../src/govern/http/consent-routes.js'
import type { MeView } from '../../../src/govern/http/me-routes.js'
import type { SignInView } from '../../../src/govern/http/session-routes.js'
import type { StatsOverview } from '../../../src/understand/engine/stats-overview.js'
import type { importView } from '../../../src/collect/http/import-routes.js'
import type {
  RecentEvent,
  SourceSchemaEvent,
  eventCatalogRepository,
} from '../../../src/collect/engine/event-catalog-repository.js'
import type { ImportPreview as ImportPreviewView } from '../../../src/collect/engine/imports/import-preview.js'
import type {
  SegmentMember,
  SegmentPreview,
} from '../../../src/understand/engine/segments/segments-service.js'
import type { computedTraitView } from '../../../src/understand/http/computed-trait-routes.js'
import type { segmentView } from '../../../src/understand/http/segment-routes.js'
import type { Identifier } from '../../../src/unify/core/identity/index.js'
import type { TraitView } from '../../../src/unify/core/profiles/index.js'
import type {
  Profile360Summary,
  ProfileEventView,
  ProfileIdentityView,
  ProfileMergeView,
  ProfileSummaryView,
  ProfileView,
} from '../../../src/unify/engine/profile-read-model.js'

export type {
  AuditEntry,
  ConsentSource,
  ConsentStatus,
  DestinationCreate,
  DestinationUpdate,
  EventType,
  Member,
  SegmentMember,
  SegmentPreview,
  Source,
}
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

/** `GET /api/v1/me`: the workspace in use, the scopes in it, and the key or user calling. */
export type Me = MeView

/** `POST /api/v1/auth/login`. */
export type LoginResult = SignInView

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

export type Identity = Identifier

/** A search hit of `GET /api/v1/profiles`. */
export type ProfileSummary = ProfileSummaryView

/** `GET /api/v1/profiles/:id/summary`: the Profile 360 tiles. */
export type ProfileTiles = Profile360Summary

/** `GET /api/v1/profiles/:id`: traits, identities, segments, computed traits and consent. */
export type ProfileDetail = ProfileView

/** `GET /profiles/:id/consent`: state per configured purpose and the history of decisions. */
export type ProfileConsent = ProfileConsentView

export type ProfileEvent = ProfileEventView

export type IdentityDetail = ProfileIdentityView

export type Merge = ProfileMergeView

/** One golden-record trait with where its value came from and the values that lost. */
export type TraitProvenance = TraitView

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

/**
 * A connector of the catalog. The server types its settings schema as any JSON object; the
 * settings form reads it as the JSON Schema subset above.
 */
export type CatalogEntry = Omit<CatalogEntryView, 'settingsSchema'> & { settingsSchema: JsonSchema }

/** A destination as the API shows it: settings with secrets redacted, health, last outcomes. */
export type Destination = DestinationView

/** One attempt of the delivery log. */
export type Delivery = DeliveryView

/** `GET /api/v1/stats/overview`: the dashboard's numbers. */
export type Overview = StatsOverview

/** An import as `GET /api/v1/imports/:id` answers it. */
export type ImportJob = ReturnType<typeof importView>

/** `POST /api/v1/imports/preview`: a sample's first rows mapped and checked, and a suggestion. */
export type ImportPreview = ImportPreviewView

/** A stored event of a source, as the debugger's history lists it. */
export type SourceEvent = RecentEvent

/** One call of a source's schema (type and event name) with its volume and fields. */
export type SourceSchemaCall = SourceSchemaEvent

/** `GET /api/v1/catalog`: the workspace's event, property and trait names with volumes. */
export type Catalog = Awaited<ReturnType<(typeof eventCatalogRepository)['workspaceNames']>>
