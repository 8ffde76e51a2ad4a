/**
 * Tracking plans in the store, compiled through the pure plan cache (src/collect/core). The processor
 * reads only `(source_id, version)` per batch and fetches a plan's JSON when it meets a version it
 * has not compiled yet, so a save on any node takes effect on the next batch everywhere.
 */
import type { Queryable } from '../../platform/store/db.js'
import {
  trackingPlanSchema,
  type CompiledPlan,
  type PlanCache,
  type TrackingPlan,
} from '../core/tracking-plan.js'

export interface StoredPlan {
  sourceId: string
  version: number
  plan: TrackingPlan
  updatedAt: string
}

interface PlanRow {
  source_id: string
  version: number
  plan: unknown
  updated_at: Date | string
}

const toStored = (r: PlanRow): StoredPlan => ({
  sourceId: r.source_id,
  version: Number(r.version),
  plan: trackingPlanSchema.parse(r.plan),
  updatedAt: new Date(r.updated_at).toISOString(),
})

export async function getPlan(
  db: Queryable,
  workspaceId: string,
  sourceId: string,
): Promise<StoredPlan | undefined> {
  const res = await db.query<PlanRow>(
    `SELECT source_id, version, plan, updated_at FROM tracking_plans
     WHERE workspace_id = $1 AND source_id = $2`,
    [workspaceId, sourceId],
  )
  const row = res.rows[0]
  return row ? toStored(row) : undefined
}

/** Saves a plan as the next version (1 for the first). */
export async function savePlan(
  db: Queryable,
  workspaceId: string,
  sourceId: string,
  plan: TrackingPlan,
  now: Date,
): Promise<StoredPlan> {
  const res = await db.query<PlanRow>(
    `INSERT INTO tracking_plans (workspace_id, source_id, version, plan, updated_at)
     VALUES ($1, $2, 1, $3::jsonb, $4)
     ON CONFLICT (workspace_id, source_id) DO UPDATE
       SET version = tracking_plans.version + 1, plan = EXCLUDED.plan, updated_at = EXCLUDED.updated_at
     RETURNING source_id, version, plan, updated_at`,
    [workspaceId, sourceId, JSON.stringify(plan), now.toISOString()],
  )
  return toStored(res.rows[0] as PlanRow)
}

export async function deletePlan(
  db: Queryable,
  workspaceId: string,
  sourceId: string,
): Promise<boolean> {
  const res = await db.query(
    'DELETE FROM tracking_plans WHERE workspace_id = $1 AND source_id = $2',
    [workspaceId, sourceId],
  )
  return res.rowCount > 0
}

/** The compiled plans of these sources (sources without a plan are absent): ≤ 2 round trips. */
export async function loadCompiledPlans(
  tx: Queryable,
  cache: PlanCache,
  sourceIds: string[],
): Promise<Map<string, CompiledPlan>> {
  const out = new Map<string, CompiledPlan>()
  if (sourceIds.length === 0) return out
  const versions = await tx.query<{ source_id: string; version: number }>(
    'SELECT source_id, version FROM tracking_plans WHERE source_id = ANY($1::text[])',
    [sourceIds],
  )
  const missing = versions.rows.filter((r) => !cache.has(r.source_id, Number(r.version)))
  const current = new Map(versions.rows.map((r) => [r.source_id, Number(r.version)]))
  const fetched = new Map<string, TrackingPlan>()
  if (missing.length > 0) {
    const res = await tx.query<PlanRow>(
      `SELECT source_id, version, plan, updated_at FROM tracking_plans
       WHERE source_id = ANY($1::text[])`,
      [missing.map((r) => r.source_id)],
    )
    for (const r of res.rows) {
      // A save between the two reads: use the newer version, which is what we now hold.
      current.set(r.source_id, Number(r.version))
      fetched.set(r.source_id, trackingPlanSchema.parse(r.plan))
    }
  }
  for (const [sourceId, version] of current) {
    const plan = fetched.get(sourceId)
    if (!plan && !cache.has(sourceId, version)) continue // deleted between the two reads
    out.set(
      sourceId,
      cache.get(sourceId, version, () => plan as TrackingPlan),
    )
  }
  return out
}
