/**
 * @module experiments/experiments-service
 * Standalone experiments: definitions in the `experiments` table, deterministic assignment
 * (`core/experiments/experiment-assignment.ts`), and readouts from the store's events. An
 * exposure is an `Experiment Viewed` track event (the Segment spec's name) with
 * `properties.experiment_id` = the experiment's key and `properties.variation_id` = the arm; a
 * profile's first exposure decides its arm, and its metric events count from that instant on.
 * All metrics are one SQL aggregate grouped by arm, returning n, Σx, Σx² per arm and metric: the
 * stats engine needs nothing else.
 */

import { z } from 'zod'
import { KindredError } from '../../../protocol/errors.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import { newId } from '../../../platform/store/ids.js'
import { assignArm } from '../../core/experiments/experiment-assignment.js'
import { experimentReadout, type Readout } from '../../core/experiments/experiment-readout.js'
import type { ArmStatistic } from '../../core/experiments/sufficient-statistics.js'

export const EXPOSURE_EVENT = 'Experiment Viewed'
export const DEFAULT_RESULTS_TIMEOUT_MS = 30_000
/** CUPED's pre-exposure window: the metric over the 14 days before a profile's first exposure. */
export const PRE_EXPOSURE_DAYS = 14

const slug = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)')

const armSchema = z
  .object({
    key: slug,
    name: z.string().min(1).max(200).optional(),
    weight: z.number().positive().max(1e6),
  })
  .strict()
const metricSchema = z
  .object({
    key: slug,
    name: z.string().min(1).max(200).optional(),
    kind: z.enum(['conversion', 'count', 'sum']),
    event: z.string().min(1).max(200),
    property: z.string().min(1).max(200).optional(),
    role: z.enum(['goal', 'guardrail']).default('goal'),
  })
  .strict()
  .refine((m) => m.kind !== 'sum' || m.property !== undefined, {
    message: 'a sum metric names its property',
    path: ['property'],
  })

export const experimentInputSchema = z
  .object({
    key: slug,
    name: z.string().min(1).max(200),
    arms: z
      .array(armSchema)
      .min(1)
      .max(10)
      .refine((a) => new Set(a.map((x) => x.key)).size === a.length, 'arm keys must be unique'),
    metrics: z
      .array(metricSchema)
      .max(20)
      .default([])
      .refine((m) => new Set(m.map((x) => x.key)).size === m.length, 'metric keys must be unique'),
  })
  .strict()

export type ExperimentInput = z.infer<typeof experimentInputSchema>

export interface Experiment {
  id: string
  key: string
  name: string
  salt: string
  arms: Array<{ key: string; name: string; weight: number }>
  metrics: Array<z.infer<typeof metricSchema> & { name: string }>
  createdAt: string
  updatedAt: string
}

interface ExperimentRow {
  id: string
  key: string
  name: string
  salt: string
  arms: Experiment['arms']
  metrics: Experiment['metrics']
  created_at: Date | string
  updated_at: Date | string
}

const iso = (v: Date | string): string =>
  v instanceof Date ? v.toISOString() : new Date(v).toISOString()
const fromRow = (r: ExperimentRow): Experiment => ({
  id: r.id,
  key: r.key,
  name: r.name,
  salt: r.salt,
  arms: r.arms,
  metrics: r.metrics,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
})
const COLUMNS = 'id, key, name, salt, arms, metrics, created_at, updated_at'

export async function createExperiment(
  db: Queryable,
  workspaceId: string,
  input: ExperimentInput,
  now: Date,
): Promise<Experiment> {
  const arms = input.arms.map((a) => ({ key: a.key, name: a.name ?? a.key, weight: a.weight }))
  const metrics = input.metrics.map((m) => ({ ...m, name: m.name ?? m.key }))
  const { rows } = await db.query<ExperimentRow>(
    `INSERT INTO experiments (workspace_id, id, key, name, salt, arms, metrics, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $8)
     ON CONFLICT (workspace_id, key) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      workspaceId,
      newId('experiment'),
      input.key,
      input.name,
      newId('experiment', 24),
      JSON.stringify(arms),
      JSON.stringify(metrics),
      now.toISOString(),
    ],
  )
  const row = rows[0]
  if (!row)
    throw new KindredError('CONFLICT', `an experiment with key "${input.key}" exists`, {
      details: { key: input.key },
    })
  return fromRow(row)
}

export async function listExperiments(db: Queryable, workspaceId: string): Promise<Experiment[]> {
  const { rows } = await db.query<ExperimentRow>(
    `SELECT ${COLUMNS} FROM experiments WHERE workspace_id = $1 ORDER BY created_at, id`,
    [workspaceId],
  )
  return rows.map(fromRow)
}

export async function getExperiment(
  db: Queryable,
  workspaceId: string,
  id: string,
): Promise<Experiment | undefined> {
  const { rows } = await db.query<ExperimentRow>(
    `SELECT ${COLUMNS} FROM experiments WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  )
  return rows[0] ? fromRow(rows[0]) : undefined
}

export async function experimentByKey(
  db: Queryable,
  workspaceId: string,
  key: string,
): Promise<Experiment | undefined> {
  const { rows } = await db.query<ExperimentRow>(
    `SELECT ${COLUMNS} FROM experiments WHERE workspace_id = $1 AND key = $2`,
    [workspaceId, key],
  )
  return rows[0] ? fromRow(rows[0]) : undefined
}

/** The arm of a unit (a profile id, or an anonymous id before identification), or a clear 404. */
export async function assignUnit(
  db: Queryable,
  workspaceId: string,
  key: string,
  unitId: string,
): Promise<{ experiment: string; variation: string; name: string }> {
  const e = await experimentByKey(db, workspaceId, key)
  if (!e)
    throw new KindredError('NOT_FOUND', `experiment "${key}" not found`, {
      details: { experiment: key },
    })
  const arm = assignArm(e.arms, e.salt, unitId)
  return {
    experiment: e.key,
    variation: arm.key,
    name: e.arms.find((a) => a.key === arm.key)?.name ?? arm.key,
  }
}

export interface ExperimentResults {
  experiment: { id: string; key: string; name: string }
  arms: Array<{ key: string; name: string; weight: number; exposed: number }>
  readout: Readout
  meta: { elapsedMs: number }
}

/** The readout of an experiment: exposures, one aggregate per metric grouped by arm, the stats. */
export async function experimentResults(
  d: { db: Db; clock: () => Date; timeoutMs: number },
  workspaceId: string,
  id: string,
): Promise<ExperimentResults | undefined> {
  const e = await getExperiment(d.db, workspaceId, id)
  if (!e) return undefined
  const started = d.clock().getTime()
  const exposedCte = `exposed AS (
      SELECT DISTINCT ON (profile_id) profile_id, properties->>'variation_id' AS arm, "timestamp" AS at
        FROM events
       WHERE workspace_id = $1 AND type = 'track' AND event = '${EXPOSURE_EVENT}'
         AND profile_id IS NOT NULL AND properties->>'experiment_id' = $2
       ORDER BY profile_id, "timestamp", seq)`
  const out = await d.db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION READ ONLY')
    await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(d.timeoutMs)])
    const exposure = await tx.query<{ arm: string; n: number }>(
      `WITH ${exposedCte} SELECT arm, count(*)::int AS n FROM exposed GROUP BY arm`,
      [workspaceId, e.key],
    )
    const events = [...new Set(e.metrics.map((m) => m.event))]
    const known = await tx.query<{ event: string }>(
      `SELECT DISTINCT event FROM events WHERE workspace_id = $1 AND event = ANY($2::text[])`,
      [workspaceId, events],
    )
    // Every metric in one statement: each exposed profile joined once to its metric events
    // after exposure, a value per metric (converted 0/1, a count, or a sum of a numeric
    // property), then n, Σx, Σx² per metric grouped by arm.
    const statistics = new Map<string, ArmStatistic[]>()
    if (e.metrics.length > 0) {
      const params: unknown[] = [workspaceId, e.key, events]
      const p = (v: unknown): string => {
        params.push(v)
        return `$${params.length}`
      }
      // Each metric twice: after exposure (v), and over the pre-exposure window (w), the
      // covariate CUPED regresses on (Deng et al. 2013; the same metric before is the usual
      // choice).
      const windows = { v: `m."timestamp" >= x.at`, w: `m."timestamp" < x.at` }
      const values = e.metrics.flatMap((m, i) => {
        const ev = p(m.event)
        const prop = m.kind === 'sum' ? p(m.property) : ''
        return (['v', 'w'] as const).map((col) => {
          const when = `m.event = ${ev} AND ${windows[col]}`
          const expr =
            m.kind === 'conversion'
              ? `(count(*) FILTER (WHERE ${when}) > 0)::int`
              : m.kind === 'count'
                ? `count(*) FILTER (WHERE ${when})`
                : `coalesce(sum(CASE WHEN ${when} AND jsonb_typeof(m.properties->${prop}) = 'number' THEN (m.properties->>${prop})::float8 END), 0)`
          return `${expr}::float8 AS ${col}${i}`
        })
      })
      const sums = e.metrics.map(
        (_, i) =>
          `sum(v${i})::float8 AS s${i}, sum(v${i} * v${i})::float8 AS ss${i}, ` +
          `sum(w${i})::float8 AS ps${i}, sum(w${i} * w${i})::float8 AS pss${i}, sum(v${i} * w${i})::float8 AS pxs${i}`,
      )
      // Hash joins of whole sets, as the insights backend does (the planner underestimates CTEs).
      await tx.query(`SELECT set_config('enable_nestloop', 'off', true)`)
      const { rows } = await tx.query<Record<string, number | string>>(
        `WITH ${exposedCte},
         unit AS (
           SELECT x.profile_id, x.arm, ${values.join(', ')}
             FROM exposed x
             LEFT JOIN events m ON m.workspace_id = $1 AND m.profile_id = x.profile_id
                              AND m.type = 'track' AND m.event = ANY($3::text[])
                              AND m."timestamp" >= x.at - make_interval(days => ${PRE_EXPOSURE_DAYS})
            GROUP BY x.profile_id, x.arm)
         SELECT arm, count(*)::int AS n, ${sums.join(', ')} FROM unit GROUP BY arm`,
        params,
      )
      const byArm = new Map(rows.map((r) => [String(r.arm), r]))
      e.metrics.forEach((m, i) => {
        statistics.set(
          m.key,
          e.arms.map((a): ArmStatistic => {
            const r = byArm.get(a.key)
            const n = Number(r?.n ?? 0)
            const sum = Number(r?.[`s${i}`] ?? 0)
            const sumSquares = Number(r?.[`ss${i}`] ?? 0)
            const covariate = {
              sum: Number(r?.[`ps${i}`] ?? 0),
              sumSquares: Number(r?.[`pss${i}`] ?? 0),
              sumProducts: Number(r?.[`pxs${i}`] ?? 0),
            }
            return m.kind === 'conversion'
              ? { kind: 'proportion', n, sum, covariate }
              : { kind: 'mean', n, sum, sumSquares, covariate }
          }),
        )
      })
    }
    return { exposure: exposure.rows, known: known.rows.map((r) => r.event), statistics }
  })
  const exposedBy = new Map(out.exposure.map((r) => [r.arm, Number(r.n)]))
  const exposed = e.arms.map((a) => exposedBy.get(a.key) ?? 0)
  const readout = experimentReadout({
    arms: e.arms,
    metrics: e.metrics,
    exposed,
    statistics: out.statistics,
    knownEvents: new Set(out.known),
  })
  const strays = out.exposure.filter((r) => !e.arms.some((a) => a.key === r.arm))
  const notes = strays.length
    ? [
        ...readout.notes,
        `${strays.reduce((s, r) => s + Number(r.n), 0)} exposures name arms the experiment does not have; they are left out.`,
      ]
    : readout.notes
  return {
    experiment: { id: e.id, key: e.key, name: e.name },
    arms: e.arms.map((a, i) => ({ ...a, exposed: exposed[i]! })),
    readout: { ...readout, notes },
    meta: { elapsedMs: d.clock().getTime() - started },
  }
}
