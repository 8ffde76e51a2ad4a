/**
 * The Profile API's read model: the SQL that loads a profile, its identities, segments, consent,
 * computed traits, merges and events, and the views the API sends. Routes parse and page; what a
 * profile looks like is decided here, once.
 * @module
 */
import type { Identifier } from '../core/identity/index.js'
import { goldenRecordSchema, type GoldenRecord } from '../core/profiles/index.js'
import type { Queryable } from '../../platform/store/db.js'
import { importOrigin } from '../../protocol/imported-events.js'

export interface ProfileRow {
  id: string
  traits: Record<string, unknown>
  merged_into: string | null
  created_at: Date | string
  updated_at: Date | string
  first_seen_at: Date | string | null
  last_seen_at: Date | string | null
  merge_count: number
}

/** A `[timestamp, id]` position in a page ordered newest first. */
export type PagePosition = [string, string]

export interface Page<T> {
  data: T[]
  /** Where the next page starts, or null on the last page. */
  next: PagePosition | null
}

const iso = (v: Date | string) => new Date(v).toISOString()
const isoOrNull = (v: Date | string | null) => (v === null ? null : iso(v))
const likePrefix = (text: string) => `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

export async function loadProfile(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<ProfileRow | undefined> {
  const res = await q.query<ProfileRow>(
    `SELECT id, traits, merged_into, created_at, updated_at, first_seen_at, last_seen_at, merge_count
     FROM profiles WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  )
  return res.rows[0]
}

export async function profileIdentities(q: Queryable, workspaceId: string, profileId: string) {
  const res = await q.query<{
    type: string
    value: string
    source_id: string | null
    message_id: string | null
    first_seen_at: Date | string
  }>(
    `SELECT type, value, source_id, message_id, first_seen_at FROM identities
     WHERE workspace_id = $1 AND profile_id = $2 ORDER BY type, value`,
    [workspaceId, profileId],
  )
  return res.rows.map((i) => ({
    type: i.type,
    value: i.value,
    sourceId: i.source_id,
    messageId: i.message_id,
    firstSeenAt: iso(i.first_seen_at),
  }))
}

/** One identifier of a profile with where and when it was first seen (`/profiles/:id/identities`). */
export type ProfileIdentityView = Awaited<ReturnType<typeof profileIdentities>>[number]

export async function profileSegments(q: Queryable, workspaceId: string, profileId: string) {
  const res = await q.query<{ segment_id: string; name: string | null; entered_at: Date | string }>(
    `SELECT m.segment_id, s.name, m.entered_at FROM segment_members m
     LEFT JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
     WHERE m.workspace_id = $1 AND m.profile_id = $2 ORDER BY m.entered_at`,
    [workspaceId, profileId],
  )
  return res.rows.map((r) => segmentView(r.segment_id, r.name, r.entered_at))
}

async function profileConsent(q: Queryable, workspaceId: string, profileId: string) {
  const res = await q.query<{ purpose: string; status: string; updated_at: Date | string }>(
    'SELECT purpose, status, updated_at FROM profile_consents WHERE workspace_id = $1 AND profile_id = $2',
    [workspaceId, profileId],
  )
  return consentView(res.rows.map((r) => [r.purpose, r.status, r.updated_at]))
}

async function profileComputedTraits(q: Queryable, workspaceId: string, profileId: string) {
  const res = await q.query<{
    computed_trait_id: string
    name: string | null
    definition: unknown
    value: unknown
    updated_at: Date | string
  }>(
    `SELECT v.computed_trait_id, t.name, t.definition, v.value, v.updated_at FROM computed_trait_values v
     LEFT JOIN computed_traits t ON t.workspace_id = v.workspace_id AND t.id = v.computed_trait_id
     WHERE v.workspace_id = $1 AND v.profile_id = $2 ORDER BY t.name`,
    [workspaceId, profileId],
  )
  return res.rows.map((r) =>
    computedView(r.computed_trait_id, r.name, r.definition, r.value, r.updated_at),
  )
}

const segmentView = (id: string, name: string | null, enteredAt: Date | string) => ({
  id,
  name: name ?? id,
  enteredAt: iso(enteredAt),
  exitedAt: null,
})
const computedView = (
  id: string,
  name: string | null,
  definition: unknown,
  value: unknown,
  updatedAt: Date | string,
) => ({ id, name: name ?? id, definition, value, updatedAt: iso(updatedAt) })
const consentView = (rows: Array<[string, string, Date | string]>) =>
  Object.fromEntries(
    rows.map(([purpose, status, updatedAt]) => [purpose, { status, updatedAt: iso(updatedAt) }]),
  )
const stamps = (row: ProfileRow) => ({
  mergeCount: row.merge_count,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
  firstSeenAt: isoOrNull(row.first_seen_at),
  lastSeenAt: isoOrNull(row.last_seen_at),
})

/** The whole profile: traits, identities, segments, computed traits and consent. */
export async function fullProfile(q: Queryable, workspaceId: string, row: ProfileRow) {
  const [identities, segments, consent, computedTraits] = await Promise.all([
    profileIdentities(q, workspaceId, row.id),
    profileSegments(q, workspaceId, row.id),
    profileConsent(q, workspaceId, row.id),
    profileComputedTraits(q, workspaceId, row.id),
  ])
  return {
    id: row.id,
    traits: row.traits,
    identities: identities.map((i) => ({ type: i.type, value: i.value })),
    segments,
    computedTraits,
    consent,
    ...stamps(row),
  }
}

/**
 * A number held in a jsonb property, whether sent as a number or as numeric text (CSV imports
 * and many SDKs send `"19.90"`); anything else is null, so one bad value never fails the query.
 */
const jsonNumber = (expr: string) =>
  `CASE WHEN jsonb_typeof(${expr}) = 'number' THEN (${expr})::text::numeric
        WHEN jsonb_typeof(${expr}) = 'string' AND btrim(${expr} #>> '{}') ~ '^-?[0-9]+(\\.[0-9]+)?$'
          THEN btrim(${expr} #>> '{}')::numeric END`

/**
 * The Profile 360 tiles in one statement: orders and revenue from `Order Completed` events
 * (revenue, else total, as Segment's e-commerce spec names them), first and last seen as the
 * profile keeps them (imports without their own time do not move them, see
 * protocol/imported-events.ts), and how many devices and anonymous ids the person has used.
 */
export async function profileSummary(q: Queryable, workspaceId: string, profileId: string) {
  const res = await q.query<{
    orders: number
    revenue: string | number | null
    first_seen_at: Date | string | null
    last_seen_at: Date | string | null
    devices: number
    anonymous_ids: number
  }>(
    `SELECT o.orders, o.revenue, p.first_seen_at, p.last_seen_at,
       (SELECT count(*)::int FROM identities i WHERE i.workspace_id = p.workspace_id
          AND i.profile_id = p.id AND i.type = 'device_id') AS devices,
       (SELECT count(*)::int FROM identities i WHERE i.workspace_id = p.workspace_id
          AND i.profile_id = p.id AND i.type = 'anonymous_id') AS anonymous_ids
     FROM profiles p,
       LATERAL (SELECT count(*)::int AS orders,
                  coalesce(sum(coalesce(${jsonNumber("e.properties->'revenue'")},
                                        ${jsonNumber("e.properties->'total'")})), 0) AS revenue
                FROM events e WHERE e.workspace_id = p.workspace_id AND e.profile_id = p.id
                  AND e.type = 'track' AND e.event = 'Order Completed') o
     WHERE p.workspace_id = $1 AND p.id = $2`,
    [workspaceId, profileId],
  )
  const r = res.rows[0]
  return {
    orders: r?.orders ?? 0,
    revenue: Number(r?.revenue ?? 0),
    firstSeenAt: r ? isoOrNull(r.first_seen_at) : null,
    lastSeenAt: r ? isoOrNull(r.last_seen_at) : null,
    devices: r?.devices ?? 0,
    anonymousIds: r?.anonymous_ids ?? 0,
  }
}

/** `GET /api/v1/profiles/:id/summary`: the Profile 360 tiles. */
export type Profile360Summary = Awaited<ReturnType<typeof profileSummary>>

/** `GET /api/v1/profiles/:id` and the lookup: the whole profile. */
export type ProfileView = Awaited<ReturnType<typeof fullProfile>>

/**
 * The lookup's whole answer in one statement (identity → profile → identities, segments,
 * consent, computed traits as json aggregates): one round trip instead of six, which on the
 * embedded store (one connection, queries queued) is most of the p99.
 * Same rows, order and view as fullProfile; timestamps come back as json text.
 */
export async function lookupProfile(
  q: Queryable,
  workspaceId: string,
  identifier: Identifier,
): Promise<ProfileView | undefined> {
  const res = await q.query<
    ProfileRow & {
      identities: Identifier[]
      segments: Array<{ id: string; name: string | null; enteredAt: string }>
      consent: Array<{ purpose: string; status: string; updatedAt: string }>
      computed: Array<{
        id: string
        name: string | null
        definition: unknown
        value: unknown
        updatedAt: string
      }>
    }
  >(
    `SELECT p.id, p.traits, p.merged_into, p.created_at, p.updated_at, p.first_seen_at,
       p.last_seen_at, p.merge_count,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('type', x.type, 'value', x.value)
          ORDER BY x.type, x.value), '[]') FROM identities x
        WHERE x.workspace_id = p.workspace_id AND x.profile_id = p.id) AS identities,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.segment_id, 'name', s.name,
          'enteredAt', m.entered_at) ORDER BY m.entered_at), '[]')
        FROM segment_members m
        LEFT JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
        WHERE m.workspace_id = p.workspace_id AND m.profile_id = p.id) AS segments,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('purpose', c.purpose, 'status', c.status,
          'updatedAt', c.updated_at)), '[]') FROM profile_consents c
        WHERE c.workspace_id = p.workspace_id AND c.profile_id = p.id) AS consent,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('id', v.computed_trait_id, 'name', t.name,
          'definition', t.definition, 'value', v.value, 'updatedAt', v.updated_at)
          ORDER BY t.name), '[]')
        FROM computed_trait_values v
        LEFT JOIN computed_traits t ON t.workspace_id = v.workspace_id AND t.id = v.computed_trait_id
        WHERE v.workspace_id = p.workspace_id AND v.profile_id = p.id) AS computed
     FROM identities i JOIN profiles p ON p.workspace_id = i.workspace_id AND p.id = i.profile_id
     WHERE i.workspace_id = $1 AND i.type = $2 AND i.value = $3`,
    [workspaceId, identifier.type, identifier.value],
  )
  const row = res.rows[0]
  if (!row) return undefined
  return {
    id: row.id,
    traits: row.traits,
    identities: row.identities,
    segments: row.segments.map((m) => segmentView(m.id, m.name, m.enteredAt)),
    computedTraits: row.computed.map((c) =>
      computedView(c.id, c.name, c.definition, c.value, c.updatedAt),
    ),
    consent: consentView(row.consent.map((c) => [c.purpose, c.status, c.updatedAt])),
    ...stamps(row),
  }
}

/**
 * Live profiles, most recently updated first; `text` matches an id exactly, identifiers by
 * prefix and names or e-mail by substring.
 */
export async function searchProfiles(
  q: Queryable,
  workspaceId: string,
  opts: { text: string; limit: number; after?: PagePosition | undefined },
) {
  const params: unknown[] = [workspaceId, opts.limit + 1]
  let where = 'p.workspace_id = $1 AND p.merged_into IS NULL'
  if (opts.text) {
    const lower = opts.text.toLowerCase()
    params.push(opts.text, `%${likePrefix(lower)}`, likePrefix(opts.text), likePrefix(lower))
    // Identifiers by prefix, as typed or lower-cased (emails are stored lower-cased): two range
    // scans of the identities prefix index. Names by substring.
    where += ` AND (p.id = $3 OR p.id IN (SELECT i.profile_id FROM identities i WHERE i.workspace_id = $1
      AND (i.value LIKE $5 OR i.value LIKE $6))
      OR lower(coalesce(p.traits->>'name', '') || ' ' || coalesce(p.traits->>'first_name', '') || ' ' ||
               coalesce(p.traits->>'last_name', '') || ' ' || coalesce(p.traits->>'email', '')) LIKE $4)`
  }
  if (opts.after) {
    params.push(opts.after[0], opts.after[1])
    where += ` AND (p.updated_at, p.id) < ($${params.length - 1}::timestamptz, $${params.length}::text)`
  }
  const res = await q.query<ProfileRow>(
    `SELECT p.id, p.traits, p.merged_into, p.created_at, p.updated_at, p.first_seen_at, p.last_seen_at, p.merge_count
     FROM profiles p WHERE ${where} ORDER BY p.updated_at DESC, p.id DESC LIMIT $2`,
    params,
  )
  const page = res.rows.slice(0, opts.limit)
  const ids = page.map((p) => p.id)
  const idents = ids.length
    ? await q.query<{ profile_id: string; type: string; value: string }>(
        'SELECT profile_id, type, value FROM identities WHERE workspace_id = $1 AND profile_id = ANY($2) ORDER BY type, value',
        [workspaceId, ids],
      )
    : { rows: [] }
  const byProfile = new Map<string, Identifier[]>()
  for (const i of idents.rows) {
    let list = byProfile.get(i.profile_id)
    if (!list) byProfile.set(i.profile_id, (list = []))
    list.push({ type: i.type, value: i.value })
  }
  const last = page.at(-1)
  return {
    data: page.map((p) => ({
      id: p.id,
      traits: p.traits,
      identities: byProfile.get(p.id) ?? [],
      createdAt: iso(p.created_at),
      updatedAt: iso(p.updated_at),
    })),
    next: res.rows.length > opts.limit && last ? [iso(last.updated_at), last.id] : null,
  } satisfies Page<unknown>
}

/** One search hit (`GET /api/v1/profiles`): the profile without its segments, consent and stamps. */
export type ProfileSummaryView = Awaited<ReturnType<typeof searchProfiles>>['data'][number]

export async function profileGoldenRecord(
  q: Queryable,
  workspaceId: string,
  profileId: string,
): Promise<GoldenRecord> {
  const res = await q.query<{ golden: unknown }>(
    'SELECT golden FROM profiles WHERE workspace_id = $1 AND id = $2',
    [workspaceId, profileId],
  )
  return goldenRecordSchema.parse(res.rows[0]?.golden ?? { traits: {} }) as GoldenRecord
}

const mergeReason = (kind: string, rule: string) =>
  kind === 'split'
    ? 'split requested'
    : rule === 'alias'
      ? 'alias call'
      : rule === 'probabilistic'
        ? 'probabilistic match'
        : 'shared identifier'

/** Merges into this profile, and into any profile that was later merged into it; newest first. */
export async function profileMerges(q: Queryable, workspaceId: string, profileId: string) {
  const res = await q.query<{
    id: number
    kind: string
    from_profile_id: string
    into_profile_id: string
    message_id: string | null
    source_id: string | null
    rule: string
    identifiers: Identifier[]
    joined_with: Identifier[]
    details: unknown
    at: Date | string
  }>(
    `SELECT id, kind, from_profile_id, into_profile_id, message_id, source_id, rule, identifiers, joined_with, details, at
     FROM profile_merges m WHERE m.workspace_id = $1 AND (
       m.into_profile_id = $2 OR m.from_profile_id = $2 OR m.into_profile_id IN (
         SELECT id FROM profiles WHERE workspace_id = $1 AND merged_into = $2))
     ORDER BY m.at DESC, m.id DESC LIMIT 1000`,
    [workspaceId, profileId],
  )
  return res.rows.map((m) => ({
    id: String(m.id),
    kind: m.kind,
    fromProfileId: m.from_profile_id,
    intoProfileId: m.into_profile_id,
    at: iso(m.at),
    reason: mergeReason(m.kind, m.rule),
    rule: m.rule,
    identifiers: m.identifiers,
    joinedWith: m.joined_with,
    messageId: m.message_id,
    sourceId: m.source_id,
    details: m.details,
  }))
}

/** One merge (or split) in a profile's history (`/profiles/:id/merges`). */
export type ProfileMergeView = Awaited<ReturnType<typeof profileMerges>>[number]

/** A profile's events, newest first, optionally of one type or one event name. */
export async function profileEvents(
  q: Queryable,
  workspaceId: string,
  profileId: string,
  opts: {
    limit: number
    type?: string | undefined
    event?: string | undefined
    after?: PagePosition | undefined
  },
) {
  const params: unknown[] = [workspaceId, profileId, opts.limit + 1]
  let where = 'workspace_id = $1 AND profile_id = $2'
  if (opts.type) {
    params.push(opts.type)
    where += ` AND type = $${params.length}`
  }
  if (opts.event) {
    params.push(opts.event)
    where += ` AND event = $${params.length}`
  }
  if (opts.after) {
    params.push(opts.after[0], opts.after[1])
    where += ` AND ("timestamp", message_id) < ($${params.length - 1}::timestamptz, $${params.length}::text)`
  }
  const res = await q.query<{
    message_id: string
    type: string
    event: string | null
    timestamp: Date | string
    received_at: Date | string
    source_id: string
    properties: Record<string, unknown>
    traits: Record<string, unknown>
    context: Record<string, unknown>
    payload: Record<string, unknown>
  }>(
    `SELECT message_id, type, event, "timestamp", received_at, source_id, properties, traits, context, payload
     FROM events WHERE ${where} ORDER BY "timestamp" DESC, message_id DESC LIMIT $3`,
    params,
  )
  const page = res.rows.slice(0, opts.limit)
  const last = page.at(-1)
  return {
    data: page.map((e) => {
      const timestamp = iso(e.timestamp)
      const receivedAt = iso(e.received_at)
      // An imported row is what a file said, not something the person did: marked, and its time
      // said to be the row's own or only the import's (protocol/imported-events.ts).
      const imported = importOrigin({ context: e.context, timestamp, receivedAt })
      return {
        messageId: e.message_id,
        type: e.type,
        event: e.event,
        timestamp,
        receivedAt,
        origin: imported ? ('import' as const) : ('tracked' as const),
        ...(imported ? { importedTime: imported.time } : {}),
        sourceId: e.source_id,
        userId: e.payload.userId ?? null,
        anonymousId: e.payload.anonymousId ?? null,
        properties: e.properties,
        traits: e.traits,
        context: e.context,
      }
    }),
    next: res.rows.length > opts.limit && last ? [iso(last.timestamp), last.message_id] : null,
  } satisfies Page<unknown>
}

/** One event of a profile's timeline (`/profiles/:id/events`). */
export type ProfileEventView = Awaited<ReturnType<typeof profileEvents>>['data'][number]
