/**
 * @module platform/lake/lake-tables
 * The four lake tables: their columns (Delta type, DuckDB type, how a staged text value becomes
 * it, which statistics the log may carry), partitioning, and the SQL that reads a claimed batch's
 * content from the store. docs/lake.md describes the same layout for readers; change both.
 *
 * Column types. Event `properties`, `traits`, `context` and the rest of the event (`payload`) are
 * JSON text: the shape is the sender's, so a typed column per property would change the schema
 * with every new property name (and Delta's schema evolution cannot narrow a type again). Beside
 * them, Segment's well-known money properties are typed DECIMAL(38,9), read from the stored JSON
 * text (Postgres `jsonb` keeps numbers exactly), so sums are exact where they matter; a value that
 * does not fit exactly (over 29 integer digits, over 9 decimals, not a plain number) is NULL there
 * and stays whole in `properties`. Timestamps are Delta `timestamp` (UTC, microseconds).
 *
 * Statistics carry no identifier: the add actions of the JSON log are never rewritten, so a min or
 * max of user_id, profile_id or free text would outlive a privacy deletion. Columns with `minmax`
 * hold values Kindred controls (type, ids of sources and segments, times, amounts); the others get
 * null counts only.
 */
import type { Queryable } from '../store/db.js'
import type { DeltaField, DeltaPrimitive, DeltaType } from './delta-protocol.js'

export type LakeTableName = 'events' | 'profiles' | 'identity_merges' | 'segment_membership_changes'

export interface LakeColumn {
  name: string
  delta: DeltaType
  /** DuckDB type of the column in the Parquet file. */
  duck: string
  /** DuckDB type the staged NDJSON value is read as (text unless said otherwise). */
  staged?: string
  /** DuckDB expression turning the staged value (`x`) into `duck` (default: a cast). */
  cast?: (x: string) => string
  stats: 'minmax' | 'nulls' | 'none'
}

export interface PartitionColumn {
  name: string
  delta: 'string' | 'date'
}

/** Who a privacy deletion removes from the lake. */
export interface LakeErasureSubject {
  workspaceId: string
  profileIds: string[]
  userIds: string[]
  anonymousIds: string[]
}

export interface LoadedPage {
  rows: Record<string, unknown>[]
  next: string | undefined
}

/** A page by `lake_changes.id`: rows carry it as `change_id`, which is not a column. */
function byChangeId(rows: Record<string, unknown>[], limit: number): LoadedPage {
  const last = rows.at(-1)
  const next = rows.length < limit || !last ? undefined : String(last.change_id)
  for (const r of rows) delete r.change_id
  return { rows, next }
}

export interface LakeTableSpec {
  name: LakeTableName
  description: string
  partitions: readonly [PartitionColumn, PartitionColumn]
  columns: readonly LakeColumn[]
  /**
   * One page of batch `batch`'s rows (staged text: column and partition names as keys), after
   * the page key `after` (undefined: from the start); `next` is undefined on the last page. Pages
   * keep each query short: PGlite is one connection, and the processor waits behind it.
   */
  load(tx: Queryable, batch: number, after: string | undefined, limit: number): Promise<LoadedPage>
  /** What makes a row unique, when a batch could name the same content twice. */
  rowKey?(row: Record<string, unknown>): string
  /** DuckDB predicate over a data file's rows: true for the subject's rows. */
  erasePredicate(subject: LakeErasureSubject, list: (values: string[]) => string): string
  /** Profiles keep their latest version per profile when compacted. */
  latestBy?: { key: string; version: string }
}

const DECIMAL = 'DECIMAL(38,9)'
const decimalDelta: DeltaPrimitive = 'decimal(38,9)'
/** Exactly representable in DECIMAL(38,9): plain digits, at most 29 before and 9 after the point. */
const exactDecimal = (x: string) =>
  `CASE WHEN regexp_full_match(${x}, '-?[0-9]{1,29}([.][0-9]{1,9})?') THEN CAST(${x} AS ${DECIMAL}) END`

const text = (name: string, stats: LakeColumn['stats'] = 'nulls'): LakeColumn => ({
  name,
  delta: 'string',
  duck: 'VARCHAR',
  stats,
})
const long = (name: string, stats: LakeColumn['stats'] = 'minmax'): LakeColumn => ({
  name,
  delta: 'long',
  duck: 'BIGINT',
  stats,
})
const timestamp = (name: string): LakeColumn => ({
  name,
  delta: 'timestamp',
  duck: 'TIMESTAMPTZ',
  stats: 'minmax',
})
const money = (name: string): LakeColumn => ({
  name,
  delta: decimalDelta,
  duck: DECIMAL,
  cast: exactDecimal,
  stats: 'minmax',
})

/** Segment's e-commerce spec: the properties that hold amounts of money. */
export const MONEY_PROPERTIES = [
  'revenue',
  'value',
  'price',
  'total',
  'subtotal',
  'tax',
  'shipping',
  'discount',
] as const

/** A timestamptz as ISO text in UTC with its microseconds (the driver's Date would cut them). */
const iso = (x: string) => `to_char(${x} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
const day = (x: string) => `to_char(${x} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`

const eventsTable: LakeTableSpec = {
  name: 'events',
  description: 'Every processed event, as stored (one row per event, append-only)',
  partitions: [
    { name: 'workspace_id', delta: 'string' },
    { name: 'event_date', delta: 'date' },
  ],
  columns: [
    text('message_id'),
    text('source_id', 'minmax'),
    text('profile_id'),
    long('seq'),
    text('type', 'minmax'),
    text('event'),
    text('user_id'),
    text('anonymous_id'),
    timestamp('timestamp'),
    timestamp('received_at'),
    text('properties'),
    text('traits'),
    text('context'),
    text('payload'),
    ...MONEY_PROPERTIES.map(money),
    text('currency', 'minmax'),
  ],
  async load(tx, batch, after, limit) {
    const r = await tx.query(
      `SELECT c.id AS change_id, e.workspace_id, ${day('e."timestamp"')} AS event_date, e.message_id, e.source_id,
         e.profile_id, e.seq::text AS seq, e.type, e.event, e.user_id, e.anonymous_id,
         ${iso('e."timestamp"')} AS "timestamp", ${iso('e.received_at')} AS received_at,
         e.properties::text AS properties, e.traits::text AS traits, e.context::text AS context,
         e.payload::text AS payload,
         ${MONEY_PROPERTIES.map((p) => `e.properties->>'${p}' AS ${p}`).join(', ')},
         e.properties->>'currency' AS currency
       FROM lake_changes c
       JOIN events e ON e.workspace_id = c.workspace_id AND e.source_id = c.source_id
         AND e.message_id = c.ref AND e."timestamp" = c.at
       WHERE c.batch = $1 AND c.kind = 'event' AND c.id > $2 ORDER BY c.id LIMIT $3`,
      [batch, after ?? '0', limit],
    )
    return byChangeId(r.rows, limit)
  },
  // An event is stored once per source and messageId, so its change is recorded once; the key
  // keeps a batch from writing it twice should that ever change.
  rowKey: (r) => `${String(r.source_id)}\u0000${String(r.message_id)}`,
  erasePredicate: (s, list) =>
    `(profile_id IN ${list(s.profileIds)} OR user_id IN ${list(s.userIds)} OR anonymous_id IN ${list(s.anonymousIds)})`,
}

const profilesTable: LakeTableSpec = {
  name: 'profiles',
  description:
    'A version of a profile per change: golden record, identifiers, segments, computed traits; the latest version per profile is its current state',
  partitions: [
    { name: 'workspace_id', delta: 'string' },
    { name: 'changed_date', delta: 'date' },
  ],
  columns: [
    text('profile_id'),
    long('version'),
    timestamp('changed_at'),
    text('merged_into'),
    text('traits'),
    text('golden'),
    {
      name: 'identities',
      delta: {
        type: 'array',
        containsNull: true,
        elementType: {
          type: 'struct',
          fields: [
            { name: 'type', type: 'string', nullable: true, metadata: {} },
            { name: 'value', type: 'string', nullable: true, metadata: {} },
          ],
        },
      },
      duck: 'STRUCT(type VARCHAR, value VARCHAR)[]',
      cast: (x) => `CAST(CAST(${x} AS JSON) AS STRUCT(type VARCHAR, value VARCHAR)[])`,
      stats: 'none',
    },
    {
      name: 'segments',
      delta: { type: 'array', elementType: 'string', containsNull: true },
      duck: 'VARCHAR[]',
      cast: (x) => `CAST(CAST(${x} AS JSON) AS VARCHAR[])`,
      stats: 'none',
    },
    text('computed_traits'),
    text('consents'),
    long('merge_count'),
    timestamp('created_at'),
    timestamp('updated_at'),
    timestamp('first_seen_at'),
    timestamp('last_seen_at'),
  ],
  async load(tx, batch, after, limit) {
    // Pages by (workspace, profile): a profile's changes of the batch become one version.
    const [afterWs, afterId] = after === undefined ? ['', ''] : (JSON.parse(after) as string[])
    const r = await tx.query(
      `WITH changed AS (
         SELECT workspace_id, profile_id, max(created_at) AS changed_at FROM lake_changes
         WHERE batch = $1 AND kind = 'profile' AND profile_id IS NOT NULL
           AND (workspace_id, profile_id) > ($2, $3)
         GROUP BY workspace_id, profile_id ORDER BY workspace_id, profile_id LIMIT $4)
       SELECT p.workspace_id, ${day('x.changed_at')} AS changed_date, p.id AS profile_id,
         $1::text AS version, ${iso('x.changed_at')} AS changed_at, p.merged_into,
         p.traits::text AS traits, p.golden::text AS golden,
         coalesce((SELECT json_agg(json_build_object('type', i.type, 'value', i.value)
                     ORDER BY i.type, i.value)
                   FROM identities i WHERE i.workspace_id = p.workspace_id AND i.profile_id = p.id),
                  '[]')::text AS identities,
         coalesce((SELECT json_agg(s.segment_id ORDER BY s.segment_id) FROM segment_members s
                   WHERE s.workspace_id = p.workspace_id AND s.profile_id = p.id), '[]')::text
           AS segments,
         coalesce((SELECT json_object_agg(v.computed_trait_id, v.value ORDER BY v.computed_trait_id)
                   FROM computed_trait_values v
                   WHERE v.workspace_id = p.workspace_id AND v.profile_id = p.id), '{}')::text
           AS computed_traits,
         coalesce((SELECT json_object_agg(c.purpose, c.status ORDER BY c.purpose)
                   FROM profile_consents c
                   WHERE c.workspace_id = p.workspace_id AND c.profile_id = p.id), '{}')::text
           AS consents,
         p.merge_count::text AS merge_count,
         ${iso('p.created_at')} AS created_at, ${iso('p.updated_at')} AS updated_at,
         ${iso('p.first_seen_at')} AS first_seen_at, ${iso('p.last_seen_at')} AS last_seen_at,
         x.workspace_id AS page_ws, x.profile_id AS page_id
       FROM changed x LEFT JOIN profiles p ON p.workspace_id = x.workspace_id AND p.id = x.profile_id
       ORDER BY x.workspace_id, x.profile_id`,
      [batch, afterWs, afterId, limit],
    )
    // A page is full when it had `limit` changed profiles, whether or not they still exist.
    const last = r.rows.at(-1)
    const next =
      r.rows.length < limit || !last ? undefined : JSON.stringify([last.page_ws, last.page_id])
    const rows = r.rows.filter((row) => row.profile_id !== null)
    for (const row of rows) {
      delete row.page_ws
      delete row.page_id
    }
    return { rows, next }
  },
  erasePredicate: (s, list) =>
    `(profile_id IN ${list(s.profileIds)} OR merged_into IN ${list(s.profileIds)})`,
  latestBy: { key: 'profile_id', version: 'version' },
}

const mergesTable: LakeTableSpec = {
  name: 'identity_merges',
  description: 'Every merge and split of profiles, with the rule and identifiers that caused it',
  partitions: [
    { name: 'workspace_id', delta: 'string' },
    { name: 'merged_date', delta: 'date' },
  ],
  columns: [
    long('merge_id'),
    text('kind', 'minmax'),
    text('from_profile_id'),
    text('into_profile_id'),
    text('rule', 'minmax'),
    text('identifiers'),
    text('joined_with'),
    text('message_id'),
    text('source_id', 'minmax'),
    timestamp('at'),
  ],
  async load(tx, batch, after, limit) {
    const r = await tx.query(
      `SELECT c.id AS change_id, m.workspace_id, ${day('m.at')} AS merged_date, m.id::text AS merge_id, m.kind,
         m.from_profile_id, m.into_profile_id, m.rule, m.identifiers::text AS identifiers,
         m.joined_with::text AS joined_with, m.message_id, m.source_id, ${iso('m.at')} AS at
       FROM lake_changes c
       JOIN profile_merges m ON m.workspace_id = c.workspace_id AND m.id::text = c.ref
       WHERE c.batch = $1 AND c.kind = 'merge' AND c.id > $2 ORDER BY c.id LIMIT $3`,
      [batch, after ?? '0', limit],
    )
    return byChangeId(r.rows, limit)
  },
  rowKey: (r) => `${String(r.workspace_id)}\u0000${String(r.merge_id)}`,
  erasePredicate: (s, list) =>
    `(from_profile_id IN ${list(s.profileIds)} OR into_profile_id IN ${list(s.profileIds)})`,
}

const membershipTable: LakeTableSpec = {
  name: 'segment_membership_changes',
  description: 'Every entry into and exit from a segment',
  partitions: [
    { name: 'workspace_id', delta: 'string' },
    { name: 'changed_date', delta: 'date' },
  ],
  columns: [
    text('segment_id', 'minmax'),
    text('profile_id'),
    text('change', 'minmax'),
    timestamp('at'),
  ],
  async load(tx, batch, after, limit) {
    const r = await tx.query(
      `SELECT c.id AS change_id, c.workspace_id, ${day('c.at')} AS changed_date,
         c.ref AS segment_id, c.profile_id, c.detail AS change, ${iso('c.at')} AS at
       FROM lake_changes c
       WHERE c.batch = $1 AND c.kind = 'membership' AND c.id > $2 ORDER BY c.id LIMIT $3`,
      [batch, after ?? '0', limit],
    )
    return byChangeId(r.rows, limit)
  },
  erasePredicate: (s, list) => `(profile_id IN ${list(s.profileIds)})`,
}

export const LAKE_TABLES: readonly LakeTableSpec[] = [
  eventsTable,
  profilesTable,
  mergesTable,
  membershipTable,
]

/** The table's Delta schema: data columns, then the partition columns. */
export function deltaFields(spec: Pick<LakeTableSpec, 'columns' | 'partitions'>): DeltaField[] {
  return [
    ...spec.columns.map((c) => ({ name: c.name, type: c.delta, nullable: true, metadata: {} })),
    ...spec.partitions.map((p) => ({ name: p.name, type: p.delta, nullable: true, metadata: {} })),
  ]
}
