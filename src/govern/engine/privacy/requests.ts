/**
 * @module engine/privacy/requests
 * Store access for privacy requests and suppressions (the worker's writes and the API's reads and
 * lists), and the normalisation of the identifier a caller names (exactly as ingest normalises
 * it, with the workspace's identity rules).
 */
import { KindredError } from '../../../protocol/errors.js'
import {
  normalizeIdentifier,
  normalizeIdentifierType,
  type CompiledIdentityRules,
} from '../../../unify/core/index.js'
import {
  identifierHash,
  legacyIdentifierHash,
  maskIdentifier,
  type HashableIdentifier,
  type HashScheme,
  type SuppressionKey,
} from '../../core/privacy/suppression.js'
import type {
  DestinationReceipt,
  PrivacyRequestStatus,
  PrivacyRequestType,
  RawIdentifier,
  StepReceipt,
} from '../../core/privacy/privacy-request.js'
import type { Queryable } from '../../../platform/store/db.js'

/** Spellings callers use for identifier types (SDK field names) → the identities table's types. */
const typeAliases: Record<string, string> = {
  userid: 'user_id',
  anonymousid: 'anonymous_id',
  deviceid: 'device_id',
  profileid: 'profile_id',
}

/** Normalises a caller's identifier like ingest does; a 400 that says why when it cannot. */
export function normaliseRequestIdentifier(
  raw: RawIdentifier,
  rules: CompiledIdentityRules,
): HashableIdentifier {
  const folded = normalizeIdentifierType(raw.type)
  const type = folded === undefined ? undefined : (typeAliases[folded] ?? folded)
  if (type === undefined) {
    throw new KindredError('VALIDATION_FAILED', `identifier type "${raw.type}" is not valid`, {
      details: [{ path: 'identifier.type', message: 'use e.g. email, phone, user_id' }],
    })
  }
  if (type === 'profile_id') return { type, value: String(raw.value).trim() }
  const r = normalizeIdentifier(type, raw.value, rules)
  if (!r.ok) {
    throw new KindredError(
      'VALIDATION_FAILED',
      `identifier value is ${r.reason} for type ${type}: it could never identify anyone`,
      { details: [{ path: 'identifier.value', message: r.reason }] },
    )
  }
  return r.identifier
}

export interface PrivacyRequestRow {
  workspace_id: string
  id: string
  type: PrivacyRequestType
  status: PrivacyRequestStatus
  identifier_type: string
  identifier_hash: string
  /** `sha256` for requests filed before keyed hashes (ADR 0007), else `hmac-sha256`. */
  scheme: HashScheme
  key_id: string | null
  identifier_mask: string
  subject: RequestSubject
  steps: StepReceipt[]
  destinations: DestinationReceipt[]
  actor: string | null
  attempts: number
  error: string | null
  created_at: Date | string
  started_at: Date | string | null
  updated_at: Date | string
  finished_at: Date | string | null
}

/** Working state of a request (personal data: cleared when a deletion completes). */
export interface RequestSubject {
  identifier?: HashableIdentifier
  profileId?: string | null
  profileIds?: string[]
  identities?: HashableIdentifier[]
  snapshot?: { id: string; traits: Record<string, unknown>; identities: HashableIdentifier[] }
  jobIds?: string[]
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString())

/** The API's view of a request: no identifier in clear, only its type and mask. */
export function requestOutput(r: PrivacyRequestRow) {
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    identifier: { type: r.identifier_type, masked: r.identifier_mask },
    steps: r.steps,
    destinations: r.destinations,
    actor: r.actor,
    attempts: r.attempts,
    error: r.error,
    exportAvailable:
      r.type === 'access' && r.status === 'completed' && typeof r.subject.profileId === 'string',
    createdAt: iso(r.created_at),
    startedAt: iso(r.started_at),
    updatedAt: iso(r.updated_at),
    finishedAt: iso(r.finished_at),
  }
}

export async function insertRequest(
  tx: Queryable,
  row: {
    workspaceId: string
    id: string
    type: PrivacyRequestType
    identifier: HashableIdentifier
    actor: string | null
    now: string
  },
  key: SuppressionKey,
): Promise<PrivacyRequestRow> {
  // The request row outlives a deletion (it is the receipt): its hash is keyed like suppressions.
  const r = await tx.query<PrivacyRequestRow>(
    `INSERT INTO privacy_requests (workspace_id, id, type, status, identifier_type, identifier_hash,
       scheme, key_id, identifier_mask, subject, actor, next_run_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'pending', $4, $5, 'hmac-sha256', $6, $7, $8, $9, $10, $10, $10)
     RETURNING *`,
    [
      row.workspaceId,
      row.id,
      row.type,
      row.identifier.type,
      identifierHash(row.identifier, key),
      key.id,
      maskIdentifier(row.identifier),
      JSON.stringify({ identifier: row.identifier }),
      row.actor,
      row.now,
    ],
  )
  return r.rows[0] as PrivacyRequestRow
}

/** Where a page of a list starts: after the row with this sort key (newest first). */
export interface KeysetAfter {
  createdAt: string
  id: string
}

/** A page of a list; `hasMore`: a next page starts after the last row. */
export interface Page<T> {
  rows: T[]
  hasMore: boolean
}

/** One row past the page tells whether there is a next one. */
function page<T>(rows: T[], limit: number): Page<T> {
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit }
}

/** A workspace's requests, newest first, optionally of one status and type. */
export async function listRequests(
  q: Queryable,
  workspaceId: string,
  filter: {
    status?: PrivacyRequestStatus | undefined
    type?: PrivacyRequestType | undefined
    after?: KeysetAfter | undefined
    limit: number
  },
): Promise<Page<PrivacyRequestRow>> {
  const r = await q.query<PrivacyRequestRow>(
    `SELECT * FROM privacy_requests WHERE workspace_id = $1
       AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR type = $3)
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::text))
     ORDER BY created_at DESC, id DESC LIMIT $6`,
    [
      workspaceId,
      filter.status ?? null,
      filter.type ?? null,
      filter.after?.createdAt ?? null,
      filter.after?.id ?? '',
      filter.limit + 1,
    ],
  )
  return page(r.rows, filter.limit)
}

export async function getRequest(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<PrivacyRequestRow | undefined> {
  const r = await db.query<PrivacyRequestRow>(
    'SELECT * FROM privacy_requests WHERE workspace_id = $1 AND id = $2',
    [workspaceId, id],
  )
  return r.rows[0]
}

/**
 * Adds suppressions (idempotent per identifier and reason); returns the id of each identifier, in
 * the order of `identifiers`. Every new row is keyed (`hmac-sha256`). A legacy plain-sha256 row of the same
 * identifier (any reason) is rewritten under the key first, keeping its id, counts and dates: the
 * plaintext is at hand only now, and re-suppressing must not leave two rows for one identifier.
 */
export async function addSuppressions(
  tx: Queryable,
  input: {
    workspaceId: string
    identifiers: HashableIdentifier[]
    reason: 'suppression' | 'deletion'
    requestId: string | null
    newId: () => string
    now: string
  },
  key: SuppressionKey,
): Promise<string[]> {
  if (input.identifiers.length === 0) return []
  const byKey = new Map(input.identifiers.map((i) => [`${i.type}:${i.value}`, i]))
  // One row per identifier: ON CONFLICT cannot touch the same row twice in one statement.
  const rows = [...byKey.values()].map((i) => ({
    id: input.newId(),
    type: i.type,
    hash: identifierHash(i, key),
    legacy: legacyIdentifierHash(i),
    mask: maskIdentifier(i),
  }))
  // A keyed twin of the same reason would collide on the unique index: then the legacy row stays
  // (it matches the same people) rather than failing the request.
  await tx.query(
    `UPDATE privacy_suppressions s SET identifier_hash = x.hash, scheme = 'hmac-sha256', key_id = $3
     FROM jsonb_to_recordset($2::jsonb) AS x(hash text, legacy text)
     WHERE s.workspace_id = $1 AND s.scheme = 'sha256' AND s.identifier_hash = x.legacy
       AND NOT EXISTS (SELECT 1 FROM privacy_suppressions t WHERE t.workspace_id = $1
         AND t.identifier_hash = x.hash AND t.reason = s.reason)`,
    [input.workspaceId, JSON.stringify(rows), key.id],
  )
  const r = await tx.query<{ id: string; identifier_hash: string }>(
    `INSERT INTO privacy_suppressions (workspace_id, id, identifier_type, identifier_hash, scheme,
       key_id, identifier_mask, reason, request_id, created_at)
     SELECT $2, x.id, x.type, x.hash, 'hmac-sha256', $6, x.mask, $3, $4, $5
     FROM jsonb_to_recordset($1::jsonb) AS x(id text, type text, hash text, mask text)
     ON CONFLICT (workspace_id, identifier_hash, reason)
       DO UPDATE SET expires_at = NULL, request_id = coalesce(EXCLUDED.request_id, privacy_suppressions.request_id)
     RETURNING id, identifier_hash`,
    [JSON.stringify(rows), input.workspaceId, input.reason, input.requestId, input.now, key.id],
  )
  const byHash = new Map(r.rows.map((x) => [x.identifier_hash, x.id]))
  return input.identifiers.flatMap((i) => {
    const id = byHash.get(identifierHash(i, key))
    return id === undefined ? [] : [id]
  })
}

export interface SuppressionRow {
  id: string
  identifier_type: string
  identifier_mask: string
  reason: string
  request_id: string | null
  dropped_count: string | number
  last_dropped_at: Date | string | null
  created_at: Date | string
  expires_at: Date | string | null
}

export async function getSuppression(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<SuppressionRow | undefined> {
  const r = await q.query<SuppressionRow>(
    'SELECT * FROM privacy_suppressions WHERE workspace_id = $1 AND id = $2',
    [workspaceId, id],
  )
  return r.rows[0]
}

/** A workspace's suppressions and tombstones still in force at `now`, newest first. */
export async function listSuppressions(
  q: Queryable,
  workspaceId: string,
  filter: { now: string; after?: KeysetAfter | undefined; limit: number },
): Promise<Page<SuppressionRow>> {
  const r = await q.query<SuppressionRow>(
    `SELECT * FROM privacy_suppressions WHERE workspace_id = $1
       AND (expires_at IS NULL OR expires_at > $2)
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::text))
     ORDER BY created_at DESC, id DESC LIMIT $5`,
    [
      workspaceId,
      filter.now,
      filter.after?.createdAt ?? null,
      filter.after?.id ?? '',
      filter.limit + 1,
    ],
  )
  return page(r.rows, filter.limit)
}

/**
 * Lifts a suppression filed through the API; false when there is none by that id. A deletion's
 * tombstones are not lifted here: they expire on their own after the request.
 */
export async function deleteSuppression(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<boolean> {
  const r = await q.query(
    `DELETE FROM privacy_suppressions WHERE workspace_id = $1 AND id = $2 AND reason = 'suppression'`,
    [workspaceId, id],
  )
  return r.rowCount > 0
}
