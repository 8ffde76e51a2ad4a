/**
 * The review queue: pending pairs with both profiles' summaries, and the two decisions. Accept
 * merges through the same path as an auto-merge (identity rules still apply: a pair they block
 * cannot be accepted, only rejected; a pair held back by evidence against, different
 * identifiers or first names, can be: the reviewer has seen why); reject remembers the pair as
 * a non-match. The merges runs made on their own are pairs too (`merged`, `autoMerged`), listed
 * by status and run, and `undone` once their run was undone.
 */
import { KindredError } from '../../../protocol/index.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import type { ProfileHooks } from '../../../platform/module-contract.js'
import type { WorkspaceIdentitySettings } from '../identity-settings.js'
import { applyProbabilisticMerges } from './merge.js'
import type { QueueReason } from '../../core/identity/index.js'
import type { MatchExplanation } from './runs.js'

export type PairStatus = 'pending' | 'merged' | 'rejected' | 'stale' | 'undone'
export const PAIR_STATUSES = ['pending', 'merged', 'rejected', 'stale', 'undone'] as const

interface PairRow {
  id: string
  profile_a: string
  profile_b: string
  status: PairStatus
  probability: number
  explanation: MatchExplanation
  reason: string | null
  reason_code: QueueReason | null
  run_id: string | null
  created_at: Date | string
  decided_at: Date | string | null
  decided_by: string | null
  auto_merged: boolean
  merged_from: string | null
  merged_into: string | null
  undo: Record<string, unknown> | null
}

const pairColumns =
  'id, profile_a, profile_b, status, probability, explanation, reason, reason_code, run_id, created_at, decided_at, decided_by, auto_merged, merged_from, merged_into, undo'

export interface ProfileSummary {
  id: string
  mergedInto: string | null
  createdAt: string
  traits: Record<string, unknown>
  identifiers: Array<{ type: string; value: string }>
}

export function pairView(r: PairRow, summaries?: ReadonlyMap<string, ProfileSummary>) {
  return {
    id: r.id,
    status: r.status,
    probability: r.probability,
    reason: r.reason,
    /** Why it waits: identity_rules (accept is refused), different_identifiers, different_names, rejected; null for the review band. */
    reasonCode: r.reason_code,
    explanation: r.explanation,
    profileA: summaries?.get(r.profile_a) ?? { id: r.profile_a },
    profileB: summaries?.get(r.profile_b) ?? { id: r.profile_b },
    runId: r.run_id,
    createdAt: new Date(r.created_at).toISOString(),
    decidedAt: r.decided_at === null ? null : new Date(r.decided_at).toISOString(),
    decidedBy: r.decided_by,
    /** Merged by a run on its own (not by a reviewer's accept). */
    autoMerged: r.auto_merged,
    mergedFrom: r.merged_from,
    mergedInto: r.merged_into,
    /** What undoing the run did to this merge (status `undone`). */
    undo: r.undo,
  }
}

export async function profileSummaries(
  q: Queryable,
  workspaceId: string,
  ids: readonly string[],
): Promise<Map<string, ProfileSummary>> {
  const out = new Map<string, ProfileSummary>()
  if (ids.length === 0) return out
  const res = await q.query<{
    id: string
    merged_into: string | null
    created_at: Date | string
    traits: Record<string, unknown>
  }>(
    'SELECT id, merged_into, created_at, traits FROM profiles WHERE workspace_id = $1 AND id = ANY($2::text[])',
    [workspaceId, [...ids]],
  )
  const idents = await q.query<{ profile_id: string; type: string; value: string }>(
    `SELECT profile_id, type, value FROM (
       SELECT profile_id, type, value, row_number() OVER (PARTITION BY profile_id ORDER BY type, value) AS n
       FROM identities WHERE workspace_id = $1 AND profile_id = ANY($2::text[])) x
     WHERE n <= 20 ORDER BY profile_id, type, value`,
    [workspaceId, [...ids]],
  )
  for (const r of res.rows) {
    out.set(r.id, {
      id: r.id,
      mergedInto: r.merged_into,
      createdAt: new Date(r.created_at).toISOString(),
      traits: r.traits,
      identifiers: [],
    })
  }
  for (const i of idents.rows)
    out.get(i.profile_id)?.identifiers.push({ type: i.type, value: i.value })
  return out
}

export async function listPairs(
  q: Queryable,
  workspaceId: string,
  opts: {
    /** Absent: every status (a run's merges, merged and undone). */
    status?: PairStatus | undefined
    limit: number
    after?: [number, string] | undefined
    runId?: string | undefined
    autoMerged?: boolean | undefined
  },
) {
  const params: unknown[] = [workspaceId, opts.limit + 1]
  let where = 'workspace_id = $1'
  const param = (v: unknown) => {
    params.push(v)
    return `$${params.length}`
  }
  if (opts.status !== undefined) where += ` AND status = ${param(opts.status)}`
  if (opts.runId !== undefined) where += ` AND run_id = ${param(opts.runId)}`
  if (opts.autoMerged !== undefined) where += ` AND auto_merged = ${param(opts.autoMerged)}`
  if (opts.after) {
    const p = param(opts.after[0])
    where += ` AND (probability < ${p} OR (probability = ${p} AND id > ${param(opts.after[1])}))`
  }
  const res = await q.query<PairRow>(
    `SELECT ${pairColumns} FROM matching_pairs WHERE ${where} ORDER BY probability DESC, id LIMIT $2`,
    params,
  )
  const page = res.rows.slice(0, opts.limit)
  const summaries = await profileSummaries(q, workspaceId, [
    ...new Set(page.flatMap((r) => [r.profile_a, r.profile_b])),
  ])
  const last = page.at(-1)
  return {
    data: page.map((r) => pairView(r, summaries)),
    next: res.rows.length > opts.limit && last ? ([last.probability, last.id] as const) : null,
  }
}

export async function getPair(q: Queryable, workspaceId: string, id: string) {
  const res = await q.query<PairRow>(
    `SELECT ${pairColumns} FROM matching_pairs WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  )
  const row = res.rows[0]
  if (!row) return undefined
  return pairView(row, await profileSummaries(q, workspaceId, [row.profile_a, row.profile_b]))
}

async function lockPending(tx: Queryable, workspaceId: string, id: string): Promise<PairRow> {
  const res = await tx.query<PairRow>(
    `SELECT ${pairColumns} FROM matching_pairs WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
    [workspaceId, id],
  )
  const row = res.rows[0]
  if (!row) throw new KindredError('NOT_FOUND', `review pair ${id} not found`)
  if (row.status !== 'pending')
    throw new KindredError('CONFLICT', `review pair ${id} is already ${row.status}`)
  return row
}

export async function acceptPair(
  db: Db,
  workspaceId: string,
  id: string,
  ctx: {
    decidedBy: string
    now: Date
    identitySettings: (q: Queryable, ws: string) => Promise<WorkspaceIdentitySettings>
    profileHooks?: readonly ProfileHooks[]
  },
) {
  return db.transaction(async (tx) => {
    const row = await lockPending(tx, workspaceId, id)
    const live = await tx.query<{
      id: string
      created_at: Date | string
      merged_into: string | null
    }>(
      'SELECT id, created_at, merged_into FROM profiles WHERE workspace_id = $1 AND id = ANY($2::text[])',
      [workspaceId, [row.profile_a, row.profile_b]],
    )
    if (live.rows.length !== 2 || live.rows.some((p) => p.merged_into !== null)) {
      throw new KindredError(
        'CONFLICT',
        `a profile of review pair ${id} was merged since it was queued; run matching again`,
      )
    }
    // The oldest survives, as in every merge.
    const [into, from] = [...live.rows].sort(
      (x, y) =>
        new Date(x.created_at).getTime() - new Date(y.created_at).getTime() ||
        (x.id < y.id ? -1 : 1),
    ) as [(typeof live.rows)[0], (typeof live.rows)[0]]
    const { rules, survivorship } = await ctx.identitySettings(tx, workspaceId)
    const out = await applyProbabilisticMerges(
      tx,
      workspaceId,
      [
        {
          from: from.id,
          into: into.id,
          details: {
            ...row.explanation,
            pair: [row.profile_a, row.profile_b],
            reviewPairId: row.id,
            acceptedBy: ctx.decidedBy,
          },
        },
      ],
      { rules, survivorship },
      ctx.now,
      ctx.profileHooks,
    )
    const skipped = out.skipped[0]
    if (skipped)
      throw new KindredError('CONFLICT', `cannot merge: ${skipped.reason}; reject the pair instead`)
    await tx.query(
      `UPDATE matching_pairs SET status = 'merged', decided_at = $3, decided_by = $4, merged_from = $5, merged_into = $6
       WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, ctx.now.toISOString(), ctx.decidedBy, from.id, into.id],
    )
    // Other pending pairs of the merged-away profile now point at a profile that is gone.
    await tx.query(
      `UPDATE matching_pairs SET status = 'stale', decided_at = $3
       WHERE workspace_id = $1 AND status = 'pending' AND (profile_a = $2 OR profile_b = $2)`,
      [workspaceId, from.id, ctx.now.toISOString()],
    )
    return { pairId: id, mergedInto: into.id, mergedFrom: from.id }
  })
}

export async function rejectPair(
  db: Db,
  workspaceId: string,
  id: string,
  ctx: { decidedBy: string; now: Date },
) {
  return db.transaction(async (tx) => {
    await lockPending(tx, workspaceId, id)
    await tx.query(
      `UPDATE matching_pairs SET status = 'rejected', decided_at = $3, decided_by = $4 WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, ctx.now.toISOString(), ctx.decidedBy],
    )
    return (await getPair(tx, workspaceId, id)) as NonNullable<Awaited<ReturnType<typeof getPair>>>
  })
}
