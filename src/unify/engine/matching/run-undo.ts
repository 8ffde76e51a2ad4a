/**
 * Undoing a matching run in one action: every merge the run made on its own is split apart
 * with the profile split service (`../profile-split.ts`), so the merged-away profile's
 * identifiers and the events they brought leave the survivor for a profile of their own, golden
 * records are rebuilt from the events, and the split is remembered (later runs and the identity
 * stage do not join the two again).
 *
 * Safe to repeat and to run twice at once: each merge is split in its own transaction, which
 * locks the merge's pair row and marks it `undone` with the split, so a retry (or a second
 * undo) skips what is done and picks up what is not. A merge that cannot be split is reported,
 * never half-done: its identifiers left the survivor since (a split, an erasure), or the split
 * refuses (it would empty the profile). Later merges built on one of the run's merges (a later
 * run, or the processor, joining more into the survivor) stay: each undone merge reports how
 * many there were, so they can be reviewed or undone in turn.
 */
import { identifierKey, IdentityError, type Identifier } from '../../core/identity/index.js'
import { KindredError } from '../../../protocol/index.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import type { ProfileHooks } from '../../../platform/module-contract.js'
import type { WorkspaceIdentitySettings } from '../identity-settings.js'
import { splitInTransaction } from '../profile-split.js'
import { getRun, type MatchingRunView } from './runs.js'

export interface UndoDeps {
  db: Db
  clock: () => Date
  identitySettings: (q: Queryable, workspaceId: string) => Promise<WorkspaceIdentitySettings>
  profileHooks?: readonly ProfileHooks[]
}

export interface UndoneMerge {
  pairId: string
  /** The merged-away profile and the profile it went into, as the run merged them. */
  from: string
  into: string
  /** The live profile it was split from (`into`, or what `into` was merged into since). */
  splitFrom: string
  /** The profile that now holds the merged-away profile's identifiers and events. */
  restoredAs: string
  movedEvents: number
  detachedIdentifiers: number
  /** Identifiers of the merged-away profile no longer in the survivor (left out of the split). */
  missingIdentifiers: number
  /** Merges into the survivor after this one (not undone here). */
  laterMerges: number
}

export interface FailedUndo {
  pairId: string
  from: string
  into: string
  reason: string
}

export interface UndoOutcome {
  run: MatchingRunView
  /** Merges split apart by this call. */
  undone: UndoneMerge[]
  /** Merges of the run that were undone before (by an earlier or a concurrent undo). */
  alreadyUndone: number
  failed: FailedUndo[]
}

interface MergedPair {
  id: string
  status: string
  merged_from: string
  merged_into: string
  decided_at: Date | string
}

/** Hops followed from a merged-away profile to its live survivor (merges keep one hop). */
const MAX_HOPS = 20

async function liveSurvivor(
  tx: Queryable,
  workspaceId: string,
  id: string,
): Promise<string | undefined> {
  let at = id
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const res = await tx.query<{ merged_into: string | null }>(
      'SELECT merged_into FROM profiles WHERE workspace_id = $1 AND id = $2',
      [workspaceId, at],
    )
    const row = res.rows[0]
    if (!row) return undefined
    if (row.merged_into === null) return at
    at = row.merged_into
  }
  return undefined
}

class UndoRefused extends Error {}

export async function undoRun(
  deps: UndoDeps,
  workspaceId: string,
  runId: string,
  requestedBy: string,
): Promise<UndoOutcome> {
  const { db } = deps
  const run = await getRun(db, workspaceId, runId)
  if (!run) throw new KindredError('NOT_FOUND', `matching run ${runId} not found`)
  if (run.status === 'running')
    throw new KindredError(
      'CONFLICT',
      `matching run ${runId} is still running; cancel it (POST …/runs/${runId}/cancel) or wait, then undo`,
      { details: { status: run.status } },
    )
  const pairs = await db.query<MergedPair>(
    `SELECT id, status, merged_from, merged_into, decided_at FROM matching_pairs
     WHERE workspace_id = $1 AND run_id = $2 AND auto_merged AND status IN ('merged', 'undone')
     ORDER BY decided_at DESC, id DESC`,
    [workspaceId, runId],
  )
  const settings = await deps.identitySettings(db, workspaceId)
  const outcome: Omit<UndoOutcome, 'run'> = { undone: [], alreadyUndone: 0, failed: [] }
  for (const p of pairs.rows) {
    if (p.status === 'undone') {
      outcome.alreadyUndone++
      continue
    }
    try {
      const done = await db.transaction((tx) =>
        undoOne(tx, deps, settings, workspaceId, p, { runId, requestedBy }),
      )
      if (done === 'already') outcome.alreadyUndone++
      else outcome.undone.push(done)
    } catch (err) {
      if (!(
        err instanceof UndoRefused ||
        err instanceof IdentityError ||
        err instanceof KindredError
      ))
        throw err
      outcome.failed.push({
        pairId: p.id,
        from: p.merged_from,
        into: p.merged_into,
        reason: err.message,
      })
    }
  }
  const total = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM matching_pairs WHERE workspace_id = $1 AND run_id = $2
       AND auto_merged AND status = 'undone'`,
    [workspaceId, runId],
  )
  await db.query('UPDATE matching_runs SET undo = $3 WHERE workspace_id = $1 AND id = $2', [
    workspaceId,
    runId,
    JSON.stringify({
      at: deps.clock().toISOString(),
      undone: total.rows[0]?.n ?? 0,
      failed: outcome.failed.length,
    }),
  ])
  return { run: (await getRun(db, workspaceId, runId)) as MatchingRunView, ...outcome }
}

async function undoOne(
  tx: Queryable,
  deps: UndoDeps,
  settings: WorkspaceIdentitySettings,
  workspaceId: string,
  pair: MergedPair,
  ctx: { runId: string; requestedBy: string },
): Promise<UndoneMerge | 'already'> {
  const { runId, requestedBy } = ctx
  const locked = await tx.query<{ status: string }>(
    'SELECT status FROM matching_pairs WHERE workspace_id = $1 AND id = $2 FOR UPDATE',
    [workspaceId, pair.id],
  )
  if (locked.rows[0]?.status !== 'merged') return 'already'
  const record = await tx.query<{ identifiers: Identifier[] }>(
    `SELECT identifiers FROM profile_merges WHERE workspace_id = $1 AND kind = 'merge'
       AND rule = 'probabilistic' AND from_profile_id = $2 ORDER BY id DESC LIMIT 1`,
    [workspaceId, pair.merged_from],
  )
  const recorded = record.rows[0]?.identifiers ?? []
  if (recorded.length === 0)
    throw new UndoRefused(
      `no identifiers of ${pair.merged_from} were recorded with the merge: split it by hand`,
    )
  const survivor = await liveSurvivor(tx, workspaceId, pair.merged_from)
  if (survivor === undefined)
    throw new UndoRefused(`the profile ${pair.merged_from} went into no longer exists (erased?)`)
  const held = await tx.query<Identifier>(
    `SELECT i.type, i.value FROM identities i
     JOIN jsonb_to_recordset($3::jsonb) AS r(type text, value text) ON r.type = i.type AND r.value = i.value
     WHERE i.workspace_id = $1 AND i.profile_id = $2 ORDER BY i.type, i.value`,
    [workspaceId, survivor, JSON.stringify(recorded)],
  )
  if (held.rows.length === 0)
    throw new UndoRefused(
      `none of ${pair.merged_from}'s identifiers are in ${survivor} any more (split or erased since)`,
    )
  // Built on since: more merged into the survivor, or the survivor itself merged on, by anything
  // but this run (whose own merges this undo takes apart too).
  const later = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM profile_merges WHERE workspace_id = $1 AND kind = 'merge'
       AND (into_profile_id = $2 OR from_profile_id = $3) AND at > $4::timestamptz
       AND (details->>'runId') IS DISTINCT FROM $5`,
    [workspaceId, survivor, pair.merged_into, new Date(pair.decided_at).toISOString(), runId],
  )
  const at = deps.clock().getTime()
  const split = await splitInTransaction(
    tx,
    { workspaceId, profileId: survivor, detach: held.rows, requestedBy },
    { settings, at, ...(deps.profileHooks ? { profileHooks: deps.profileHooks } : {}) },
  )
  const heldKeys = new Set(held.rows.map(identifierKey))
  const result: UndoneMerge = {
    pairId: pair.id,
    from: pair.merged_from,
    into: pair.merged_into,
    splitFrom: survivor,
    restoredAs: split.newProfileId,
    movedEvents: split.movedEvents,
    detachedIdentifiers: split.detached.length,
    missingIdentifiers: recorded.filter((i) => !heldKeys.has(identifierKey(i))).length,
    laterMerges: later.rows[0]?.n ?? 0,
  }
  await tx.query(
    `UPDATE matching_pairs SET status = 'undone', undo = $3 WHERE workspace_id = $1 AND id = $2`,
    [
      workspaceId,
      pair.id,
      JSON.stringify({ ...result, at: new Date(at).toISOString(), by: requestedBy }),
    ],
  )
  return result
}
