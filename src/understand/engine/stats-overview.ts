/**
 * The dashboard's numbers in one call: events per minute by source (zero-filled, by received or
 * event time), profiles and identified
 * share, merges per day, segment sizes, delivery success per destination, data quality.
 * @module
 */
import type { Queryable } from '../../platform/store/db.js'
import { zeroFillMinutes } from '../core/minute-buckets.js'

/**
 * Which clock buckets the events chart: `received` (when Kindred got them, the default: what a
 * live pipeline shows) or `event` (the event's own timestamp, which SDKs that batch or replay
 * send late; events dated in the future are left out).
 */
export type EventClock = 'received' | 'event'

/** A phone identifier in E.164 (`+`, country code, up to 15 digits), as the identity rules store them. */
const E164 = '^\\+[1-9][0-9]{6,14}$'

async function tableExists(db: Queryable, name: string): Promise<boolean> {
  const res = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name])
  return res.rows[0]?.t !== null && res.rows[0]?.t !== undefined
}

export async function statsOverview(
  db: Queryable,
  workspaceId: string,
  now: Date,
  options: { clock?: EventClock } = {},
) {
  const clock = options.clock ?? 'received'
  const column = clock === 'event' ? '"timestamp"' : 'received_at'
  const hourAgoDate = new Date(now.getTime() - 3_600_000)
  const hourAgo = hourAgoDate.toISOString()
  const monthAgo = new Date(now.getTime() - 30 * 86_400_000).toISOString()
  const [events, profiles, quality, merges] = await Promise.all([
    db.query<{ at: Date | string; source_id: string; count: number }>(
      `SELECT date_trunc('minute', ${column}) AS at, source_id, count(*)::int AS count FROM events
       WHERE workspace_id = $1 AND ${column} >= $2 AND ${column} <= $3 GROUP BY 1, 2 ORDER BY 1`,
      [workspaceId, hourAgo, now.toISOString()],
    ),
    db.query<{ total: number; identified: number }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM identities i WHERE i.workspace_id = p.workspace_id
                AND i.profile_id = p.id AND i.type IN ('user_id', 'email', 'phone')))::int AS identified
       FROM profiles p WHERE p.workspace_id = $1 AND p.merged_into IS NULL`,
      [workspaceId],
    ),
    db.query<{ with_email: number; with_phone: number; with_name: number }>(
      `SELECT count(*) FILTER (WHERE traits ? 'email')::int AS with_email,
              -- A phone trait can hold anything a form accepted; only a valid E.164 phone
              -- identifier reaches the person, so that is what the bar counts.
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM identities i
                WHERE i.workspace_id = p.workspace_id AND i.profile_id = p.id
                  AND i.type = 'phone' AND i.value ~ '${E164}'))::int AS with_phone,
              count(*) FILTER (WHERE traits ? 'name' OR traits ? 'first_name')::int AS with_name
       FROM profiles p WHERE p.workspace_id = $1 AND p.merged_into IS NULL`,
      [workspaceId],
    ),
    db.query<{ day: Date | string; count: number }>(
      `SELECT date_trunc('day', at) AS day, count(*)::int AS count FROM profile_merges
       WHERE workspace_id = $1 AND kind = 'merge' AND at >= $2 GROUP BY 1 ORDER BY 1`,
      [workspaceId, monthAgo],
    ),
  ])
  const segmentSizes = (await tableExists(db, 'segments'))
    ? (
        await db.query<{ id: string; name: string; size: number }>(
          `SELECT s.id, s.name, (SELECT count(*)::int FROM segment_members m
             WHERE m.workspace_id = s.workspace_id AND m.segment_id = s.id) AS size
           FROM segments s WHERE s.workspace_id = $1 ORDER BY size DESC, s.name LIMIT 20`,
          [workspaceId],
        )
      ).rows
    : []
  const deliverySuccess = (await tableExists(db, 'delivery_jobs'))
    ? (
        await db.query<{
          destination_id: string
          name: string
          success: number
          failed: number
          retrying: number
        }>(
          // Counted per delivery (job), not per attempt: a job that failed twice and then went
          // through is one success. Failed means dead-lettered (out of retry budget); jobs
          // still being retried are their own count, neither yet.
          `SELECT d.id AS destination_id, d.name,
                  count(j.id) FILTER (WHERE j.state = 'succeeded')::int AS success,
                  count(j.id) FILTER (WHERE j.state = 'dead')::int AS failed,
                  count(j.id) FILTER (WHERE j.state IN ('pending', 'in_flight')
                    AND j.attempts > 0)::int AS retrying
           FROM destinations d LEFT JOIN delivery_jobs j
             ON j.workspace_id = d.workspace_id AND j.destination_id = d.id AND j.created_at >= $2
           WHERE d.workspace_id = $1 GROUP BY d.id, d.name ORDER BY d.name`,
          [workspaceId, monthAgo],
        )
      ).rows.map((r) => ({
        destinationId: r.destination_id,
        name: r.name,
        success: r.success,
        failed: r.failed,
        retrying: r.retrying,
      }))
    : []
  const p = profiles.rows[0] ?? { total: 0, identified: 0 }
  const q = quality.rows[0] ?? { with_email: 0, with_phone: 0, with_name: 0 }
  return {
    eventsClock: clock,
    eventsPerMinute: zeroFillMinutes(
      events.rows.map((r) => ({
        at: new Date(r.at).toISOString(),
        sourceId: r.source_id,
        count: r.count,
      })),
      hourAgoDate,
      now,
    ),
    profiles: { total: p.total, identified: p.identified },
    mergesPerDay: merges.rows.map((r) => ({
      day: new Date(r.day).toISOString().slice(0, 10),
      count: r.count,
    })),
    segmentSizes,
    deliverySuccess,
    dataQuality: {
      withEmail: q.with_email,
      withPhone: q.with_phone,
      withName: q.with_name,
      total: p.total,
    },
  }
}

/** `GET /api/v1/stats/overview`, the dashboard's one call. */
export type StatsOverview = Awaited<ReturnType<typeof statsOverview>>
