/**
 * Membership writes: current members (`segment_members`), one history row per stay
 * (`segment_membership_history`: entered_at, exited_at), and the activation contract in the
 * outbox: kind `segment.entered` / `segment.exited`, `profile_id`, payload
 * `{ segmentId, segmentName, at }`. Each write is one statement per segment (data-modifying
 * CTEs), whatever the number of profiles.
 */
import {
  compileSegmentMembers,
  compileSegmentMembersFor,
  SqlParams,
  type SegmentDefinition,
} from '../../core/segments/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import type { StoredSegment } from './definitions.js'

export const OUTBOX_SEGMENT_ENTERED = 'segment.entered'
export const OUTBOX_SEGMENT_EXITED = 'segment.exited'

export interface SegmentOutboxPayload {
  segmentId: string
  segmentName: string
  at: string
}

export interface MembershipDelta {
  entered: string[]
  exited: string[]
}

/**
 * Given CTEs `ins(profile_id)` (rows inserted into segment_members) and `del(profile_id)` (rows
 * deleted), the tail that writes history and outbox rows. Parameters: ws, segment id, name, at.
 */
function historyAndOutbox(
  p: SqlParams,
  a: { ws: string; seg: string; name: string; at: string; atIso: string; outbox: boolean },
): string {
  const atText = p.add(a.atIso, 'text')
  return `,
  hin AS (
    INSERT INTO segment_membership_history (workspace_id, segment_id, profile_id, entered_at)
    SELECT ${a.ws}, ${a.seg}, profile_id, ${a.at} FROM ins ON CONFLICT DO NOTHING
  ),
  hout AS (
    UPDATE segment_membership_history h SET exited_at = ${a.at} FROM del
    WHERE h.workspace_id = ${a.ws} AND h.segment_id = ${a.seg} AND h.profile_id = del.profile_id
      AND h.exited_at IS NULL
  ),
  ob AS (
    INSERT INTO outbox (workspace_id, kind, profile_id, payload, created_at)
    SELECT ${a.ws}, c.kind, c.profile_id,
      jsonb_build_object('segmentId', ${a.seg}, 'segmentName', ${a.name}, 'at', ${atText}), ${a.at}
    FROM (SELECT '${OUTBOX_SEGMENT_ENTERED}' AS kind, profile_id FROM ins
          UNION ALL SELECT '${OUTBOX_SEGMENT_EXITED}', profile_id FROM del) c
    WHERE ${p.add(a.outbox, 'boolean')}
  )
  SELECT (SELECT coalesce(array_agg(profile_id), '{}'::text[]) FROM ins) AS entered,
         (SELECT coalesce(array_agg(profile_id), '{}'::text[]) FROM del) AS exited`
}

function common(
  p: SqlParams,
  workspaceId: string,
  segment: { id: string; name: string },
  at: Date,
) {
  return {
    ws: p.add(workspaceId, 'text'),
    seg: p.add(segment.id, 'text'),
    name: p.add(segment.name, 'text'),
    at: p.add(at.toISOString(), 'timestamptz'),
    atIso: at.toISOString(),
  }
}

async function run(q: Queryable, text: string, values: unknown[]): Promise<MembershipDelta> {
  const res = await q.query<{ entered: string[]; exited: string[] }>(text, values)
  const row = res.rows[0]
  return { entered: row?.entered ?? [], exited: row?.exited ?? [] }
}

/** Applies known entered / exited profile ids of one segment (real-time path, merges). */
export async function applyMembershipDelta(
  q: Queryable,
  workspaceId: string,
  segment: { id: string; name: string },
  delta: MembershipDelta,
  at: Date,
  opts: { outbox?: boolean } = {},
): Promise<MembershipDelta> {
  if (delta.entered.length === 0 && delta.exited.length === 0) return delta
  const p = new SqlParams()
  const c = common(p, workspaceId, segment, at)
  const text = `WITH ins AS (
    INSERT INTO segment_members (workspace_id, segment_id, profile_id, entered_at)
    SELECT ${c.ws}, ${c.seg}, x, ${c.at} FROM unnest(${p.add(delta.entered, 'text[]')}) AS x
    ON CONFLICT DO NOTHING RETURNING profile_id
  ),
  del AS (
    DELETE FROM segment_members WHERE workspace_id = ${c.ws} AND segment_id = ${c.seg}
      AND profile_id = ANY(${p.add(delta.exited, 'text[]')}) RETURNING profile_id
  )${historyAndOutbox(p, { ...c, outbox: opts.outbox ?? true })}`
  return run(q, text, p.values)
}

/**
 * Re-evaluates one segment over the restricted set of profiles and applies the difference
 * with their current membership (real-time path: SQL compiler, correlated strategy).
 */
export async function evaluateSegmentFor(
  q: Queryable,
  workspaceId: string,
  segment: { id: string; name: string; definition: SegmentDefinition },
  profileIds: readonly string[],
  now: Date,
): Promise<MembershipDelta> {
  if (profileIds.length === 0) return { entered: [], exited: [] }
  const m = compileSegmentMembersFor(segment.definition, profileIds, { workspaceId, now })
  const p = new SqlParams(m.values)
  const c = common(p, workspaceId, segment, now)
  const ids = p.add([...profileIds], 'text[]')
  const text = `WITH m AS MATERIALIZED (${m.text}),
  cur AS MATERIALIZED (
    SELECT profile_id FROM segment_members
    WHERE workspace_id = ${c.ws} AND segment_id = ${c.seg} AND profile_id = ANY(${ids})
  ),
  ins AS (
    INSERT INTO segment_members (workspace_id, segment_id, profile_id, entered_at)
    SELECT ${c.ws}, ${c.seg}, m.id, ${c.at} FROM m
    WHERE NOT EXISTS (SELECT 1 FROM cur WHERE cur.profile_id = m.id)
    ON CONFLICT DO NOTHING RETURNING profile_id
  ),
  del AS (
    DELETE FROM segment_members sm WHERE sm.workspace_id = ${c.ws} AND sm.segment_id = ${c.seg}
      AND sm.profile_id IN (SELECT profile_id FROM cur WHERE NOT EXISTS
        (SELECT 1 FROM m WHERE m.id = cur.profile_id))
    RETURNING sm.profile_id
  )${historyAndOutbox(p, { ...c, outbox: true })}`
  return run(q, text, p.values)
}

/**
 * Re-evaluates one segment over the whole workspace in one statement (batch: create, update,
 * time-based changes) and records its size. Returns who entered and exited.
 */
export async function evaluateSegmentBatch(
  q: Queryable,
  workspaceId: string,
  segment: Pick<StoredSegment, 'id' | 'name' | 'definition'>,
  now: Date,
): Promise<MembershipDelta & { size: number }> {
  const m = compileSegmentMembers(segment.definition, { workspaceId, now })
  const p = new SqlParams(m.values)
  const c = common(p, workspaceId, segment, now)
  const text = `WITH m AS MATERIALIZED (${m.text}),
  ins AS (
    INSERT INTO segment_members (workspace_id, segment_id, profile_id, entered_at)
    SELECT ${c.ws}, ${c.seg}, m.id, ${c.at} FROM m
    WHERE NOT EXISTS (SELECT 1 FROM segment_members sm WHERE sm.workspace_id = ${c.ws}
      AND sm.segment_id = ${c.seg} AND sm.profile_id = m.id)
    ON CONFLICT DO NOTHING RETURNING profile_id
  ),
  del AS (
    DELETE FROM segment_members sm WHERE sm.workspace_id = ${c.ws} AND sm.segment_id = ${c.seg}
      AND NOT EXISTS (SELECT 1 FROM m WHERE m.id = sm.profile_id)
    RETURNING sm.profile_id
  )${historyAndOutbox(p, { ...c, outbox: true })}, (SELECT count(*) FROM m) AS size`
  const res = await q.query<{ entered: string[]; exited: string[]; size: number | string }>(
    text,
    p.values,
  )
  const row = res.rows[0]
  const delta = {
    entered: row?.entered ?? [],
    exited: row?.exited ?? [],
    size: Number(row?.size ?? 0),
  }
  await q.query(
    `INSERT INTO segment_size_history (workspace_id, segment_id, at, size, entered, exited)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (workspace_id, segment_id, at) DO UPDATE
       SET size = EXCLUDED.size, entered = segment_size_history.entered + EXCLUDED.entered,
           exited = segment_size_history.exited + EXCLUDED.exited`,
    [
      workspaceId,
      segment.id,
      now.toISOString(),
      delta.size,
      delta.entered.length,
      delta.exited.length,
    ],
  )
  await q.query('UPDATE segments SET last_evaluated_at = $3 WHERE workspace_id = $1 AND id = $2', [
    workspaceId,
    segment.id,
    now.toISOString(),
  ])
  return delta
}

/**
 * Records the current size of every segment of a workspace (the scheduler samples real-time
 * segments this way): a row when the size changed since the last row or the last row is older
 * than `minGapMs`, with entered/exited counted from the history since the last row.
 */
export async function recordSizes(
  q: Queryable,
  workspaceId: string,
  now: Date,
  minGapMs = 3_600_000,
): Promise<number> {
  const res = await q.query(
    `WITH last AS (
       SELECT DISTINCT ON (segment_id) segment_id, at, size FROM segment_size_history
       WHERE workspace_id = $1 ORDER BY segment_id, at DESC
     ), cur AS (
       SELECT s.id AS segment_id,
         (SELECT count(*) FROM segment_members sm WHERE sm.workspace_id = $1 AND sm.segment_id = s.id) AS size
       FROM segments s WHERE s.workspace_id = $1
     )
     INSERT INTO segment_size_history (workspace_id, segment_id, at, size, entered, exited)
     SELECT $1, cur.segment_id, $2::timestamptz, cur.size,
       (SELECT count(*) FROM segment_membership_history h WHERE h.workspace_id = $1
          AND h.segment_id = cur.segment_id AND h.entered_at > coalesce(last.at, '-infinity')
          AND h.entered_at <= $2::timestamptz),
       (SELECT count(*) FROM segment_membership_history h WHERE h.workspace_id = $1
          AND h.segment_id = cur.segment_id AND h.exited_at > coalesce(last.at, '-infinity')
          AND h.exited_at <= $2::timestamptz)
     FROM cur LEFT JOIN last ON last.segment_id = cur.segment_id
     WHERE last.at IS NULL OR (last.at < $2::timestamptz AND (last.size <> cur.size
       OR last.at <= $2::timestamptz - $3::bigint * interval '1 millisecond'))
     ON CONFLICT DO NOTHING`,
    [workspaceId, now.toISOString(), minGapMs],
  )
  return res.rowCount
}
