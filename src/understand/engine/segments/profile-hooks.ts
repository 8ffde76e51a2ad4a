/**
 * Segments follow profile changes made outside the processor (ProfileHooks, wired by the segments
 * module): what the segments stage does for a merge made by a processor
 * batch: fold the merged-away profiles' computed trait states into the survivor's, take the
 * merged-away profiles out of their segments, and re-evaluate every segment for the survivor
 * (it now holds the events, traits and consents of both). Same transaction as the merge.
 */
import type { Queryable } from '../../../platform/store/db.js'
import { updateComputedTraits } from './computed-traits.js'
import { loadComputedTraits, loadSegments } from './definitions.js'
import { emptyChange, exitMergedProfiles, reevaluate, type Change } from './reevaluate.js'

export async function syncSegmentsAfterMerges(
  tx: Queryable,
  workspaceId: string,
  redirects: ReadonlyArray<{ from: string; into: string }>,
  now: Date,
): Promise<void> {
  if (redirects.length === 0) return
  const [segments, traits] = await Promise.all([
    loadSegments(tx, workspaceId, { activeOnly: true }),
    loadComputedTraits(tx, workspaceId, { activeOnly: true }),
  ])
  if (segments.length === 0 && traits.length === 0) return
  const mergedInto = new Map(redirects.map((r) => [r.from, r.into]))
  const changes = new Map<string, Change>()
  for (const r of redirects) {
    const c = changes.get(r.into) ?? emptyChange()
    c.all = true
    changes.set(r.into, c)
  }
  const changed = await updateComputedTraits(tx, workspaceId, traits, new Map(), mergedInto, now)
  for (const [pid, ids] of changed) {
    const c = changes.get(pid) ?? emptyChange()
    for (const id of ids) c.computedTraits.add(id)
    changes.set(pid, c)
  }
  await exitMergedProfiles(tx, workspaceId, segments, [...mergedInto.keys()], now)
  await reevaluate(tx, workspaceId, segments, changes, now)
}

/** The profile hook after consent decided outside the processor: consent conditions follow. */
export async function reevaluateAfterConsent(
  tx: Queryable,
  workspaceId: string,
  profileId: string,
  purposes: ReadonlySet<string>,
  now: Date,
): Promise<void> {
  const segments = await loadSegments(tx, workspaceId, { activeOnly: true })
  if (segments.length === 0) return
  const change = emptyChange()
  for (const p of purposes) change.consentPurposes.add(p)
  await reevaluate(tx, workspaceId, segments, new Map([[profileId, change]]), now)
}
