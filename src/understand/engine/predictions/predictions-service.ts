/**
 * Prediction management for the API: create (queued for training), list, read (the model
 * report), retrain and delete, each scoped to one workspace. Training itself is the trainer's
 * (`prediction-trainer.ts`); this file only queues it, by setting the row's status and due time.
 */
import { z } from 'zod'
import {
  CLV_OUTPUTS,
  clvSettingsSchema,
  PREDICTION_NAME_PATTERN,
  predictionTraitId,
} from '../../core/predictions/index.js'
import { KindredError } from '../../../protocol/errors.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import { newId } from '../../../platform/store/ids.js'
import { loadSegments } from '../segments/definitions.js'

/** A workspace keeps at most this many predictions (each retrains over all purchases). */
export const MAX_PREDICTIONS = 50

export const predictionInputSchema = clvSettingsSchema.extend({
  name: z
    .string()
    .regex(
      PREDICTION_NAME_PATTERN,
      'a name is 1-63 characters: lower-case letters, digits and _, starting with a letter',
    ),
  kind: z.literal('clv'),
})
export type PredictionInput = z.infer<typeof predictionInputSchema>

export type PredictionStatus = 'queued' | 'training' | 'ready' | 'insufficient_data' | 'failed'

export interface PredictionRow {
  workspace_id: string
  id: string
  name: string
  kind: 'clv'
  settings: unknown
  status: PredictionStatus
  progress: unknown
  report: unknown
  error: string | null
  attempts: number
  next_run_at: Date | string
  locked_until: Date | string | null
  created_at: Date | string
  updated_at: Date | string
  started_at: Date | string | null
  finished_at: Date | string | null
  trained_at: Date | string | null
}

const iso = (v: Date | string | null): string | null =>
  v === null ? null : new Date(v).toISOString()

export function traitIdsOf(name: string): string[] {
  return CLV_OUTPUTS.map((o) => predictionTraitId(name, o))
}

/** What the API answers for a prediction. */
export function predictionView(r: PredictionRow) {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    settings: r.settings,
    status: r.status,
    progress: r.progress,
    report: r.report,
    error: r.error,
    attempts: r.attempts,
    traits: traitIdsOf(r.name),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    trainedAt: iso(r.trained_at),
  }
}
export type PredictionView = ReturnType<typeof predictionView>

export async function createPrediction(
  db: Db,
  workspaceId: string,
  input: PredictionInput,
  now: Date,
): Promise<PredictionView> {
  const { name, kind, ...rest } = input
  const settings = clvSettingsSchema.parse(rest)
  return db.transaction(async (tx) => {
    const count = await tx.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM predictions WHERE workspace_id = $1',
      [workspaceId],
    )
    if (Number(count.rows[0]?.n ?? 0) >= MAX_PREDICTIONS)
      throw new KindredError(
        'CONFLICT',
        `a workspace keeps at most ${MAX_PREDICTIONS} predictions; delete some first`,
      )
    const taken = await tx.query(
      'SELECT 1 FROM predictions WHERE workspace_id = $1 AND name = $2',
      [workspaceId, name],
    )
    if (taken.rows.length > 0)
      throw new KindredError('CONFLICT', `a prediction named "${name}" already exists`, {
        details: { name },
      })
    const r = await tx.query<PredictionRow>(
      `INSERT INTO predictions (workspace_id, id, name, kind, settings, status, next_run_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, 'queued', $6, $6, $6) RETURNING *`,
      [workspaceId, newId('prediction'), name, kind, JSON.stringify(settings), now.toISOString()],
    )
    return predictionView(r.rows[0] as PredictionRow)
  })
}

export async function listPredictions(
  q: Queryable,
  workspaceId: string,
): Promise<PredictionView[]> {
  const r = await q.query<PredictionRow>(
    'SELECT * FROM predictions WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC',
    [workspaceId],
  )
  return r.rows.map(predictionView)
}

export async function getPrediction(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<PredictionView | undefined> {
  const r = await q.query<PredictionRow>(
    'SELECT * FROM predictions WHERE workspace_id = $1 AND id = $2',
    [workspaceId, id],
  )
  const row = r.rows[0]
  return row === undefined ? undefined : predictionView(row)
}

/**
 * Queues a new training with the same settings. A training a live worker holds (its lease has
 * not run out) is not interrupted: the caller is told to wait (409).
 */
export async function retrainPrediction(
  db: Db,
  workspaceId: string,
  id: string,
  now: Date,
): Promise<PredictionView | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx.query<PredictionRow>(
      'SELECT * FROM predictions WHERE workspace_id = $1 AND id = $2 FOR UPDATE',
      [workspaceId, id],
    )
    const row = r.rows[0]
    if (row === undefined) return undefined
    const leased = row.locked_until !== null && new Date(row.locked_until).getTime() > now.getTime()
    if (row.status === 'training' && leased)
      throw new KindredError(
        'CONFLICT',
        `prediction ${id} is training; retrain once it has finished`,
      )
    if (row.status === 'queued') return predictionView(row)
    const u = await tx.query<PredictionRow>(
      `UPDATE predictions SET status = 'queued', next_run_at = $3, attempts = 0, error = NULL,
         progress = '{}'::jsonb, locked_until = NULL, updated_at = $3
       WHERE workspace_id = $1 AND id = $2 RETURNING *`,
      [workspaceId, id, now.toISOString()],
    )
    return predictionView(u.rows[0] as PredictionRow)
  })
}

/** Deletes a prediction and its traits; refused while segments read its traits. */
export async function deletePrediction(db: Db, workspaceId: string, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const r = await tx.query<{ name: string }>(
      'SELECT name FROM predictions WHERE workspace_id = $1 AND id = $2 FOR UPDATE',
      [workspaceId, id],
    )
    const name = r.rows[0]?.name
    if (name === undefined) return false
    const traits = traitIdsOf(name)
    const users = (await loadSegments(tx, workspaceId))
      .filter((s) => s.deps.computedTraits.some((c) => traits.includes(c)))
      .map((s) => s.id)
    if (users.length > 0)
      throw new KindredError(
        'CONFLICT',
        `prediction ${id} is read by segments ${users.join(', ')}; remove those conditions first`,
        { details: { referencedBy: users } },
      )
    await tx.query(
      'DELETE FROM computed_trait_values WHERE workspace_id = $1 AND computed_trait_id = ANY($2::text[])',
      [workspaceId, traits],
    )
    await tx.query('DELETE FROM predictions WHERE workspace_id = $1 AND id = $2', [workspaceId, id])
    return true
  })
}
