/**
 * A segment's members as CSV (`GET /api/v1/segments/:id/members/export`): profile id, the main
 * identifiers and when the profile joined. Generated page by page on the keyset cursor of
 * `segmentMembers` (profile id order), so memory stays bounded by one page however large the
 * segment is; the route streams the chunks as they come.
 */
import { stringify } from 'csv-stringify/sync'
import type { Queryable } from '../../../platform/store/db.js'

/** The identifier types exported as columns; other types are left out of the file. */
export const EXPORT_IDENTIFIERS = ['user_id', 'email', 'phone', 'anonymous_id'] as const
export const EXPORT_HEADER = ['profile_id', ...EXPORT_IDENTIFIERS, 'joined_at'] as const

const PAGE = 500

/** CSV chunks: the header, then one chunk per page of members. */
export async function* segmentMembersCsv(
  db: Queryable,
  workspaceId: string,
  segmentId: string,
  pageSize = PAGE,
): AsyncGenerator<string> {
  yield stringify([[...EXPORT_HEADER]])
  let after = ''
  for (;;) {
    const members = await db.query<{ profile_id: string; entered_at: Date | string }>(
      `SELECT profile_id, entered_at FROM segment_members
       WHERE workspace_id = $1 AND segment_id = $2 AND profile_id > $3
       ORDER BY profile_id LIMIT $4`,
      [workspaceId, segmentId, after, pageSize],
    )
    if (members.rows.length === 0) return
    const ids = members.rows.map((r) => r.profile_id)
    const idents = await db.query<{ profile_id: string; type: string; value: string }>(
      `SELECT profile_id, type, value FROM identities
       WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) AND type = ANY($3::text[])
       ORDER BY profile_id, type, first_seen_at, value`,
      [workspaceId, ids, [...EXPORT_IDENTIFIERS]],
    )
    const byProfile = new Map<string, Map<string, string[]>>()
    for (const r of idents.rows) {
      const types = byProfile.get(r.profile_id) ?? new Map<string, string[]>()
      byProfile.set(r.profile_id, types)
      types.set(r.type, [...(types.get(r.type) ?? []), r.value])
    }
    yield stringify(
      members.rows.map((m) => [
        m.profile_id,
        // A profile may hold several values of one type (two e-mails): all of them, `;`-joined.
        ...EXPORT_IDENTIFIERS.map((t) => (byProfile.get(m.profile_id)?.get(t) ?? []).join(';')),
        new Date(m.entered_at).toISOString(),
      ]),
    )
    if (members.rows.length < pageSize) return
    after = ids[ids.length - 1] as string
  }
}
