/**
 * @module engine/privacy/access-export
 * The access request's export: everything Kindred holds about a person, as one JSON document
 * streamed in chunks (events are read 1,000 at a time, so a person with millions of events never
 * sits in memory). Built at download time from the live store, so no second copy of the personal
 * data is kept. What each table contributes (see erase.ts for the deletion side):
 *
 * profiles (the person and merged-away profiles; `golden` = traits with provenance), identities,
 * profile_merges, identity_events, computed_trait_values (+ computed_traits names), segment_members
 * and segment_membership_history (+ segment names), profile_consents, delivery_jobs and their
 * delivery_attempts (what was sent to which destination, when, with what outcome), outbox,
 * destination_profile_traits, events (all partitions), imports (rejected-row samples that mention
 * an identifier), and any other table keyed by (workspace_id, profile_id) under `other`
 * (consent history and later additions).
 */
import type { Queryable } from '../../../platform/store/db.js'
import { profileKeyedTables } from './erase.js'

export interface ExportSubject {
  workspaceId: string
  requestId: string
  profileId: string | null
  profileIds: string[]
  identities: { type: string; value: string }[]
}

const explicit = new Set([
  'identities',
  'identity_events',
  'computed_trait_values',
  'segment_members',
  'segment_membership_history',
  'profile_consents',
  'delivery_jobs',
  'outbox',
  'destination_profile_traits',
  'events',
])

const EVENT_PAGE = 1_000

/** The export as JSON text chunks; concatenated they are one JSON object. */
export async function* accessExport(
  db: Queryable,
  s: ExportSubject,
  generatedAt: string,
): AsyncGenerator<string> {
  const ws = s.workspaceId
  const ids = s.profileIds
  const rows = async (sql: string, params: unknown[] = [ws, ids]) =>
    (await db.query<Record<string, unknown>>(sql, params)).rows
  const field = (name: string, value: unknown, first = false) =>
    `${first ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(value)}`

  yield '{'
  yield field('format', 'kindred.access-export.v1', true)
  yield field('requestId', s.requestId)
  yield field('generatedAt', generatedAt)
  yield field('profileId', s.profileId)
  const profiles = await rows(
    `SELECT id, merged_into AS "mergedInto", traits, golden, identifier_counts AS "identifierCounts",
       merge_count AS "mergeCount", created_at AS "createdAt", updated_at AS "updatedAt",
       first_seen_at AS "firstSeenAt", last_seen_at AS "lastSeenAt"
     FROM profiles WHERE workspace_id = $1 AND id = ANY($2::text[]) ORDER BY created_at, id`,
  )
  yield field('profile', profiles.find((p) => p.id === s.profileId) ?? null)
  yield field(
    'mergedProfiles',
    profiles.filter((p) => p.id !== s.profileId),
  )
  yield field(
    'identifiers',
    await rows(
      `SELECT type, value, profile_id AS "profileId", source_id AS "sourceId",
         message_id AS "messageId", first_seen_at AS "firstSeenAt"
       FROM identities WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) ORDER BY type, value`,
    ),
  )
  yield field(
    'merges',
    await rows(
      `SELECT id::text AS id, kind, from_profile_id AS "fromProfileId", into_profile_id AS "intoProfileId",
         message_id AS "messageId", source_id AS "sourceId", rule, identifiers, joined_with AS "joinedWith",
         details, at
       FROM profile_merges WHERE workspace_id = $1
         AND (from_profile_id = ANY($2::text[]) OR into_profile_id = ANY($2::text[])) ORDER BY id`,
    ),
  )
  yield field(
    'identityEvents',
    await rows(
      `SELECT id::text AS id, kind, profile_id AS "profileId", message_id AS "messageId", details, at
       FROM identity_events WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) ORDER BY id`,
    ),
  )
  yield field(
    'computedTraits',
    await rows(
      `SELECT v.computed_trait_id AS "computedTraitId", t.name, v.value, v.updated_at AS "updatedAt",
         v.profile_id AS "profileId"
       FROM computed_trait_values v LEFT JOIN computed_traits t
         ON t.workspace_id = v.workspace_id AND t.id = v.computed_trait_id
       WHERE v.workspace_id = $1 AND v.profile_id = ANY($2::text[]) ORDER BY v.computed_trait_id`,
    ),
  )
  yield field(
    'segments',
    await rows(
      `SELECT m.segment_id AS "segmentId", s.name, m.entered_at AS "enteredAt"
       FROM segment_members m LEFT JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
       WHERE m.workspace_id = $1 AND m.profile_id = ANY($2::text[]) ORDER BY m.segment_id`,
    ),
  )
  yield field(
    'segmentHistory',
    await rows(
      `SELECT h.segment_id AS "segmentId", s.name, h.entered_at AS "enteredAt", h.exited_at AS "exitedAt"
       FROM segment_membership_history h
       LEFT JOIN segments s ON s.workspace_id = h.workspace_id AND s.id = h.segment_id
       WHERE h.workspace_id = $1 AND h.profile_id = ANY($2::text[]) ORDER BY h.entered_at, h.segment_id`,
    ),
  )
  yield field(
    'consent',
    await rows(
      `SELECT purpose, status, updated_at AS "updatedAt", profile_id AS "profileId"
       FROM profile_consents WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) ORDER BY purpose`,
    ),
  )
  const jobs = await rows(
    `SELECT j.id::text AS id, j.destination_id AS "destinationId", d.name AS "destinationName",
       d.type AS "destinationType", j.kind, j.state, j.attempts, j.input, j.last_error AS "lastError",
       j.created_at AS "createdAt", j.finished_at AS "finishedAt"
     FROM delivery_jobs j LEFT JOIN destinations d ON d.workspace_id = j.workspace_id AND d.id = j.destination_id
     WHERE j.workspace_id = $1 AND j.profile_id = ANY($2::text[]) ORDER BY j.id`,
  )
  const attempts =
    jobs.length === 0
      ? []
      : await rows(
          `SELECT id::text AS id, destination_id AS "destinationId", job_ids::text[] AS "jobIds", attempt,
             status, request, response_status AS "responseStatus", error, at
           FROM delivery_attempts WHERE workspace_id = $1 AND job_ids && $2::bigint[] ORDER BY id`,
          [ws, jobs.map((j) => j.id)],
        )
  // A batched request also carried other people's data: only its summary is theirs to see.
  const own = new Set(jobs.map((j) => j.id as string))
  const shown = attempts.map((a) => {
    const jobIds = a.jobIds as string[]
    if (jobIds.every((id) => own.has(id))) return a
    const req = (a.request ?? {}) as { method?: unknown; url?: unknown }
    return {
      ...a,
      jobIds: jobIds.filter((id) => own.has(id)),
      request: { method: req.method, url: req.url, body: 'omitted: batched with other people' },
    }
  })
  yield field('deliveries', { jobs, attempts: shown })
  yield field(
    'outbox',
    await rows(
      `SELECT id::text AS id, kind, payload, created_at AS "createdAt" FROM outbox
       WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) ORDER BY id`,
    ),
  )
  yield field(
    'destinationTraits',
    await rows(
      `SELECT profile_id AS "profileId", traits FROM destination_profile_traits
       WHERE workspace_id = $1 AND profile_id = ANY($2::text[])`,
    ),
  )
  const values = s.identities.map((i) => i.value.toLowerCase()).filter((v) => v.length >= 3)
  yield field(
    'importRejects',
    values.length === 0
      ? []
      : await rows(
          `SELECT i.id AS "importId", e AS reject FROM imports i, jsonb_array_elements(i.errors) e
           WHERE i.workspace_id = $1 AND EXISTS (
             SELECT 1 FROM unnest($2::text[]) v WHERE strpos(lower(e::text), v) > 0)`,
          [ws, values],
        ),
  )
  const other: Record<string, unknown[]> = {}
  for (const table of await otherProfileTables(db)) {
    other[table] = await rows(
      `SELECT * FROM "${table.replace(/"/g, '""')}" WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) LIMIT 10000`,
    )
  }
  yield field('other', other)

  yield ',"events":['
  let after: { ts: string; id: string } | undefined
  let first = true
  for (;;) {
    const page = await db.query<{
      ts: string
      message_id: string
      source_id: string
      payload: unknown
    }>(
      `SELECT "timestamp"::text AS ts, "timestamp" AS t, message_id, source_id, payload FROM events
       WHERE workspace_id = $1 AND profile_id = ANY($2::text[])
         AND ($3::timestamptz IS NULL OR ("timestamp", message_id) > ($3::timestamptz, $4::text))
       ORDER BY "timestamp", message_id LIMIT ${EVENT_PAGE}`,
      [ws, ids, after?.ts ?? null, after?.id ?? ''],
    )
    if (page.rows.length === 0) break
    const parts = page.rows.map((r) =>
      JSON.stringify({ sourceId: r.source_id, ...(r.payload as object) }),
    )
    yield (first ? '' : ',') + parts.join(',')
    first = false
    const last = page.rows[page.rows.length - 1] as { ts: string; message_id: string }
    after = { ts: last.ts, id: last.message_id }
    if (page.rows.length < EVENT_PAGE) break
  }
  yield ']}'
}

async function otherProfileTables(db: Queryable): Promise<string[]> {
  const tables = await profileKeyedTables(db)
  return tables.filter((t) => !explicit.has(t) && !t.startsWith('audit'))
}
