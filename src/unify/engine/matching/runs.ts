/**
 * A matching run: profiles of one workspace → linkage records → Fellegi–Sunter (EM, blocking,
 * term frequencies) → the match planner → probabilistic merges and the review queue.
 *
 * Incremental: a run with no profile changed since the last successful run (and no settings
 * change) compares nothing. Decisions persist across runs: a rejected pair is never proposed
 * again (both sides are resolved to their live survivors first, so the non-match follows a
 * merge), a pending pair is updated in place, never duplicated.
 */
import { performance } from 'node:perf_hooks'
import {
  dedupeRecords,
  exportParameters,
  LinkageError,
  trainedParametersSchema,
  type DedupeResult,
  type LinkageOptions,
} from '../../core/identity/linkage/index.js'
import {
  exclusiveIdentifierTypes,
  exclusiveValues,
  identifierConflicts,
  pairKey,
  planMatches,
  type Identifier,
  type MatchProfile,
  type QueueReason,
  type QueuedPair,
} from '../../core/identity/index.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import type { ProfileHooks } from '../../../platform/module-contract.js'
import { newId } from '../../../platform/store/ids.js'
import type { WorkspaceIdentitySettings } from '../identity-settings.js'
import { applyProbabilisticMerges, type MergeRequest } from './merge.js'
import {
  PROFILE_ID_COLUMN,
  inContentOrder,
  profileRecord,
  scoredPairs,
  usedColumns,
  type MatchExplanation,
} from '../../core/matching-records.js'
import { loadMatchingSettings, traitMapping } from './matching-settings.js'

export type { MatchExplanation }

export type RunTrigger = 'manual' | 'schedule' | 'import'
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled'

/** Thrown inside a run that was cancelled: it stops at the next step boundary. */
class RunCancelled extends Error {}

/** What a run found and did. */
export interface RunCounts {
  profiles: number
  changedProfiles: number
  candidatePairs: number
  autoMerged: number
  queued: number
  blocked: number
  /** `blocked` by reason: identity rules, different identifiers or names (evidence against), a rejection. */
  blockedBy: Record<QueueReason, number>
  /** Pairs at or above the review threshold that their identifiers told apart: neither merged nor queued. */
  toldApart: number
  skippedDecided: number
  timings: Record<string, number>
}

/** The last undo of a run (`POST …/runs/:id/undo`). */
export interface RunUndoSummary {
  at: string
  /** Merges of the run split apart so far, over every undo. */
  undone: number
  /** Merges the last undo could not split, with why (see `undoRun`). */
  failed: number
}

export interface MatchingRunView extends RunCounts {
  id: string
  trigger: RunTrigger
  status: RunStatus
  /** The import that started the run (trigger `import`). */
  importId: string | null
  /** Whether the run could merge on its own (null until it has decided). */
  autoMerge: boolean | null
  error: string | null
  startedAt: string
  finishedAt: string | null
  durationMs: number | null
  undo: RunUndoSummary | null
}

interface RunRow {
  id: string
  trigger: RunTrigger
  status: RunStatus
  profiles: number
  changed_profiles: number
  candidate_pairs: number
  auto_merged: number
  queued: number
  blocked: number
  skipped_decided: number
  blocked_by: Partial<Record<QueueReason, number>>
  told_apart: number
  timings: Record<string, number>
  import_id: string | null
  auto_merge: boolean | null
  undo: RunUndoSummary | null
  error: string | null
  started_at: Date | string
  finished_at: Date | string | null
}

const runColumns =
  'id, trigger, status, profiles, changed_profiles, candidate_pairs, auto_merged, queued, blocked, skipped_decided, blocked_by, told_apart, timings, import_id, auto_merge, undo, error, started_at, finished_at'

const noneBlocked = (): Record<QueueReason, number> => ({
  identity_rules: 0,
  different_identifiers: 0,
  different_names: 0,
  rejected: 0,
})

function runView(r: RunRow): MatchingRunView {
  const started = new Date(r.started_at)
  const finished = r.finished_at === null ? null : new Date(r.finished_at)
  return {
    id: r.id,
    trigger: r.trigger,
    status: r.status,
    importId: r.import_id,
    autoMerge: r.auto_merge,
    profiles: r.profiles,
    changedProfiles: r.changed_profiles,
    candidatePairs: r.candidate_pairs,
    autoMerged: r.auto_merged,
    queued: r.queued,
    blocked: r.blocked,
    blockedBy: { ...noneBlocked(), ...r.blocked_by },
    toldApart: r.told_apart,
    skippedDecided: r.skipped_decided,
    timings: r.timings,
    error: r.error,
    startedAt: started.toISOString(),
    finishedAt: finished?.toISOString() ?? null,
    durationMs: finished === null ? null : finished.getTime() - started.getTime(),
    undo: r.undo,
  }
}

export async function getRun(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<MatchingRunView | undefined> {
  const res = await q.query<RunRow>(
    `SELECT ${runColumns} FROM matching_runs WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  )
  return res.rows[0] && runView(res.rows[0])
}

/** The workspace's latest runs, newest first. */
export async function listRuns(
  q: Queryable,
  workspaceId: string,
  limit: number,
): Promise<MatchingRunView[]> {
  const res = await q.query<RunRow>(
    `SELECT ${runColumns} FROM matching_runs WHERE workspace_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`,
    [workspaceId, limit],
  )
  return res.rows.map(runView)
}

/** Records a new run, or returns undefined when one is already running in this workspace. */
export async function createRun(
  db: Db,
  workspaceId: string,
  trigger: RunTrigger,
  now: Date,
  importId: string | null = null,
): Promise<MatchingRunView | undefined> {
  // A run left `running` by a crashed node would block the workspace forever.
  await db.query(
    `UPDATE matching_runs SET status = 'failed', finished_at = $2, error = 'interrupted (no result after an hour)'
     WHERE workspace_id = $1 AND status = 'running' AND started_at < $2::timestamptz - interval '1 hour'`,
    [workspaceId, now.toISOString()],
  )
  const res = await db.query<RunRow>(
    `INSERT INTO matching_runs (workspace_id, id, trigger, status, started_at, import_id)
     VALUES ($1, $2, $3, 'running', $4, $5)
     ON CONFLICT (workspace_id) WHERE status = 'running' DO NOTHING
     RETURNING ${runColumns}`,
    [workspaceId, newId('matchingRun'), trigger, now.toISOString(), importId],
  )
  return res.rows[0] && runView(res.rows[0])
}

export interface ExecuteRunDeps {
  db: Db
  clock: () => Date
  /** What follows a merge in its transaction (segments, computed traits): see ProfileHooks. */
  profileHooks?: readonly ProfileHooks[]
  identitySettings: (q: Queryable, workspaceId: string) => Promise<WorkspaceIdentitySettings>
}

/**
 * Cancels a running run; undefined when it is not running (finished, or not in this workspace).
 * The run row is cancelled at once, so the workspace can start a new run; the run's own process
 * stops at its next step boundary (see `executeRun`).
 */
export async function cancelRun(
  db: Db,
  workspaceId: string,
  runId: string,
  now: Date,
): Promise<MatchingRunView | undefined> {
  const res = await db.query<RunRow>(
    `UPDATE matching_runs SET status = 'cancelled', finished_at = $3, error = 'cancelled'
     WHERE workspace_id = $1 AND id = $2 AND status = 'running' RETURNING ${runColumns}`,
    [workspaceId, runId, now.toISOString()],
  )
  return res.rows[0] && runView(res.rows[0])
}

/** Groups merged per transaction: small enough to keep lock times short next to the processor. */
const MERGE_GROUPS_PER_TRANSACTION = 200

/**
 * Executes a run created by `createRun`; records success or failure on the run row, unless the
 * run was cancelled meanwhile. A cancel (the signal on this node, the run row on any node) is
 * checked between steps (load, scoring, each merge transaction, queueing): the scoring step
 * itself is synchronous and runs to its end, but nothing after a cancel is merged or queued.
 */
export async function executeRun(
  deps: ExecuteRunDeps,
  workspaceId: string,
  runId: string,
  signal?: AbortSignal,
): Promise<MatchingRunView> {
  const { db } = deps
  const checkCancelled = async () => {
    if (signal?.aborted) throw new RunCancelled()
    const res = await db.query<{ status: RunStatus }>(
      'SELECT status FROM matching_runs WHERE workspace_id = $1 AND id = $2',
      [workspaceId, runId],
    )
    if (res.rows[0]?.status !== 'running') throw new RunCancelled()
  }
  try {
    const started = await getRun(db, workspaceId, runId)
    const counts = await matchWorkspace(
      deps,
      workspaceId,
      { id: runId, trigger: started?.trigger ?? 'manual' },
      checkCancelled,
    )
    await db.query(
      `UPDATE matching_runs SET status = 'succeeded', finished_at = $3, profiles = $4, changed_profiles = $5,
         candidate_pairs = $6, auto_merged = $7, queued = $8, blocked = $9, skipped_decided = $10, timings = $11,
         blocked_by = $12, told_apart = $13
       WHERE workspace_id = $1 AND id = $2 AND status = 'running'`,
      [
        workspaceId,
        runId,
        deps.clock().toISOString(),
        counts.profiles,
        counts.changedProfiles,
        counts.candidatePairs,
        counts.autoMerged,
        counts.queued,
        counts.blocked,
        counts.skippedDecided,
        JSON.stringify(counts.timings),
        JSON.stringify(counts.blockedBy),
        counts.toldApart,
      ],
    )
  } catch (err) {
    if (!(err instanceof RunCancelled)) {
      const message =
        err instanceof LinkageError ? `${err.code}: ${err.message}` : (err as Error).message
      await db.query(
        `UPDATE matching_runs SET status = 'failed', finished_at = $3, error = $4
         WHERE workspace_id = $1 AND id = $2 AND status = 'running'`,
        [workspaceId, runId, deps.clock().toISOString(), message.slice(0, 2000)],
      )
    }
  }
  return (await getRun(db, workspaceId, runId)) as MatchingRunView
}

async function matchWorkspace(
  deps: ExecuteRunDeps,
  workspaceId: string,
  run: { id: string; trigger: RunTrigger },
  checkCancelled: () => Promise<void>,
): Promise<RunCounts> {
  const { db } = deps
  const runId = run.id
  const timings: Record<string, number> = {}
  let t = performance.now()
  const lap = (name: string) => {
    const n = performance.now()
    timings[name] = Math.round(n - t)
    t = n
  }
  const counts: RunCounts = {
    profiles: 0,
    changedProfiles: 0,
    candidatePairs: 0,
    autoMerged: 0,
    queued: 0,
    blocked: 0,
    blockedBy: noneBlocked(),
    toldApart: 0,
    skippedDecided: 0,
    timings,
  }
  const { settings, updatedAt } = await loadMatchingSettings(db, workspaceId)
  // A run nobody asked for (an import's) only queues, unless the workspace said otherwise.
  const autoMerge =
    settings.autoMerge && (run.trigger !== 'import' || settings.autoMergeAfterImport)
  await db.query('UPDATE matching_runs SET auto_merge = $3 WHERE workspace_id = $1 AND id = $2', [
    workspaceId,
    runId,
    autoMerge,
  ])
  const last = await db.query<{ started_at: Date | string }>(
    `SELECT started_at FROM matching_runs WHERE workspace_id = $1 AND status = 'succeeded'
     ORDER BY started_at DESC LIMIT 1`,
    [workspaceId],
  )
  const since = last.rows[0] ? new Date(last.rows[0].started_at).toISOString() : null
  const settingsChanged = since === null || (updatedAt !== null && updatedAt >= since)
  if (!settingsChanged) {
    // Nothing changed since the last run: counted without reading any traits.
    const c = await db.query<{ live: number; changed: number }>(
      `SELECT count(*)::int AS live, (count(*) FILTER (WHERE updated_at >= $2::timestamptz))::int AS changed
       FROM profiles WHERE workspace_id = $1 AND merged_into IS NULL`,
      [workspaceId, since],
    )
    if ((c.rows[0]?.changed ?? 0) === 0) {
      counts.profiles = c.rows[0]?.live ?? 0
      lap('loadMs')
      return counts
    }
  }
  const rows = await db.query<{
    id: string
    created_at: Date | string
    changed: boolean
    merge_count: number
    identifier_counts: Record<string, number>
    traits: unknown
  }>(
    `SELECT id, created_at, ($2::timestamptz IS NULL OR updated_at >= $2::timestamptz) AS changed,
       merge_count, identifier_counts, traits
     FROM profiles WHERE workspace_id = $1 AND merged_into IS NULL ORDER BY id`,
    [workspaceId, since],
  )
  lap('loadMs')
  counts.profiles = rows.rows.length
  counts.changedProfiles = rows.rows.filter((r) => r.changed).length

  const mapping = traitMapping(settings)
  const loaded: Record<string, string>[] = []
  const profiles = new Map<string, MatchProfile>()
  for (const r of rows.rows) {
    const rec = profileRecord(r.id, r.traits, mapping, settings.minFields)
    if (rec === null) continue
    loaded.push(rec)
    profiles.set(r.id, {
      id: r.id,
      createdAt: new Date(r.created_at).getTime(),
      mergeCount: r.merge_count,
      counts: r.identifier_counts,
    })
  }
  if (loaded.length < 2) return counts
  await checkCancelled()
  // Not in id order: the same people must score the same in every workspace (see inContentOrder).
  const records = inContentOrder(loaded)
  const linkage = await scoreRecords(
    db,
    workspaceId,
    records,
    {
      idColumn: PROFILE_ID_COLUMN,
      columns: usedColumns(records),
      threshold: settings.autoMergeThreshold,
    },
    deps.clock(),
  )
  counts.candidatePairs = linkage.pairs.count
  lap('linkageMs')
  await checkCancelled()

  const rejected = await rejectedPairs(db, workspaceId)
  const scored = scoredPairs(linkage, records, settings.reviewThreshold)
  const { rules, survivorship } = await deps.identitySettings(db, workspaceId)
  const exclusiveTypes = exclusiveIdentifierTypes(rules)
  await addExclusiveValues(db, workspaceId, profiles, records, scored, exclusiveTypes)
  for (const p of scored) {
    const different = identifierConflicts(
      profiles.get(p.a)?.exclusive ?? {},
      profiles.get(p.b)?.exclusive ?? {},
    )
    if (different.length > 0) p.explanation.differentIdentifiers = different
  }
  const plan = planMatches({
    pairs: scored,
    profiles,
    rules,
    rejected,
    autoMergeThreshold: autoMerge ? settings.autoMergeThreshold : Infinity,
    reviewThreshold: settings.reviewThreshold,
  })
  counts.skippedDecided = plan.skippedRejected
  counts.blocked = plan.blocked
  counts.blockedBy = { ...plan.blockedBy }
  counts.toldApart = plan.toldApart
  lap('planMs')

  const byInto = new Map<string, MergeRequest[]>()
  const plannedBy = new Map(plan.merges.map((m) => [m.from, m]))
  for (const m of plan.merges) {
    const l = byInto.get(m.into) ?? []
    l.push({
      from: m.from,
      into: m.into,
      details: { ...m.pair.explanation, runId, pair: [m.pair.a, m.pair.b] },
    })
    byInto.set(m.into, l)
  }
  const groups = [...byInto.values()]
  const skipped: QueuedPair<MatchExplanation>[] = []
  for (let i = 0; i < groups.length; i += MERGE_GROUPS_PER_TRANSACTION) {
    await checkCancelled()
    const chunk = groups.slice(i, i + MERGE_GROUPS_PER_TRANSACTION).flat()
    const out = await db.transaction(async (tx) => {
      const o = await applyProbabilisticMerges(
        tx,
        workspaceId,
        chunk,
        { rules, survivorship, exclusiveTypes },
        deps.clock(),
        deps.profileHooks,
      )
      // Recorded with the merges, so a run's merges are listed and undone even after a crash.
      await recordAutoMerges(
        tx,
        workspaceId,
        runId,
        o.merged.map((r) => ({ request: r, pair: plannedBy.get(r.from)!.pair })),
        deps.clock(),
      )
      return o
    })
    counts.autoMerged += out.merged.length
    // A merge the locked state refused (identity rules changed under us) goes to review.
    for (const s of out.skipped) {
      const pair = plannedBy.get(s.request.from)?.pair
      if (pair) skipped.push({ ...pair, reason: s.reason, reasonCode: s.code, conflicts: [] })
    }
  }
  lap('mergeMs')
  await checkCancelled()

  counts.queued = await queuePairs(
    db,
    workspaceId,
    runId,
    [...plan.review, ...skipped],
    deps.clock(),
  )
  await db.query(
    `UPDATE matching_pairs m SET status = 'stale', decided_at = $2
     WHERE m.workspace_id = $1 AND m.status = 'pending' AND (
       EXISTS (SELECT 1 FROM profiles p WHERE p.workspace_id = $1 AND p.id = m.profile_a AND p.merged_into IS NOT NULL)
       OR EXISTS (SELECT 1 FROM profiles p WHERE p.workspace_id = $1 AND p.id = m.profile_b AND p.merged_into IS NOT NULL))`,
    [workspaceId, deps.clock().toISOString()],
  )
  lap('queueMs')
  return counts
}

/**
 * Gives the profiles of the scored pairs their exclusive identifier values (identities of the
 * exclusive types, compared email and phone traits). Only those: the rest are never planned.
 */
async function addExclusiveValues(
  q: Queryable,
  workspaceId: string,
  profiles: Map<string, MatchProfile>,
  records: readonly Record<string, string>[],
  scored: ReadonlyArray<{ a: string; b: string }>,
  types: ReadonlySet<string>,
): Promise<void> {
  const involved = [...new Set(scored.flatMap((p) => [p.a, p.b]))]
  if (involved.length === 0) return
  const identifiers = new Map<string, Identifier[]>()
  for (let i = 0; i < involved.length; i += 5000) {
    const res = await q.query<Identifier & { profile_id: string }>(
      `SELECT profile_id, type, value FROM identities
       WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) AND type = ANY($3::text[])`,
      [workspaceId, involved.slice(i, i + 5000), [...types]],
    )
    for (const r of res.rows) {
      const l = identifiers.get(r.profile_id) ?? []
      l.push({ type: r.type, value: r.value })
      identifiers.set(r.profile_id, l)
    }
  }
  const recordOf = new Map(records.map((r) => [r[PROFILE_ID_COLUMN]!, r]))
  for (const id of involved) {
    const p = profiles.get(id)
    if (!p) continue
    profiles.set(id, {
      ...p,
      exclusive: exclusiveValues(identifiers.get(id) ?? [], recordOf.get(id) ?? null, types),
    })
  }
}

/** The merges a run made, as `merged` pairs of the run: listed with the run, undone by it. */
async function recordAutoMerges(
  tx: Queryable,
  workspaceId: string,
  runId: string,
  merged: ReadonlyArray<{
    request: MergeRequest
    pair: { a: string; b: string; probability: number; explanation: MatchExplanation }
  }>,
  now: Date,
): Promise<void> {
  if (merged.length === 0) return
  await tx.query(
    `INSERT INTO matching_pairs (workspace_id, id, profile_a, profile_b, status, probability, explanation,
       run_id, created_at, decided_at, auto_merged, merged_from, merged_into)
     SELECT $1, x.id, x.a, x.b, 'merged', x.probability, x.explanation, $2, $3::timestamptz, $3::timestamptz,
       true, x.from_id, x.into_id
     FROM jsonb_to_recordset($4::jsonb) AS x(id text, a text, b text, probability float8, explanation jsonb,
       from_id text, into_id text)
     ON CONFLICT (workspace_id, profile_a, profile_b) DO UPDATE SET status = 'merged',
       probability = EXCLUDED.probability, explanation = EXCLUDED.explanation, reason = NULL,
       reason_code = NULL, run_id = EXCLUDED.run_id, decided_at = EXCLUDED.decided_at, decided_by = NULL,
       auto_merged = true, merged_from = EXCLUDED.merged_from, merged_into = EXCLUDED.merged_into, undo = NULL`,
    [
      workspaceId,
      runId,
      now.toISOString(),
      JSON.stringify(
        merged.map(({ request, pair }) => ({
          id: newId('matchingPair'),
          a: pair.a,
          b: pair.b,
          probability: pair.probability,
          explanation: pair.explanation,
          from_id: request.from,
          into_id: request.into,
        })),
      ),
    ],
  )
  // Counted as they commit: a run cancelled or failed later still shows what it merged.
  await tx.query(
    'UPDATE matching_runs SET auto_merged = auto_merged + $3 WHERE workspace_id = $1 AND id = $2',
    [workspaceId, runId, merged.length],
  )
}

/** Below this many candidate pairs EM is not trusted and no model is kept from it. */
export const MIN_EM_PAIRS = 100

/**
 * The workspace's kept model (m/u/λ from the first EM with enough candidates) scores every later
 * run with the same fields. Re-estimating on every run goes wrong once the duplicates have merged:
 * EM on candidates that are nearly all non-matches still finds a "match" class and calls the
 * closest strangers matches (measured: 8,777 false merges in a second run at 100k profiles).
 * Saving the settings drops the model, so the next run trains again.
 */
async function scoreRecords(
  db: Db,
  workspaceId: string,
  records: readonly Record<string, string>[],
  options: LinkageOptions,
  now: Date,
): Promise<DedupeResult> {
  const res = await db.query<{ parameters: unknown }>(
    'SELECT parameters FROM matching_models WHERE workspace_id = $1',
    [workspaceId],
  )
  const stored = trainedParametersSchema.safeParse(res.rows[0]?.parameters)
  const columns = (options.columns ?? []).filter((c) => c !== options.idColumn)
  if (
    stored.success &&
    columns.length === Object.keys(stored.data.fields).length &&
    columns.every((c) => c in stored.data.fields)
  ) {
    try {
      return dedupeRecords(records, { ...options, config: { parameters: stored.data } })
    } catch (err) {
      if (!(err instanceof LinkageError)) throw err
    }
  }
  const run = dedupeRecords(records, options)
  if (run.pairs.count >= MIN_EM_PAIRS) {
    await db.query(
      `INSERT INTO matching_models (workspace_id, parameters, candidate_pairs, trained_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workspace_id) DO UPDATE SET parameters = EXCLUDED.parameters,
         candidate_pairs = EXCLUDED.candidate_pairs, trained_at = EXCLUDED.trained_at`,
      [workspaceId, JSON.stringify(exportParameters(run)), run.pairs.count, now.toISOString()],
    )
  }
  return run
}

/**
 * Remembered non-matches, each side resolved to the profile it lives in now (merges keep one
 * hop): pairs a reviewer rejected, and profiles split apart (a split undoes a merge; matching
 * must not redo it on the next run).
 */
export async function rejectedPairs(q: Queryable, workspaceId: string): Promise<Set<string>> {
  const res = await q.query<{ a: string; b: string }>(
    `WITH decided AS (
       SELECT profile_a AS x, profile_b AS y FROM matching_pairs WHERE workspace_id = $1 AND status = 'rejected'
       UNION ALL
       SELECT from_profile_id, into_profile_id FROM profile_merges WHERE workspace_id = $1 AND kind = 'split')
     SELECT COALESCE(pa.merged_into, d.x) AS a, COALESCE(pb.merged_into, d.y) AS b
     FROM decided d
     LEFT JOIN profiles pa ON pa.workspace_id = $1 AND pa.id = d.x
     LEFT JOIN profiles pb ON pb.workspace_id = $1 AND pb.id = d.y`,
    [workspaceId],
  )
  return new Set(res.rows.map((r) => pairKey(r.a, r.b)))
}

async function queuePairs(
  db: Db,
  workspaceId: string,
  runId: string,
  pairs: ReadonlyArray<QueuedPair<MatchExplanation>>,
  now: Date,
): Promise<number> {
  let n = 0
  for (let i = 0; i < pairs.length; i += 1000) {
    const chunk = pairs.slice(i, i + 1000)
    const res = await db.query(
      `INSERT INTO matching_pairs (workspace_id, id, profile_a, profile_b, status, probability, explanation, reason, reason_code, run_id, created_at)
       SELECT $1, x.id, x.a, x.b, 'pending', x.probability, x.explanation, x.reason, x.reason_code, $2, $3::timestamptz
       FROM jsonb_to_recordset($4::jsonb) AS x(id text, a text, b text, probability float8, explanation jsonb, reason text, reason_code text)
       ON CONFLICT (workspace_id, profile_a, profile_b) DO UPDATE SET probability = EXCLUDED.probability,
         explanation = EXCLUDED.explanation, reason = EXCLUDED.reason, reason_code = EXCLUDED.reason_code,
         run_id = EXCLUDED.run_id
       WHERE matching_pairs.status = 'pending'`,
      [
        workspaceId,
        runId,
        now.toISOString(),
        JSON.stringify(
          chunk.map((p) => ({
            id: newId('matchingPair'),
            a: p.a,
            b: p.b,
            probability: p.probability,
            explanation: p.explanation,
            reason: p.reason,
            reason_code: p.reasonCode,
          })),
        ),
      ],
    )
    n += res.rowCount
  }
  return n
}
