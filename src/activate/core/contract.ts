/**
 * @module destinations/contract
 * The destination contract: what a transform receives (inputs), what it returns (effects as
 * data) and how a vendor's answer is judged (classification). Pure: no I/O, no clock of its own.
 *
 * A destination never performs a request. It returns `http`, `sql`, `file` or `stream` effects; the
 * dispatcher (src/engine) executes them through `src/activate/engine/executors`, feeds the response to
 * `classifyResponse`, and decides on retries, bisection and dead letters.
 */
import { z } from 'zod'
import { DomainError, type ErrorKind } from '../../protocol/errors.js'
import { eventTypes } from '../../protocol/event-schema.js'

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

export const ProfileSnapshotSchema = z.object({
  id: z.string().min(1),
  traits: z.record(z.string(), z.unknown()),
  identities: z.array(z.object({ type: z.string().min(1), value: z.string() })),
})
export type ProfileSnapshot = z.infer<typeof ProfileSnapshotSchema>

const JsonObject = z.record(z.string(), z.unknown())

/**
 * A Segment-spec event as the processor stored it (`KindredEvent` in src/protocol); fields this
 * contract does not name (integrations, originalTimestamp, sentAt…) pass through.
 */
export const DestinationEventSchema = z.looseObject({
  type: z.enum(eventTypes),
  event: z.string().optional(),
  name: z.string().nullish(),
  messageId: z.string().min(1),
  userId: z.string().nullish(),
  anonymousId: z.string().nullish(),
  groupId: z.string().nullish(),
  previousId: z.string().nullish(),
  properties: JsonObject.default({}),
  traits: JsonObject.default({}),
  context: JsonObject.default({}),
  timestamp: z.string(),
  receivedAt: z.string(),
})
export type DestinationEvent = z.infer<typeof DestinationEventSchema>

export const AudienceRefSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  key: z.string().min(1),
})
export type AudienceRef = z.infer<typeof AudienceRefSchema>

/**
 * One unit of work for a destination. `id` is the caller's item id (the outbox job id): effects
 * list the item ids they carry (`itemIds`) so the dispatcher can attribute and bisect failures.
 */
export const DestinationInputSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('event'),
    id: z.string().min(1),
    event: DestinationEventSchema,
    profile: ProfileSnapshotSchema.nullable(),
  }),
  z.object({
    kind: z.literal('profile'),
    id: z.string().min(1),
    profile: ProfileSnapshotSchema,
    changedTraits: z.array(z.string()),
  }),
  z.object({
    kind: z.literal('audience'),
    id: z.string().min(1),
    action: z.enum(['add', 'remove']),
    audience: AudienceRefSchema,
    profile: ProfileSnapshotSchema,
  }),
  z.object({
    kind: z.literal('delete'),
    id: z.string().min(1),
    profile: ProfileSnapshotSchema,
  }),
])
export type DestinationInput = z.infer<typeof DestinationInputSchema>
export type InputOf<K extends DestinationInput['kind']> = Extract<DestinationInput, { kind: K }>

export const ActionSchema = z.enum(['forwardEvents', 'upsertProfiles', 'syncAudience', 'delete'])
export type Action = z.infer<typeof ActionSchema>

/** Which action handles an input kind. */
export const actionForKind: Record<DestinationInput['kind'], Action> = {
  event: 'forwardEvents',
  profile: 'upsertProfiles',
  audience: 'syncAudience',
  delete: 'delete',
}

// ---------------------------------------------------------------------------------------------
// Effects
// ---------------------------------------------------------------------------------------------

/**
 * A value taken from a successful response of an earlier effect in the same chain, and put into
 * the url (`${name}`) or body (`"${name}"`, the whole JSON string literal is replaced by the JSON
 * value) of later effects. `pointer` is a JSON pointer; a `*` segment maps over an array.
 * `pick` keeps only these keys of each captured object.
 */
export const CaptureSchema = z.object({
  name: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/),
  pointer: z.string().startsWith('/'),
  pick: z.array(z.string()).optional(),
})
export type Capture = z.infer<typeof CaptureSchema>

const effectCommon = {
  /** Stable across retries of the same work: vendors that dedupe get it; logs key on it. */
  idempotencyKey: z.string().min(1),
  /** Input ids this effect carries. */
  itemIds: z.array(z.string().min(1)).min(1),
  /**
   * Effects sharing a chain id run in array order, each after the previous one succeeded; a
   * failed step fails the chain and a retry starts the chain again from its first step.
   */
  chain: z.string().optional(),
}

export const HttpEffectSchema = z.object({
  type: z.literal('http'),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  url: z.string().url(),
  headers: z.record(z.string(), z.string()),
  body: z.string().nullable(),
  ...effectCommon,
  /**
   * Vendor record key (email, array index…) → item id, for per-item partial failures; several
   * ids when jobs were merged into one record (HubSpot refuses one email twice in a batch).
   */
  itemKeys: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
  /** Statuses that count as success besides 2xx (e.g. 404 when removing what is already gone). */
  okStatuses: z.array(z.number().int()).optional(),
  captures: z.array(CaptureSchema).optional(),
  /** Skip this step (counted as success) when the named capture is missing or empty. */
  skipIfEmpty: z.string().optional(),
})
export type HttpEffect = z.infer<typeof HttpEffectSchema>

export const SqlEffectSchema = z.object({
  type: z.literal('sql'),
  /** Name of the (secret) setting that holds the connection string; the dispatcher resolves it. */
  connectionRef: z.string().min(1),
  statement: z.string().min(1),
  params: z.array(z.unknown()),
  ...effectCommon,
})
export type SqlEffect = z.infer<typeof SqlEffectSchema>

/** Relative, no `..`, no leading slash, no backslash: the executor joins it to its base dir. */
export const RelativePathSchema = z
  .string()
  .min(1)
  .max(512)
  .regex(/^(?!\/)(?!.*\\)(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._\-/]+$/, 'a safe relative path')

export const FileEffectSchema = z.object({
  type: z.literal('file'),
  path: RelativePathSchema,
  format: z.enum(['csv', 'jsonl', 'parquet']),
  columns: z.array(z.string().min(1)).min(1),
  rows: z.array(z.record(z.string(), z.unknown())),
  ...effectCommon,
})
export type FileEffect = z.infer<typeof FileEffectSchema>

/** The message brokers stream destinations publish to (`src/activate/engine/executors`). */
export const StreamProtocolSchema = z.enum(['amqp', 'redis', 'nats', 'mqtt'])
export type StreamProtocol = z.infer<typeof StreamProtocolSchema>

export const StreamMessageSchema = z.object({
  /** The item this message carries (for per-message failures). */
  itemId: z.string().min(1),
  /**
   * Stable across retries: AMQP `messageId`, a Redis field, JetStream's `Nats-Msg-Id` (the
   * server drops a duplicate inside its window), so consumers can dedupe an at-least-once send.
   */
  messageId: z.string().min(1),
  body: z.string(),
})
export type StreamMessage = z.infer<typeof StreamMessageSchema>

/**
 * Messages for one broker target: an AMQP exchange and routing key, a Redis stream key, a NATS
 * subject or an MQTT topic. The executor publishes them on a pooled connection and counts one a
 * success only once the broker confirmed it (publisher confirm, XADD reply, JetStream ack, PUBACK).
 */
export const StreamEffectSchema = z.object({
  type: z.literal('stream'),
  protocol: StreamProtocolSchema,
  /** Name of the (secret) setting that holds the broker URL; the dispatcher resolves it. */
  connectionRef: z.string().min(1),
  target: z.string().min(1),
  /** AMQP only: the exchange (`""` is the default exchange, routing by queue name). */
  exchange: z.string().optional(),
  /** Redis only: `MAXLEN ~` trimming of the stream (none when absent). */
  maxLen: z.number().int().positive().optional(),
  messages: z.array(StreamMessageSchema).min(1),
  ...effectCommon,
})
export type StreamEffect = z.infer<typeof StreamEffectSchema>

export const EffectSchema = z.discriminatedUnion('type', [
  HttpEffectSchema,
  SqlEffectSchema,
  FileEffectSchema,
  StreamEffectSchema,
])
export type Effect = z.infer<typeof EffectSchema>

export const SkippedSchema = z.object({
  itemId: z.string(),
  /** Stable code: UNSUPPORTED_ACTION, MISSING_IDENTIFIER, NO_LIST_CONFIGURED, FILTERED… */
  code: z.string(),
  message: z.string(),
})
export type Skipped = z.infer<typeof SkippedSchema>

/** Every input id appears in exactly one place: some effect's itemIds, or skipped. */
export const TransformResultSchema = z.object({
  effects: z.array(EffectSchema),
  skipped: z.array(SkippedSchema),
})
export type TransformResult = z.infer<typeof TransformResultSchema>

// ---------------------------------------------------------------------------------------------
// Responses and their classification
// ---------------------------------------------------------------------------------------------

export interface HttpResponseLike {
  status: number
  /** Lower-case header names. */
  headers: Record<string, string>
  body: string
}

export type Classification =
  | { outcome: 'success' }
  | {
      outcome: 'retry'
      retryAfterMs?: number
      message: string
      /**
       * The vendor's quota (a rate or daily limit) refused the request and said when it resets
       * (`retryAfterMs`): waiting for it is not a failed attempt, so the dispatcher does not
       * count it against the job's retry budget (`nextJobState` in delivery-policy.ts).
       */
      quota?: true
    }
  | { outcome: 'fail'; message: string }
  | {
      outcome: 'partial'
      /** Items not listed here succeeded. */
      failed: { itemId: string; message: string; retryable: boolean }[]
    }

export interface ClassifyContext {
  effect: HttpEffect
  /** Epoch ms, for `Retry-After` given as an HTTP date. */
  now: number
}

export type ClassifyResponse = (response: HttpResponseLike, ctx: ClassifyContext) => Classification

// ---------------------------------------------------------------------------------------------
// Manifest and destination
// ---------------------------------------------------------------------------------------------

export const CategorySchema = z.enum([
  'webhook',
  'messaging',
  'email',
  'crm',
  'advertising',
  'warehouse',
  'storage',
  'stream',
])
export const PurposeSchema = z.enum(['analytics', 'marketing', 'advertising', 'personalization'])

/** Where a secret setting legitimately travels (the shared suite checks nothing else leaks). */
export const SecretTransportSchema = z.enum(['header', 'url', 'connection', 'signing'])

/**
 * A setting that decides where data goes: an http(s) `url` (checked against the outbound-address
 * policy), a postgres `connection` string (its host is checked), an export `directory`, or a
 * message `broker` URL (amqp://, redis://, nats://, mqtt://…; its host is checked).
 * Changing one makes the secrets stored with the old target unusable until they are re-entered.
 */
export const EndpointKindSchema = z.enum(['url', 'connection', 'directory', 'broker'])
export type EndpointKind = z.infer<typeof EndpointKindSchema>

export interface DestinationManifest<S extends z.ZodType = z.ZodType> {
  id: `builtin.${string}`
  name: string
  description: string
  category: z.infer<typeof CategorySchema>
  /** Consent purpose the dispatcher checks before sending a profile's data. */
  purpose: z.infer<typeof PurposeSchema>
  settings: S
  secretFields: string[]
  secretTransport: Record<string, z.infer<typeof SecretTransportSchema>>
  /**
   * Settings that decide where requests go (endpoints with a fixed vendor host need none). The
   * server checks them against the outbound policy and binds the secrets to them.
   */
  endpointFields?: Record<string, EndpointKind>
  actions: Action[]
  /** Most inputs one transform call should receive (vendor batch limit). */
  maxBatchSize: number
  /** Default requests per second for the dispatcher's token bucket. */
  rateLimit: number
  supportsDeletion: boolean
  /** The vendor documentation this connector follows. */
  docs: string[]
  /**
   * The vendor API this connector targets, for the catalog (docs/destinations.md is generated
   * from the manifests): its name, and its version, fixed or the default of a setting.
   */
  vendorApi: { name: string; version: string } | { name: string; versionSetting: string }
  /** The vendor's limits the connector works within, as the vendor states them (one per line). */
  limits: string[]
}

/** The manifest fields that can be checked as data (settings is a zod schema). */
export const ManifestDataSchema = z.object({
  id: z.string().regex(/^builtin\.[a-z0-9-]+$/),
  name: z.string().min(1),
  description: z.string().min(1),
  category: CategorySchema,
  purpose: PurposeSchema,
  secretFields: z.array(z.string()),
  secretTransport: z.record(z.string(), SecretTransportSchema),
  endpointFields: z.record(z.string(), EndpointKindSchema).optional(),
  actions: z.array(ActionSchema).min(1),
  maxBatchSize: z.number().int().positive(),
  rateLimit: z.number().positive(),
  supportsDeletion: z.boolean(),
  docs: z.array(z.string().url()).min(1),
  vendorApi: z.union([
    z.object({ name: z.string().min(1), version: z.string().min(1) }),
    z.object({ name: z.string().min(1), versionSetting: z.string().min(1) }),
  ]),
  limits: z.array(z.string().min(1)),
})

export interface TransformContext<S> {
  settings: S
  /** The configured destination instance id (part of idempotency keys). */
  destinationId: string
  /** Epoch ms. Transforms read time only from here (signatures, `updated_at` columns). */
  now: number
}

export interface Destination<S extends z.ZodType = z.ZodType> {
  manifest: DestinationManifest<S>
  /** Synchronous and pure: same inputs, settings and `now` give the same effects. */
  transform(inputs: DestinationInput[], ctx: TransformContext<z.infer<S>>): TransformResult
  classifyResponse: ClassifyResponse
}

/** A destination whose settings type is erased (for the registry). */
export interface AnyDestination {
  manifest: DestinationManifest
  transform(inputs: DestinationInput[], ctx: TransformContext<unknown>): TransformResult
  classifyResponse: ClassifyResponse
}

/** Identity helper that keeps the settings type when defining a destination. */
export function defineDestination<S extends z.ZodType>(d: Destination<S>): Destination<S> {
  return d
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export type DestinationErrorCode =
  | 'INVALID_SETTINGS'
  | 'INVALID_INPUT'
  | 'TEMPLATE_ERROR'
  | 'SECRET_DECRYPT_FAILED'
  | 'SECRET_KEY_INVALID'
  | 'SECRET_REENTRY_REQUIRED'
  | 'UNKNOWN_DESTINATION'

/** Errors carry a stable code and say what the caller should do. */
export class DestinationError extends DomainError<DestinationErrorCode> {
  constructor(code: DestinationErrorCode, message: string, details?: unknown) {
    super(DESTINATION_ERROR_KINDS[code], code, message, { details })
  }

  /** Field issues (`path`, `message`), as the API has always answered. */
  override publicDetails(): unknown {
    return this.details
  }
}

/** A destination refuses input and settings; a secret that cannot be read is the operator's to fix. */
const DESTINATION_ERROR_KINDS: Record<DestinationErrorCode, ErrorKind> = {
  INVALID_SETTINGS: 'invalid_input',
  INVALID_INPUT: 'invalid_input',
  TEMPLATE_ERROR: 'invalid_input',
  SECRET_DECRYPT_FAILED: 'config',
  SECRET_KEY_INVALID: 'config',
  SECRET_REENTRY_REQUIRED: 'invalid_input',
  UNKNOWN_DESTINATION: 'invalid_input',
}
