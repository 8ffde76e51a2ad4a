/**
 * @module engine/privacy/erase
 * Deletes a person from every table, in the caller's transaction. The tables are listed below
 * with what is done and why; tables added later that carry `(workspace_id, profile_id)` columns
 * are found in information_schema and cleared too (consent history, …), so a new profile-keyed
 * table cannot be forgotten.
 *
 * | table | what happens |
 * |---|---|
 * | profiles | the profile and every merged-away profile pointing to it (recursively) |
 * | identities | every identifier of those profiles (and the requested identifier) |
 * | events (all partitions) | rows of those profiles, and unresolved rows whose user_id / anonymous_id is one of the identifiers |
 * | every table with workspace_id + profile_id | rows of those profiles: computed_trait_values, segment_members, segment_membership_history, profile_consents (+ history), outbox, delivery_jobs, destination_profile_traits, identity_events, … |
 * | delivery_attempts | attempts of the person's jobs: deleted when they carried only that person's jobs, otherwise the request summary is redacted; then any attempt whose request, response or error mentions an identifier is redacted, whatever its jobs (a job gone with its destination) |
 * | delivery_jobs | also jobs of no profile whose input mentions an identifier |
 * | event_violations | violations of the person's events (by messageId) and any whose text mentions an identifier |
 * | quarantined_events | rows whose payload or error mentions an identifier (matched on the payload's text, so stored JSON or text alike) |
 * | matching_pairs | candidate pairs with one of those profiles, or whose explanation mentions an identifier |
 * | profile_separations | also rows whose other side is one of those profiles |
 * | profile_merges | merges and splits from or into those profiles |
 * | identity_events | also rows whose details mention an identifier or profile id |
 * | event_log | not-yet-applied log rows: the person's events are cut out of each chunk |
 * | imports | rejected-row samples (`errors`) that mention an identifier |
 * | privacy_requests | access requests about the person lose their working state (export gone) |
 * | event_ids | kept: (source, messageId) only, no identifier; keeping it makes an SDK retry of an old event a duplicate instead of a resurrection |
 * | segment_size_history, segments, destinations, sources, … | aggregate or configuration: nothing personal |
 *
 * Outside the store (src/govern/engine/privacy/outside-store.ts): the embedded file event log and the
 * imports' rejects files. After the erasure the touched tables are vacuumed (best effort).
 */
import type { Queryable } from '../../../platform/store/db.js'
import {
  extractIdentifiers,
  identifierKey,
  type CompiledIdentityRules,
} from '../../../unify/core/index.js'
import type { KindredEvent } from '../../../protocol/event-schema.js'

export interface ErasureSubject {
  workspaceId: string
  /** The surviving profile (merged-away profiles pointing to it are found here). */
  profileIds: string[]
  identities: { type: string; value: string }[]
}

/** Tables never cleared by the generic pass (append-only records, handled explicitly). */
const genericExclusions = (table: string) =>
  table.startsWith('audit') || table === 'privacy_requests' || table === 'profiles'

/** The profile and every profile merged into it, directly or through others. */
export async function profileCluster(
  tx: Queryable,
  workspaceId: string,
  profileId: string,
): Promise<string[]> {
  const r = await tx.query<{ id: string }>(
    `WITH RECURSIVE cluster(id) AS (
       SELECT $2::text
       UNION SELECT p.id FROM profiles p JOIN cluster c ON p.merged_into = c.id
       WHERE p.workspace_id = $1)
     SELECT id FROM cluster`,
    [workspaceId, profileId],
  )
  return r.rows.map((x) => x.id)
}

/** Every identifier of these profiles. */
export async function clusterIdentities(
  tx: Queryable,
  workspaceId: string,
  profileIds: string[],
): Promise<{ type: string; value: string }[]> {
  const r = await tx.query<{ type: string; value: string }>(
    `SELECT type, value FROM identities WHERE workspace_id = $1 AND profile_id = ANY($2::text[])
     ORDER BY type, value`,
    [workspaceId, profileIds],
  )
  return r.rows
}

/** Tables of the current schema with both workspace_id and profile_id (partitions excluded). */
export async function profileKeyedTables(tx: Queryable): Promise<string[]> {
  const r = await tx.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     JOIN pg_class pc ON pc.relname = c.table_name
     JOIN pg_namespace n ON n.oid = pc.relnamespace AND n.nspname = c.table_schema
     WHERE c.table_schema = current_schema() AND c.column_name IN ('workspace_id', 'profile_id')
       AND t.table_type = 'BASE TABLE' AND NOT pc.relispartition
     GROUP BY c.table_name HAVING count(*) = 2 ORDER BY c.table_name`,
  )
  return r.rows.map((x) => x.table_name)
}

/** True when the event carries one of the person's identifiers. */
export function concernsPerson(
  event: KindredEvent,
  keys: Set<string>,
  rules: CompiledIdentityRules,
) {
  const x = extractIdentifiers(event, rules)
  if (x.identifiers.some((i) => keys.has(identifierKey(i)))) return true
  const prev = x.previousId
  return prev !== undefined && (keys.has(`user_id:${prev}`) || keys.has(`anonymous_id:${prev}`))
}

/**
 * Erases the subject; returns rows affected per table (the erase step's receipt). Run it inside
 * one transaction: either everything about the person is gone or nothing changed.
 */
export async function erasePerson(
  tx: Queryable,
  subject: ErasureSubject,
  rules: CompiledIdentityRules,
): Promise<Record<string, number>> {
  const { workspaceId, profileIds } = subject
  const counts: Record<string, number> = {}
  const add = (table: string, n: number) => {
    if (n > 0) counts[table] = (counts[table] ?? 0) + n
  }
  const values = [...new Set(subject.identities.map((i) => i.value))]
  const needles = [...values, ...profileIds]
    .filter((v) => v.length >= 3)
    .map((v) => v.toLowerCase())

  // The delivery log of the person's jobs, before the jobs themselves go.
  const jobs = await tx.query<{ id: string }>(
    `SELECT id::text AS id FROM delivery_jobs WHERE workspace_id = $1 AND profile_id = ANY($2::text[])`,
    [workspaceId, profileIds],
  )
  const jobIds = jobs.rows.map((j) => j.id)
  if (jobIds.length > 0) {
    const attempts = await scrubAttempts(tx, workspaceId, jobIds)
    add('delivery_attempts', attempts)
  }
  if (needles.length > 0) {
    add('delivery_attempts', await scrubAttemptsByNeedles(tx, workspaceId, needles))
    add(
      'delivery_jobs',
      (
        await tx.query(
          `DELETE FROM delivery_jobs WHERE workspace_id = $1 AND profile_id IS NULL
           AND ${mentions('input::text')}`,
          [workspaceId, needles],
        )
      ).rowCount,
    )
  }
  // Violations are keyed by messageId: those of the person's events go before the events do.
  add(
    'event_violations',
    (
      await tx.query(
        `DELETE FROM event_violations v USING events e
         WHERE v.workspace_id = $1 AND e.workspace_id = $1 AND e.profile_id = ANY($2::text[])
           AND v.source_id = e.source_id AND v.message_id = e.message_id`,
        [workspaceId, profileIds],
      )
    ).rowCount,
  )
  if (needles.length > 0) {
    add(
      'event_violations',
      (
        await tx.query(
          `DELETE FROM event_violations WHERE workspace_id = $1 AND ${mentions('violations::text')}`,
          [workspaceId, needles],
        )
      ).rowCount,
    )
    const quarantined = await tx.query<{ source_id: string; message_id: string }>(
      `DELETE FROM quarantined_events WHERE workspace_id = $1
       AND (${mentions("coalesce(payload_text, payload::text, '')")} OR ${mentions("coalesce(error, '')")})
       RETURNING source_id, message_id`,
      [workspaceId, needles],
    )
    add('quarantined_events', quarantined.rowCount)
    if (quarantined.rows.length > 0) {
      add(
        'event_violations',
        (
          await tx.query(
            `DELETE FROM event_violations v USING unnest($2::text[], $3::text[]) AS q(s, m)
             WHERE v.workspace_id = $1 AND v.source_id = q.s AND v.message_id = q.m`,
            [
              workspaceId,
              quarantined.rows.map((q) => q.source_id),
              quarantined.rows.map((q) => q.message_id),
            ],
          )
        ).rowCount,
      )
    }
  }
  add(
    'matching_pairs',
    (
      await tx.query(
        `DELETE FROM matching_pairs WHERE workspace_id = $1
         AND (profile_a = ANY($2::text[]) OR profile_b = ANY($2::text[])
              OR ${mentions('explanation::text', '$3')})`,
        [workspaceId, profileIds, needles],
      )
    ).rowCount,
  )
  add(
    'profile_separations',
    (
      await tx.query(
        `DELETE FROM profile_separations WHERE workspace_id = $1 AND other_profile_id = ANY($2::text[])`,
        [workspaceId, profileIds],
      )
    ).rowCount,
  )

  for (const table of (await profileKeyedTables(tx)).filter((t) => !genericExclusions(t))) {
    const r = await tx.query(
      `DELETE FROM ${quoteIdent(table)} WHERE workspace_id = $1 AND profile_id = ANY($2::text[])`,
      [workspaceId, profileIds],
    )
    add(table, r.rowCount)
  }
  const types = subject.identities.map((i) => i.type)
  const idValues = subject.identities.map((i) => i.value)
  add(
    'identities',
    (
      await tx.query(
        `DELETE FROM identities i USING unnest($2::text[], $3::text[]) AS x(type, value)
         WHERE i.workspace_id = $1 AND i.type = x.type AND i.value = x.value`,
        [workspaceId, types, idValues],
      )
    ).rowCount,
  )
  add(
    'events',
    (
      await tx.query(
        `DELETE FROM events WHERE workspace_id = $1 AND profile_id IS NULL
         AND (user_id = ANY($2::text[]) OR anonymous_id = ANY($2::text[]))`,
        [workspaceId, values],
      )
    ).rowCount,
  )
  add(
    'profile_merges',
    (
      await tx.query(
        `DELETE FROM profile_merges WHERE workspace_id = $1
         AND (from_profile_id = ANY($2::text[]) OR into_profile_id = ANY($2::text[]))`,
        [workspaceId, profileIds],
      )
    ).rowCount,
  )
  add(
    'profiles',
    (
      await tx.query('DELETE FROM profiles WHERE workspace_id = $1 AND id = ANY($2::text[])', [
        workspaceId,
        profileIds,
      ])
    ).rowCount,
  )
  if (needles.length > 0) {
    add(
      'identity_events',
      (
        await tx.query(
          `DELETE FROM identity_events WHERE workspace_id = $1 AND EXISTS (
             SELECT 1 FROM unnest($2::text[]) v WHERE strpos(lower(details::text), v) > 0)`,
          [workspaceId, needles],
        )
      ).rowCount,
    )
    add(
      'imports',
      (
        await tx.query(
          `UPDATE imports SET errors = coalesce((SELECT jsonb_agg(e) FROM jsonb_array_elements(errors) e
             WHERE NOT EXISTS (SELECT 1 FROM unnest($2::text[]) v WHERE strpos(lower(e::text), v) > 0)),
             '[]'::jsonb)
           WHERE workspace_id = $1 AND EXISTS (
             SELECT 1 FROM unnest($2::text[]) v WHERE strpos(lower(errors::text), v) > 0)`,
          [workspaceId, needles],
        )
      ).rowCount,
    )
    add('event_log', await scrubEventLog(tx, subject, rules, needles))
  }
  if (profileIds.length > 0) {
    add(
      'privacy_requests',
      (
        await tx.query(
          `UPDATE privacy_requests SET subject = '{}'::jsonb
           WHERE workspace_id = $1 AND type = 'access' AND subject->>'profileId' = ANY($2::text[])`,
          [workspaceId, profileIds],
        )
      ).rowCount,
    )
  }
  return counts
}

/**
 * Attempts that carried only these jobs are deleted; attempts of a batch that also carried other
 * people's jobs keep their row (the others' delivery history) with the request summary redacted.
 */
export async function scrubAttempts(
  tx: Queryable,
  workspaceId: string,
  jobIds: string[],
): Promise<number> {
  const del = await tx.query(
    `DELETE FROM delivery_attempts WHERE workspace_id = $1 AND job_ids <@ $2::bigint[]`,
    [workspaceId, jobIds],
  )
  const red = await tx.query(
    `UPDATE delivery_attempts SET request = '{"redacted":"privacy deletion"}'::jsonb,
       response_excerpt = NULL, error = NULL,
       job_ids = ARRAY(SELECT j FROM unnest(job_ids) j WHERE NOT j = ANY($2::bigint[]))
     WHERE workspace_id = $1 AND job_ids && $2::bigint[]`,
    [workspaceId, jobIds],
  )
  return del.rowCount + red.rowCount
}

/**
 * Attempts whose request, response or error mentions one of the needles are redacted, whichever
 * jobs they carried: a job may be gone (its destination deleted) while its attempts stay.
 */
export async function scrubAttemptsByNeedles(
  tx: Queryable,
  workspaceId: string,
  needles: string[],
): Promise<number> {
  if (needles.length === 0) return 0
  const r = await tx.query(
    `UPDATE delivery_attempts SET request = '{"redacted":"privacy deletion"}'::jsonb,
       response_excerpt = NULL, error = NULL
     WHERE workspace_id = $1 AND (${mentions('request::text')}
       OR ${mentions("coalesce(response_excerpt, '')")} OR ${mentions("coalesce(error, '')")})`,
    [workspaceId, needles],
  )
  return r.rowCount
}

/** SQL: the lower-cased `expr` contains one of the needles (a text[] parameter). */
function mentions(expr: string, param = '$2'): string {
  return `EXISTS (SELECT 1 FROM unnest(${param}::text[]) v WHERE strpos(lower(${expr}), v) > 0)`
}

/** Cuts the person's events out of event_log chunks (unapplied rows; applied ones are gone). */
async function scrubEventLog(
  tx: Queryable,
  subject: ErasureSubject,
  rules: CompiledIdentityRules,
  needles: string[],
): Promise<number> {
  const rows = await tx.query<{ seq: string; events: string }>(
    `SELECT seq::text AS seq, events FROM event_log WHERE workspace_id = $1 AND EXISTS (
       SELECT 1 FROM unnest($2::text[]) v WHERE strpos(lower(events), v) > 0)
     ORDER BY seq FOR UPDATE`,
    [subject.workspaceId, needles],
  )
  const keys = new Set(subject.identities.map(identifierKey))
  let changed = 0
  for (const row of rows.rows) {
    const events = JSON.parse(row.events) as KindredEvent[]
    const kept = events.filter((e) => !concernsPerson(e, keys, rules))
    if (kept.length === events.length) continue
    changed++
    if (kept.length === 0) await tx.query('DELETE FROM event_log WHERE seq = $1', [row.seq])
    else
      await tx.query('UPDATE event_log SET events = $2, event_count = $3 WHERE seq = $1', [
        row.seq,
        JSON.stringify(kept),
        kept.length,
      ])
  }
  return changed
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}
