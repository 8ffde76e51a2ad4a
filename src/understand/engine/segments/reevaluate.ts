/**
 * Re-evaluation of the segments affected by what changed for a set of profiles: the real-time
 * stage and the scheduler's computed trait expiry share it. Segments run in evaluation order, so
 * a membership change feeds the segments that reference it in the same pass.
 */
import { isAffected } from '../../core/segments/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import { orderSegments, type StoredSegment } from './definitions.js'
import { applyMembershipDelta, evaluateSegmentFor } from './membership.js'

/** What changed for one profile (the mutable twin of src/understand/core/segments ProfileChange). */
export interface Change {
  traits: Set<string>
  events: Array<{ name: string | null; type: string }>
  computedTraits: Set<string>
  segments: Set<string>
  consentPurposes: Set<string>
  /** Re-evaluate every segment (the profile absorbed another one). */
  all: boolean
}

export function emptyChange(): Change {
  return {
    traits: new Set(),
    events: [],
    computedTraits: new Set(),
    segments: new Set(),
    consentPurposes: new Set(),
    all: false,
  }
}

export interface ReevaluateResult {
  evaluated: number
  entered: number
  exited: number
}

/**
 * Evaluates, for each segment in order, the profiles whose change affects it (SQL compiler,
 * restricted to those ids) and writes entered / exited with history and outbox rows.
 */
export async function reevaluate(
  q: Queryable,
  workspaceId: string,
  segments: readonly StoredSegment[],
  changes: ReadonlyMap<string, Change>,
  now: Date,
): Promise<ReevaluateResult> {
  const out: ReevaluateResult = { evaluated: 0, entered: 0, exited: 0 }
  if (changes.size === 0) return out
  for (const seg of orderSegments(segments.filter((s) => s.status === 'active'))) {
    const ids: string[] = []
    for (const [pid, c] of changes) if (c.all || isAffected(seg.deps, c)) ids.push(pid)
    if (ids.length === 0) continue
    out.evaluated += ids.length
    const delta = await evaluateSegmentFor(q, workspaceId, seg, ids, now)
    out.entered += delta.entered.length
    out.exited += delta.exited.length
    for (const pid of [...delta.entered, ...delta.exited]) changes.get(pid)?.segments.add(seg.id)
  }
  return out
}

/**
 * Profiles merged into a survivor leave every segment (the survivor is re-evaluated with all of
 * their events): exited with history and outbox rows.
 */
export async function exitMergedProfiles(
  q: Queryable,
  workspaceId: string,
  segments: readonly StoredSegment[],
  mergedAway: readonly string[],
  now: Date,
): Promise<number> {
  if (mergedAway.length === 0) return 0
  const res = await q.query<{ segment_id: string; ids: string[] }>(
    `SELECT segment_id, array_agg(profile_id) AS ids FROM segment_members
     WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) GROUP BY segment_id`,
    [workspaceId, [...mergedAway]],
  )
  const names = new Map(segments.map((s) => [s.id, s.name]))
  let n = 0
  for (const r of res.rows) {
    const d = await applyMembershipDelta(
      q,
      workspaceId,
      { id: r.segment_id, name: names.get(r.segment_id) ?? r.segment_id },
      { entered: [], exited: r.ids },
      now,
    )
    n += d.exited.length
  }
  return n
}
