/**
 * Segment and computed trait management for the API: create / update / delete with validation,
 * batch backfill and re-evaluation of what depends on the change, previews, members, sizes.
 * Every function is scoped to one workspace.
 */
import { z } from 'zod'
import {
  compileComputedTraitBackfill,
  computedTraitDefinitionSchema,
  parseComputedTraitDefinition,
  readState,
  valueOf,
} from '../../core/computed-traits/index.js'
import {
  assertNoSegmentCycle,
  compileSegmentPreview,
  dependencies,
  eventFilterSql,
  parseSegmentDefinition,
  SqlParams,
  type SegmentDefinition,
} from '../../core/segments/index.js'
import { predictionOfTraitId } from '../../core/predictions/index.js'
import { KindredError } from '../../../protocol/errors.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import { newId } from '../../../platform/store/ids.js'
import { backfillComputedTrait } from './computed-traits.js'
import {
  loadComputedTrait,
  loadComputedTraits,
  loadSegment,
  loadSegments,
  withDependents,
  type StoredComputedTrait,
  type StoredSegment,
} from './definitions.js'
import { evaluateSegmentBatch } from './membership.js'

const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1-64 characters: letters, digits, _ and -')

export const segmentInputSchema = z.object({
  id: idSchema.optional(),
  name: z.string().min(1).max(200),
  description: z.string().max(2000).nullish(),
  definition: z.unknown(),
  status: z.enum(['active', 'paused']).optional(),
})
export const segmentUpdateSchema = segmentInputSchema.omit({ id: true }).partial()
export const computedTraitInputSchema = segmentInputSchema
export const computedTraitUpdateSchema = segmentUpdateSchema

/** Cycle check, and every referenced computed trait must exist. */
async function checkReferences(
  q: Queryable,
  workspaceId: string,
  id: string,
  def: SegmentDefinition,
): Promise<void> {
  const segs = new Map((await loadSegments(q, workspaceId)).map((s) => [s.id, s.definition]))
  assertNoSegmentCycle(id, def, (ref) => segs.get(ref))
  const cts = new Set((await loadComputedTraits(q, workspaceId)).map((c) => c.id))
  // A prediction's outputs are computed-trait values with reserved ids, `predicted.<name>.<output>`
  // (src/understand/core/predictions/prediction-traits.ts): known while the prediction exists.
  const predicted = dependencies(def).computedTraits.filter(
    (c) => predictionOfTraitId(c) !== undefined,
  )
  const predictions = new Set<string>()
  if (predicted.length > 0) {
    const r = await q.query<{ name: string }>(
      'SELECT name FROM predictions WHERE workspace_id = $1',
      [workspaceId],
    )
    for (const row of r.rows) predictions.add(row.name)
  }
  const missing = dependencies(def).computedTraits.filter((c) => {
    const prediction = predictionOfTraitId(c)
    return prediction === undefined ? !cts.has(c) : !predictions.has(prediction)
  })
  if (missing.length > 0)
    throw new KindredError(
      'VALIDATION_FAILED',
      `The definition reads computed traits that do not exist: ${missing.join(', ')}. Create them first or fix the ids.`,
      { details: { code: 'COMPUTED_TRAIT_REFERENCE_UNKNOWN', missing } },
    )
}

export async function segmentSize(q: Queryable, workspaceId: string, id: string): Promise<number> {
  const r = await q.query<{ n: number | string }>(
    'SELECT count(*) AS n FROM segment_members WHERE workspace_id = $1 AND segment_id = $2',
    [workspaceId, id],
  )
  return Number(r.rows[0]?.n ?? 0)
}

export async function listSegments(
  db: Db,
  workspaceId: string,
): Promise<Array<StoredSegment & { size: number }>> {
  const [segs, sizes] = await Promise.all([
    loadSegments(db, workspaceId),
    db.query<{ segment_id: string; n: number | string }>(
      `SELECT segment_id, count(*) AS n FROM segment_members WHERE workspace_id = $1 GROUP BY segment_id`,
      [workspaceId],
    ),
  ])
  const by = new Map(sizes.rows.map((r) => [r.segment_id, Number(r.n)]))
  return segs.map((s) => ({ ...s, size: by.get(s.id) ?? 0 }))
}

export async function getSegment(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<(StoredSegment & { size: number }) | undefined> {
  const s = await loadSegment(db, workspaceId, id)
  return s === undefined ? undefined : { ...s, size: await segmentSize(db, workspaceId, id) }
}

export async function createSegment(
  db: Db,
  workspaceId: string,
  input: z.infer<typeof segmentInputSchema>,
  now: Date,
): Promise<StoredSegment & { size: number }> {
  const def = parseSegmentDefinition(input.definition)
  const id = input.id ?? newId('segment')
  return db
    .transaction(async (tx) => {
      if ((await loadSegment(tx, workspaceId, id)) !== undefined)
        throw new KindredError('CONFLICT', `segment ${id} already exists; choose another id`)
      await checkReferences(tx, workspaceId, id, def)
      const deps = dependencies(def)
      await tx.query(
        `INSERT INTO segments (workspace_id, id, name, description, definition, dependencies,
         time_dependent, status, version, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, 1, $9, $9)`,
        [
          workspaceId,
          id,
          input.name,
          input.description ?? null,
          JSON.stringify(def),
          JSON.stringify(deps),
          deps.timeDependent,
          input.status ?? 'active',
          now.toISOString(),
        ],
      )
      const seg = (await loadSegment(tx, workspaceId, id)) as StoredSegment
      const size =
        seg.status === 'active' ? (await evaluateSegmentBatch(tx, workspaceId, seg, now)).size : 0
      return { ...seg, size }
    })
    .then(async (r) => {
      await refreshStatistics(db, r.size)
      return r
    })
}

export async function updateSegment(
  db: Db,
  workspaceId: string,
  id: string,
  input: z.infer<typeof segmentUpdateSchema>,
  now: Date,
): Promise<(StoredSegment & { size: number }) | undefined> {
  return db.transaction(async (tx) => {
    const cur = await loadSegment(tx, workspaceId, id)
    if (cur === undefined) return undefined
    const def =
      input.definition === undefined ? cur.definition : parseSegmentDefinition(input.definition)
    await checkReferences(tx, workspaceId, id, def)
    const deps = dependencies(def)
    await tx.query(
      `UPDATE segments SET name = $3, description = $4, definition = $5::jsonb,
         dependencies = $6::jsonb, time_dependent = $7, status = $8, version = version + 1,
         updated_at = $9
       WHERE workspace_id = $1 AND id = $2`,
      [
        workspaceId,
        id,
        input.name ?? cur.name,
        input.description === undefined ? cur.description : input.description,
        JSON.stringify(def),
        JSON.stringify(deps),
        deps.timeDependent,
        input.status ?? cur.status,
        now.toISOString(),
      ],
    )
    await reevaluateBatch(tx, workspaceId, [id], now)
    return {
      ...((await loadSegment(tx, workspaceId, id)) as StoredSegment),
      size: await segmentSize(tx, workspaceId, id),
    }
  })
}

/** Re-evaluates the given segments and every segment referencing them, in batch. */
async function reevaluateBatch(
  tx: Queryable,
  workspaceId: string,
  roots: string[],
  now: Date,
): Promise<void> {
  const all = await loadSegments(tx, workspaceId, { activeOnly: true })
  for (const seg of withDependents(all, roots))
    await evaluateSegmentBatch(tx, workspaceId, seg, now)
}

async function referencedBy(
  q: Queryable,
  workspaceId: string,
  pick: (s: StoredSegment) => boolean,
): Promise<string[]> {
  return (await loadSegments(q, workspaceId)).filter(pick).map((s) => s.id)
}

/**
 * Deletes a segment, its members and its history. No `segment.exited` rows: the audience is
 * gone, not its people (destinations drop a deleted segment's audience as a whole).
 */
export async function deleteSegment(db: Db, workspaceId: string, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    if ((await loadSegment(tx, workspaceId, id)) === undefined) return false
    const users = await referencedBy(tx, workspaceId, (s) => s.deps.segments.includes(id))
    if (users.length > 0)
      throw new KindredError(
        'CONFLICT',
        `segment ${id} is referenced by ${users.join(', ')}; remove those references first`,
        { details: { referencedBy: users } },
      )
    for (const table of ['segment_members', 'segment_membership_history', 'segment_size_history'])
      await tx.query(`DELETE FROM ${table} WHERE workspace_id = $1 AND segment_id = $2`, [
        workspaceId,
        id,
      ])
    await tx.query('DELETE FROM segments WHERE workspace_id = $1 AND id = $2', [workspaceId, id])
    return true
  })
}

export interface SegmentPreview {
  count: number
  sample: Array<{ id: string; traits: Record<string, unknown> }>
  tookMs: number
}

export async function previewSegment(
  db: Db,
  workspaceId: string,
  input: unknown,
  now: Date,
  sampleSize = 20,
): Promise<SegmentPreview> {
  const started = performance.now()
  const def = parseSegmentDefinition(input)
  const q = compileSegmentPreview(def, { workspaceId, now, sampleSize })
  const res = await db.query<{ count: number | string; sample: string[] }>(q.text, q.values)
  const ids = res.rows[0]?.sample ?? []
  const traits =
    ids.length === 0
      ? []
      : (
          await db.query<{ id: string; traits: Record<string, unknown> }>(
            'SELECT id, traits FROM profiles WHERE workspace_id = $1 AND id = ANY($2::text[]) ORDER BY id',
            [workspaceId, ids],
          )
        ).rows
  return {
    count: Number(res.rows[0]?.count ?? 0),
    sample: traits.map((r) => ({ id: r.id, traits: r.traits })),
    tookMs: Math.round((performance.now() - started) * 10) / 10,
  }
}

/** A member of a segment (`/segments/:id/members`): the profile's id and traits, and since when. */
export interface SegmentMember {
  profileId: string
  enteredAt: string
  traits: Record<string, unknown>
}

export async function segmentMembers(
  db: Db,
  workspaceId: string,
  id: string,
  cursor: string | undefined,
  limit: number,
): Promise<{
  data: SegmentMember[]
  nextCursor: string | null
}> {
  const res = await db.query<{
    profile_id: string
    entered_at: Date | string
    traits: Record<string, unknown>
  }>(
    `SELECT sm.profile_id, sm.entered_at, p.traits FROM segment_members sm
     JOIN profiles p ON p.workspace_id = sm.workspace_id AND p.id = sm.profile_id
     WHERE sm.workspace_id = $1 AND sm.segment_id = $2 AND sm.profile_id > $3
     ORDER BY sm.profile_id LIMIT $4`,
    [workspaceId, id, cursor ?? '', limit + 1],
  )
  const rows = res.rows.slice(0, limit)
  return {
    data: rows.map((r) => ({
      profileId: r.profile_id,
      enteredAt: new Date(r.entered_at).toISOString(),
      traits: r.traits,
    })),
    nextCursor: res.rows.length > limit ? (rows[rows.length - 1]?.profile_id ?? null) : null,
  }
}

export async function segmentSizes(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<Array<{ at: string; size: number; entered: number; exited: number }>> {
  const res = await db.query<{
    at: Date | string
    size: string | number
    entered: string | number
    exited: string | number
  }>(
    `SELECT at, size, entered, exited FROM segment_size_history
     WHERE workspace_id = $1 AND segment_id = $2 ORDER BY at DESC LIMIT 1000`,
    [workspaceId, id],
  )
  return res.rows.reverse().map((r) => ({
    at: new Date(r.at).toISOString(),
    size: Number(r.size),
    entered: Number(r.entered),
    exited: Number(r.exited),
  }))
}

/** One profile's stays in a segment (entered / exited), newest first. */
export async function membershipHistory(
  db: Db,
  workspaceId: string,
  segmentId: string,
  profileId: string,
): Promise<Array<{ enteredAt: string; exitedAt: string | null }>> {
  const res = await db.query<{ entered_at: Date | string; exited_at: Date | string | null }>(
    `SELECT entered_at, exited_at FROM segment_membership_history
     WHERE workspace_id = $1 AND segment_id = $2 AND profile_id = $3 ORDER BY entered_at DESC`,
    [workspaceId, segmentId, profileId],
  )
  return res.rows.map((r) => ({
    enteredAt: new Date(r.entered_at).toISOString(),
    exitedAt: r.exited_at === null ? null : new Date(r.exited_at).toISOString(),
  }))
}

// ---- computed traits ----

export async function createComputedTrait(
  db: Db,
  workspaceId: string,
  input: z.infer<typeof computedTraitInputSchema>,
  now: Date,
): Promise<StoredComputedTrait & { profiles: number }> {
  const def = parseComputedTraitDefinition(input.definition)
  const id = input.id ?? newId('computedTrait')
  return db
    .transaction(async (tx) => {
      if ((await loadComputedTrait(tx, workspaceId, id)) !== undefined)
        throw new KindredError('CONFLICT', `computed trait ${id} already exists; choose another id`)
      await tx.query(
        `INSERT INTO computed_traits (workspace_id, id, name, description, definition, status, version, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, 1, $7, $7)`,
        [
          workspaceId,
          id,
          input.name,
          input.description ?? null,
          JSON.stringify(def),
          input.status ?? 'active',
          now.toISOString(),
        ],
      )
      const ct = (await loadComputedTrait(tx, workspaceId, id)) as StoredComputedTrait
      const { rows } = await backfillComputedTrait(tx, workspaceId, ct, now)
      return { ...ct, profiles: rows }
    })
    .then(async (r) => {
      await refreshStatistics(db, r.profiles)
      return r
    })
}

/**
 * Bulk writes leave the planner's statistics stale, and the embedded store has no autovacuum to
 * refresh them: one segment query went from 25 ms to 990 ms on stale computed trait statistics.
 */
export async function refreshStatistics(db: Queryable, changedRows: number): Promise<void> {
  if (changedRows >= 500) await db.query('ANALYZE computed_trait_values, segment_members')
}

export async function updateComputedTrait(
  db: Db,
  workspaceId: string,
  id: string,
  input: z.infer<typeof computedTraitUpdateSchema>,
  now: Date,
): Promise<(StoredComputedTrait & { profiles: number }) | undefined> {
  return db
    .transaction(async (tx) => {
      const cur = await loadComputedTrait(tx, workspaceId, id)
      if (cur === undefined) return undefined
      const def =
        input.definition === undefined
          ? cur.definition
          : parseComputedTraitDefinition(input.definition)
      await tx.query(
        `UPDATE computed_traits SET name = $3, description = $4, definition = $5::jsonb, status = $6,
         version = version + 1, updated_at = $7 WHERE workspace_id = $1 AND id = $2`,
        [
          workspaceId,
          id,
          input.name ?? cur.name,
          input.description === undefined ? cur.description : input.description,
          JSON.stringify(def),
          input.status ?? cur.status,
          now.toISOString(),
        ],
      )
      const ct = (await loadComputedTrait(tx, workspaceId, id)) as StoredComputedTrait
      const { rows } = await backfillComputedTrait(tx, workspaceId, ct, now)
      const users = await referencedBy(tx, workspaceId, (s) => s.deps.computedTraits.includes(id))
      await reevaluateBatch(tx, workspaceId, users, now)
      return { ...ct, profiles: rows }
    })
    .then(async (r) => {
      if (r !== undefined) await refreshStatistics(db, r.profiles)
      return r
    })
}

export async function deleteComputedTrait(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    if ((await loadComputedTrait(tx, workspaceId, id)) === undefined) return false
    const users = await referencedBy(tx, workspaceId, (s) => s.deps.computedTraits.includes(id))
    if (users.length > 0)
      throw new KindredError(
        'CONFLICT',
        `computed trait ${id} is read by segments ${users.join(', ')}; remove those conditions first`,
        { details: { referencedBy: users } },
      )
    await tx.query(
      'DELETE FROM computed_trait_values WHERE workspace_id = $1 AND computed_trait_id = $2',
      [workspaceId, id],
    )
    await tx.query('DELETE FROM computed_traits WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ])
    return true
  })
}

/** Values of an unsaved definition for a sample of the profiles that have qualifying events. */
export async function previewComputedTrait(
  db: Db,
  workspaceId: string,
  input: unknown,
  now: Date,
  sampleSize = 20,
): Promise<{ sample: Array<{ profileId: string; value: unknown }>; tookMs: number }> {
  const started = performance.now()
  const def = parseComputedTraitDefinition(input)
  const p = new SqlParams()
  const where = [`e.workspace_id = ${p.add(workspaceId, 'text')}`, 'e.profile_id IS NOT NULL']
  where.push(...eventFilterSql(def.event, 'e', p, now.getTime()))
  const ids = (
    await db.query<{ profile_id: string }>(
      `SELECT DISTINCT profile_id FROM (SELECT e.profile_id FROM events e WHERE ${where.join(' AND ')}
       LIMIT ${p.add(sampleSize * 50, 'int')}) s ORDER BY profile_id LIMIT ${p.add(sampleSize, 'int')}`,
      p.values,
    )
  ).rows.map((r) => r.profile_id)
  if (ids.length === 0) return { sample: [], tookMs: Math.round(performance.now() - started) }
  const q = compileComputedTraitBackfill(def, { workspaceId, now, profileIds: ids })
  const rows = await db.query<{ profile_id: string; state: unknown }>(q.text, q.values)
  const states = new Map(rows.rows.map((r) => [r.profile_id, readState(r.state)]))
  return {
    sample: ids.map((id) => ({
      profileId: id,
      value: valueOf(def, states.get(id) ?? { v: 1, b: {} }, now) ?? null,
    })),
    tookMs: Math.round((performance.now() - started) * 10) / 10,
  }
}

export { computedTraitDefinitionSchema }
