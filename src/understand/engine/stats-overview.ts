/**
 * The dashboard's numbers in one call: events per minute by source, profiles and identified
 * share, merges per day, segment sizes, delivery success per destination, data quality.
 * @module
 */
import type { Queryable } from '../../platform/store/db.js'

async function tableExists(db: Queryable, name: string): Promise<boolean> {
  const res = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name])
  return res.rows[0]?.t !== null && res.rows[0]?.t !== undefined
}

export async function statsOverview(db: Queryable, workspaceId: string, now: Date) {
  const hourAgo = new Date(now.getTime() - 3_600_000).toISOString()
  const monthAgo = new Date(now.getTime() - 30 * 86_400_000).toISOString()
  const [events, profiles, quality, merges] = await Promise.all([
    db.query<{ at: Date | string; source_id: string; count: number }>(
      `SELECT date_trunc('minute', received_at) AS at, source_id, count(*)::int AS count FROM events
       WHERE workspace_id = $1 AND received_at >= $2 GROUP BY 1, 2 ORDER BY 1`,
      [workspaceId, hourAgo],
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
              count(*) FILTER (WHERE traits ? 'phone')::int AS with_phone,
              count(*) FILTER (WHERE traits ? 'name' OR traits ? 'first_name')::int AS with_name
       FROM profiles WHERE workspace_id = $1 AND merged_into IS NULL`,
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
  const deliverySuccess = (await tableExists(db, 'delivery_attempts'))
    ? (
        await db.query<{
          destination_id: string
          name: string
          success: number
          failed: number
        }>(
          `SELECT d.id AS destination_id, d.name,
                  count(a.*) FILTER (WHERE a.status = 'success')::int AS success,
                  count(a.*) FILTER (WHERE a.status IN ('failed', 'retry', 'partial'))::int AS failed
           FROM destinations d LEFT JOIN delivery_attempts a
             ON a.workspace_id = d.workspace_id AND a.destination_id = d.id AND a.at >= $2
           WHERE d.workspace_id = $1 GROUP BY d.id, d.name ORDER BY d.name`,
          [workspaceId, monthAgo],
        )
      ).rows.map((r) => ({
        destinationId: r.destination_id,
        name: r.name,
        success: r.success,
        failed: r.failed,
      }))
    : []
  const p = profiles.rows[0] ?? { total: 0, identified: 0 }
  const q = quality.rows[0] ?? { with_email: 0, with_phone: 0, with_name: 0 }
  return {
    eventsPerMinute: events.rows.map((r) => ({
      at: new Date(r.at).toISOString(),
      sourceId: r.source_id,
      count: r.count,
    })),
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
