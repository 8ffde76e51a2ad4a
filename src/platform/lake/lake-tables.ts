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
import type { LakeBatch } from './lake-store.js'
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
  /** A date partition is the UTC date of this timestamp column. */
  dateOf?: string
}

/** Who a privacy deletion removes from the lake. */
export interface LakeErasureSubject {
  workspaceId: string
  profileIds: string[]
  userIds: string[]
  anonymousIds: string[]
}

/**
 * One page of a batch's rows as NDJSON, built by the store itself (`json_build_object`), which
 * costs a third of returning columns to JS and serialising them there. JSON columns travel as
 * JSON strings holding their text: DuckDB's JSON type would re-serialise numbers through doubles.
 */
export interface LoadedPage {
  ndjson: string
  /** Changes the page covered (rows may be fewer: content deleted since). */
  changes: number
  /** Key of the next page; undefined on the last one. */
  next: string | undefined
}

export interface LakeTableSpec {
  name: LakeTableName
  description: string
  partitions: readonly [PartitionColumn, PartitionColumn]
  columns: readonly LakeColumn[]
  /**
   * One page of batch `batch`, after the page key `after` (undefined: from the start). Pages keep
   * each query short: PGlite is one connection, and the processor waits behind it.
   */
  load(
    tx: Queryable,
    batch: LakeBatch,
    after: string | undefined,
    limit: number,
  ): Promise<LoadedPage>
  /** Columns that make a row unique, when a batch could name the same content twice. */
  unique?: readonly string[]
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

/**
 * A page of `kind` changes of the batch by change id: `content` is a FROM … clause over the page
 * `c` that yields the rows, `row` their json_build_object. Timestamps go as JSON (ISO 8601 with
 * offset and microseconds); DuckDB reads them back as instants.
 */
async function pageByChangeId(
  tx: Queryable,
  kind: string,
  row: string,
  content: string,
  args: { batch: LakeBatch; after: string | undefined; limit: number },
): Promise<LoadedPage> {
  // The batch's id range bounds the key scan; `batch = $1` drops rows a later claim took.
  const r = await tx.query<{ changes: number; last: string | null; ndjson: string | null }>(
    `WITH c AS (
       SELECT * FROM lake_changes WHERE id > $2 AND id <= $4 AND batch = $1 AND kind = '${kind}'
       ORDER BY id LIMIT $3)
     SELECT (SELECT count(*) FROM c)::int AS changes, (SELECT max(id) FROM c)::text AS last,
       (SELECT string_agg(${row}::text, E'\\n') FROM ${content}) AS ndjson`,
    [args.batch.batch, args.after ?? String(args.batch.lo - 1), args.limit, args.batch.hi],
  )
  const out = r.rows[0]
  const changes = Number(out?.changes ?? 0)
  return {
    ndjson: out?.ndjson ?? '',
    changes,
    next: changes < args.limit || !out?.last ? undefined : out.last,
  }
}

const eventsTable: LakeTableSpec = {
  name: 'events',
  description: 'Every processed event, as stored (one row per event, append-only)',
  partitions: [
    { name: 'workspace_id', delta: 'string' },
    { name: 'event_date', delta: 'date', dateOf: 'timestamp' },
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
  load: (tx, batch, after, limit) =>
    pageByChangeId(
      tx,
      'event',
      `json_build_object('workspace_id', e.workspace_id, 'message_id', e.message_id,
         'source_id', e.source_id, 'profile_id', e.profile_id, 'seq', e.seq::text,
         'type', e.type, 'event', e.event, 'user_id', e.user_id, 'anonymous_id', e.anonymous_id,
         'timestamp', e."timestamp", 'received_at', e.received_at,
         'properties', e.properties::text, 'traits', e.traits::text,
         'context', e.context::text, 'payload', e.payload::text,
         ${MONEY_PROPERTIES.map((p) => `'${p}', e.properties->>'${p}'`).join(', ')},
         'currency', e.properties->>'currency')`,
      `c JOIN events e ON e.workspace_id = c.workspace_id AND e.source_id = c.source_id
         AND e.message_id = c.ref AND e."timestamp" = c.at`,
      { batch, after, limit },
    ),
  // An event is stored once per source and messageId, so its change is recorded once; this
  // keeps a batch from writing it twice should that ever change.
  unique: ['source_id', 'message_id'],
  erasePredicate: (s, list) =>
    `(profile_id IN ${list(s.profileIds)} OR user_id IN ${list(s.userIds)} OR anonymous_id IN ${list(s.anonymousIds)})`,
}

const profilesTable: LakeTableSpec = {
  name: 'profiles',
  description:
    'A version of a profile per change: golden record, identifiers, segments, computed traits; the latest version per profile is its current state',
  partitions: [
    { name: 'workspace_id', delta: 'string' },
    { name: 'changed_date', delta: 'date', dateOf: 'changed_at' },
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
      staged: 'STRUCT(type VARCHAR, value VARCHAR)[]',
      cast: (x) => x,
      stats: 'none',
    },
    {
      name: 'segments',
      delta: { type: 'array', elementType: 'string', containsNull: true },
      duck: 'VARCHAR[]',
      staged: 'VARCHAR[]',
      cast: (x) => x,
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
    // Pages by (workspace, profile): a profile's changes in the batch become one version.
    const [afterWs, afterId] = after === undefined ? ['', ''] : (JSON.parse(after) as string[])
    const r = await tx.query<{ changes: number; last: string | null; ndjson: string | null }>(
      `WITH x AS (
         SELECT workspace_id, profile_id, max(created_at) AS changed_at FROM lake_changes
         WHERE id BETWEEN $5 AND $6 AND batch = $1 AND kind = 'profile'
           AND profile_id IS NOT NULL AND (workspace_id, profile_id) > ($2, $3)
         GROUP BY workspace_id, profile_id ORDER BY workspace_id, profile_id LIMIT $4)
       SELECT (SELECT count(*) FROM x)::int AS changes,
         (SELECT json_build_array(workspace_id, profile_id)::text FROM x
          ORDER BY workspace_id DESC, profile_id DESC LIMIT 1) AS last,
         (SELECT string_agg(json_build_object(
            'workspace_id', p.workspace_id, 'profile_id', p.id, 'version', $1::bigint::text,
            'changed_at', x.changed_at, 'merged_into', p.merged_into,
            'traits', p.traits::text, 'golden', p.golden::text,
            'identities', coalesce((SELECT json_agg(json_build_object('type', i.type, 'value', i.value)
                ORDER BY i.type, i.value)
              FROM identities i WHERE i.workspace_id = p.workspace_id AND i.profile_id = p.id), '[]'),
            'segments', coalesce((SELECT json_agg(s.segment_id ORDER BY s.segment_id)
              FROM segment_members s WHERE s.workspace_id = p.workspace_id AND s.profile_id = p.id),
              '[]'),
            'computed_traits', coalesce((SELECT json_object_agg(v.computed_trait_id, v.value
                ORDER BY v.computed_trait_id)
              FROM computed_trait_values v
              WHERE v.workspace_id = p.workspace_id AND v.profile_id = p.id), '{}')::text,
            'consents', coalesce((SELECT json_object_agg(c.purpose, c.status ORDER BY c.purpose)
              FROM profile_consents c WHERE c.workspace_id = p.workspace_id AND c.profile_id = p.id),
              '{}')::text,
            'merge_count', p.merge_count::text, 'created_at', p.created_at,
            'updated_at', p.updated_at, 'first_seen_at', p.first_seen_at,
            'last_seen_at', p.last_seen_at)::text, E'\\n')
          FROM x JOIN profiles p ON p.workspace_id = x.workspace_id AND p.id = x.profile_id)
           AS ndjson`,
      [batch.batch, afterWs, afterId, limit, batch.lo, batch.hi],
    )
    const out = r.rows[0]
    const changes = Number(out?.changes ?? 0)
    return {
      ndjson: out?.ndjson ?? '',
      changes,
      next: changes < limit || !out?.last ? undefined : out.last,
    }
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
    { name: 'merged_date', delta: 'date', dateOf: 'at' },
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
  load: (tx, batch, after, limit) =>
    pageByChangeId(
      tx,
      'merge',
      `json_build_object('workspace_id', m.workspace_id, 'merge_id', m.id::text, 'kind', m.kind,
         'from_profile_id', m.from_profile_id, 'into_profile_id', m.into_profile_id,
         'rule', m.rule, 'identifiers', m.identifiers::text, 'joined_with', m.joined_with::text,
         'message_id', m.message_id, 'source_id', m.source_id, 'at', m.at)`,
      `c JOIN profile_merges m ON m.workspace_id = c.workspace_id AND m.id::text = c.ref`,
      { batch, after, limit },
    ),
  unique: ['merge_id'],
  erasePredicate: (s, list) =>
    `(from_profile_id IN ${list(s.profileIds)} OR into_profile_id IN ${list(s.profileIds)})`,
}

const membershipTable: LakeTableSpec = {
  name: 'segment_membership_changes',
  description: 'Every entry into and exit from a segment',
  partitions: [
    { name: 'workspace_id', delta: 'string' },
    { name: 'changed_date', delta: 'date', dateOf: 'at' },
  ],
  columns: [
    text('segment_id', 'minmax'),
    text('profile_id'),
    text('change', 'minmax'),
    timestamp('at'),
  ],
  load: (tx, batch, after, limit) =>
    pageByChangeId(
      tx,
      'membership',
      `json_build_object('workspace_id', c.workspace_id, 'segment_id', c.ref,
         'profile_id', c.profile_id, 'change', c.detail, 'at', c.at)`,
      `c`,
      { batch, after, limit },
    ),
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
