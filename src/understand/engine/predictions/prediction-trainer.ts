/**
 * Trains predictions in the background. A prediction row is a job on the one leased queue
 * (`FOR UPDATE SKIP LOCKED` and a lease): queued rows, and training rows whose worker died (lease
 * run out), are claimed by whichever worker polls next. A training reads the purchases (one
 * query), fits and scores (pure: src/understand/core/predictions `trainClv`, stopped at
 * `maxTrainingMs` with the best parameters found so far and a warning in the report), then
 * writes the scores as computed-trait values in chunks, each chunk one transaction that also
 * re-evaluates the segments reading those traits for its profiles, so ingest and the processor
 * are never held behind one long transaction. A last transaction removes the values of
 * customers no longer scored and records the report; if the prediction was deleted meanwhile,
 * it removes what the run wrote instead.
 *
 * A failing training is retried with backoff, then dead-lettered as `failed` with its error.
 * A ready prediction is queued again once its model is `refreshEveryMs` old (default daily), so
 * scores follow new purchases; `POST …/retrain` does it at once.
 */
import type { Logger } from 'pino'
import {
  CLV_OUTPUTS,
  clvSettingsSchema,
  predictionTraitId,
  trainClv,
  type ClvScore,
  type Purchase,
} from '../../core/predictions/index.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import { pollingLoop } from '../../../platform/jobs/loops.js'
import { createLeasedQueue } from '../../../platform/jobs/leased-queue.js'
import { exponentialBackoff, retryOrDead } from '../../../platform/jobs/retry-policy.js'
import { loadSegments, type StoredSegment } from '../segments/definitions.js'
import { emptyChange, reevaluate, type Change } from '../segments/reevaluate.js'
import { traitIdsOf, type PredictionRow } from './predictions-service.js'

export interface PredictionTrainerOptions {
  db: Db
  logger: Logger
  /** Epoch ms. */
  clock: () => number
  /** Poll for queued predictions (other nodes queue them too). Default 1 s. */
  pollIntervalMs?: number
  /** How long a claimed training stays leased. Default 15 min. */
  leaseMs?: number
  /** Fitting stops after this long with the best parameters so far. Default 5 min. */
  maxTrainingMs?: number
  /** Fewest customers with a repeat purchase a model needs. Default 50. */
  minRepeatCustomers?: number
  /** Attempts of a failing training before it is `failed`. Default 3. */
  maxAttempts?: number
  /** Profiles per write transaction. Default 2,000. */
  chunkSize?: number
  /** A ready prediction is retrained once its model is this old. Default 24 h. */
  refreshEveryMs?: number
}

export interface PredictionTrainer {
  start(): void
  stop(): Promise<void>
  wake(): void
  /** Trains due predictions until none is due (tests); returns how many ran. */
  runOnce(): Promise<number>
}

type Key = { workspaceId: string; id: string }

const trainings = createLeasedQueue<PredictionRow, Key>({
  table: 'predictions',
  key: {
    columns: [
      { name: 'workspace_id', type: 'text' },
      { name: 'id', type: 'text' },
    ],
    values: (k) => [k.workspaceId, k.id],
  },
  state: {
    column: 'status',
    ready: ['queued', 'training'],
    claimed: 'training',
    retry: 'queued',
    dead: 'failed',
  },
  due: 'next_run_at',
  leasedUntil: 'locked_until',
  attempts: { column: 'attempts', countedOn: 'failure' },
  error: 'error',
  updatedAt: 'updated_at',
  finishedAt: 'finished_at',
  onClaim: 'started_at = $now',
  order: 'next_run_at, created_at',
  decode: (r) => r as unknown as PredictionRow,
})

/** Every purchase event of the workspace, on the profile it belongs to now (after merges). */
async function readPurchases(
  q: Queryable,
  workspaceId: string,
  event: string,
  revenueProperty: string,
): Promise<Purchase[]> {
  const r = await q.query<{ pid: string; ms: number | string; value: number | string | null }>(
    `SELECT coalesce(p.merged_into, e.profile_id) AS pid,
       (extract(epoch FROM e."timestamp") * 1000)::float8 AS ms,
       kindred_num(e.properties -> $3) AS value
     FROM events e
     LEFT JOIN profiles p ON p.workspace_id = e.workspace_id AND p.id = e.profile_id
     WHERE e.workspace_id = $1 AND e.type = 'track' AND e.event = $2 AND e.profile_id IS NOT NULL`,
    [workspaceId, event, revenueProperty],
  )
  return r.rows.map((row) => ({
    customerId: row.pid,
    timeMs: Number(row.ms),
    value: row.value === null ? 0 : Number(row.value),
  }))
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits))

function traitValues(s: ClvScore): Record<(typeof CLV_OUTPUTS)[number], number> {
  return {
    expected_purchases: round(s.expectedPurchases, 6),
    p_alive: round(s.pAlive, 6),
    value: round(s.value, 2),
  }
}

async function setProgress(
  db: Queryable,
  row: PredictionRow,
  phase: string,
  at: number,
  extra: object = {},
) {
  await db.query(
    'UPDATE predictions SET progress = $3::jsonb WHERE workspace_id = $1 AND id = $2',
    [row.workspace_id, row.id, JSON.stringify({ phase, at: new Date(at).toISOString(), ...extra })],
  )
}

/** Re-evaluates the segments that read `traits`, for these profiles. */
async function reevaluateReaders(
  tx: Queryable,
  workspaceId: string,
  readers: readonly StoredSegment[],
  traits: readonly string[],
  profileIds: readonly string[],
  now: Date,
): Promise<void> {
  if (readers.length === 0 || profileIds.length === 0) return
  const changes = new Map<string, Change>()
  for (const pid of profileIds) {
    const c = emptyChange()
    for (const t of traits) c.computedTraits.add(t)
    changes.set(pid, c)
  }
  await reevaluate(tx, workspaceId, readers, changes, now)
}

export function createPredictionTrainer(options: PredictionTrainerOptions): PredictionTrainer {
  const { db, clock, logger } = options
  const leaseMs = options.leaseMs ?? 15 * 60_000
  const maxTrainingMs = options.maxTrainingMs ?? 5 * 60_000
  const chunkSize = options.chunkSize ?? 2_000
  const refreshEveryMs = options.refreshEveryMs ?? 24 * 3_600_000
  const budget = { maxAttempts: options.maxAttempts ?? 3 }
  const backoff = exponentialBackoff({ baseMs: 5_000, maxMs: 5 * 60_000, jitter: 'none' })

  async function readersOf(q: Queryable, workspaceId: string, traits: readonly string[]) {
    return (await loadSegments(q, workspaceId, { activeOnly: true })).filter((s) =>
      s.deps.computedTraits.some((c) => traits.includes(c)),
    )
  }

  /** Removes this prediction's values not written by the run that started at `since`. */
  async function removeStale(tx: Queryable, row: PredictionRow, since: number, all: boolean) {
    const traits = traitIdsOf(row.name)
    const gone = await tx.query<{ profile_id: string }>(
      `DELETE FROM computed_trait_values WHERE workspace_id = $1 AND computed_trait_id = ANY($2::text[])
         ${all ? '' : 'AND updated_at < $3'}
       RETURNING profile_id`,
      all ? [row.workspace_id, traits] : [row.workspace_id, traits, new Date(since).toISOString()],
    )
    const pids = [...new Set(gone.rows.map((g) => g.profile_id))]
    await reevaluateReaders(
      tx,
      row.workspace_id,
      await readersOf(tx, row.workspace_id, traits),
      traits,
      pids,
      new Date(clock()),
    )
  }

  async function train(row: PredictionRow): Promise<void> {
    const started = clock()
    const deadline = started + maxTrainingMs
    const settings = clvSettingsSchema.parse(row.settings)
    await setProgress(db, row, 'reading', started)
    const purchases = await readPurchases(
      db,
      row.workspace_id,
      settings.purchaseEvent,
      settings.revenueProperty,
    )
    await setProgress(db, row, 'fitting', clock(), { purchases: purchases.length })
    const out = trainClv(purchases, settings, {
      minRepeatCustomers: options.minRepeatCustomers ?? 50,
      shouldStop: () => clock() > deadline,
    })
    const traits = traitIdsOf(row.name)
    const key = { workspaceId: row.workspace_id, id: row.id }
    if (!out.ok) {
      await db.transaction(async (tx) => {
        const live = await tx.query(
          'SELECT 1 FROM predictions WHERE workspace_id = $1 AND id = $2 FOR UPDATE',
          [row.workspace_id, row.id],
        )
        await removeStale(tx, row, started, true)
        if (live.rows.length === 0) return
        await tx.query(
          'UPDATE predictions SET report = $3::jsonb, progress = $4::jsonb WHERE workspace_id = $1 AND id = $2',
          [
            row.workspace_id,
            row.id,
            JSON.stringify({ kind: 'clv', trained: false, reasons: out.reasons, rows: out.rows }),
            JSON.stringify({ phase: 'done', at: new Date(clock()).toISOString() }),
          ],
        )
        await trainings.settle(
          tx,
          [{ key, kind: 'finished', state: 'insufficient_data', error: out.reasons.join('; ') }],
          clock(),
        )
      })
      return
    }
    const readers = await readersOf(db, row.workspace_id, traits)
    for (let i = 0; i < out.scores.length; i += chunkSize) {
      const chunk = out.scores.slice(i, i + chunkSize)
      await setProgress(db, row, 'writing', clock(), { written: i, total: out.scores.length })
      const now = new Date(clock())
      const pids: string[] = []
      const tids: string[] = []
      const values: string[] = []
      for (const s of chunk) {
        const v = traitValues(s)
        for (const output of CLV_OUTPUTS) {
          pids.push(s.customerId)
          tids.push(predictionTraitId(row.name, output))
          values.push(JSON.stringify(v[output]))
        }
      }
      await db.transaction(async (tx) => {
        // Only live profiles: one merged away since the purchases were read keeps nothing.
        await tx.query(
          `INSERT INTO computed_trait_values (workspace_id, profile_id, computed_trait_id, value, state, updated_at)
           SELECT $1, u.pid, u.tid, u.val::jsonb, '{}'::jsonb, $2
           FROM unnest($3::text[], $4::text[], $5::text[]) AS u(pid, tid, val)
           JOIN profiles p ON p.workspace_id = $1 AND p.id = u.pid AND p.merged_into IS NULL
           ON CONFLICT (workspace_id, profile_id, computed_trait_id)
           DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
          [row.workspace_id, now.toISOString(), pids, tids, values],
        )
        await reevaluateReaders(
          tx,
          row.workspace_id,
          readers,
          traits,
          chunk.map((s) => s.customerId),
          now,
        )
      })
    }
    await db.transaction(async (tx) => {
      const live = await tx.query(
        'SELECT 1 FROM predictions WHERE workspace_id = $1 AND id = $2 FOR UPDATE',
        [row.workspace_id, row.id],
      )
      if (live.rows.length === 0) {
        await removeStale(tx, row, started, true)
        return
      }
      await removeStale(tx, row, started, false)
      const at = new Date(clock()).toISOString()
      await tx.query(
        `UPDATE predictions SET report = $3::jsonb, progress = $4::jsonb, trained_at = $5
         WHERE workspace_id = $1 AND id = $2`,
        [
          row.workspace_id,
          row.id,
          JSON.stringify({ trained: true, ...out.report, trainingMs: clock() - started }),
          JSON.stringify({
            phase: 'done',
            at,
            written: out.scores.length,
            total: out.scores.length,
          }),
          at,
        ],
      )
      await trainings.settle(tx, [{ key, kind: 'finished', state: 'ready' }], clock())
    })
  }

  /** Queues the ready predictions whose model is older than `refreshEveryMs` (the schedule). */
  async function queueStale(now: number): Promise<void> {
    await db.query(
      `UPDATE predictions SET status = 'queued', next_run_at = $1, attempts = 0, updated_at = $1
       WHERE status = 'ready' AND trained_at < $2`,
      [new Date(now).toISOString(), new Date(now - refreshEveryMs).toISOString()],
    )
  }

  async function pass(): Promise<boolean> {
    const now = clock()
    await queueStale(now)
    const [row] = await trainings.claim(db, { now, leaseMs, limit: 1 })
    if (row === undefined) return false
    try {
      await train(row)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      logger.warn({ err, predictionId: row.id }, 'prediction training failed')
      const decision = retryOrDead(budget, backoff, { attempts: row.attempts + 1 }, clock())
      await trainings.settle(
        db,
        [
          decision.kind === 'retry'
            ? {
                key: { workspaceId: row.workspace_id, id: row.id },
                kind: 'retry',
                runAt: decision.runAt,
                error: message,
              }
            : { key: { workspaceId: row.workspace_id, id: row.id }, kind: 'dead', error: message },
        ],
        clock(),
      )
    }
    return true
  }

  const loop = pollingLoop(pass, {
    intervalMs: options.pollIntervalMs ?? 1_000,
    onError: (err) => logger.error({ err }, 'prediction trainer pass failed'),
    errorDelayMs: () => 5_000,
  })

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    wake: () => loop.wake(),
    async runOnce() {
      let n = 0
      while (await pass()) n++
      return n
    },
  }
}
