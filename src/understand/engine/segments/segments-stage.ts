/**
 * The processor stage of segments and computed traits (real-time path). Runs in the micro-batch
 * transaction after identity resolution and after the batch's events are stored:
 *
 * 1. resolve the batch's profiles, and the profiles merged into them that still hold state;
 * 2. computed traits: one SELECT of the states, `applyEvents` / `mergeStates` in memory, one
 *    upsert (and one delete);
 * 3. segments: only those whose dependencies meet what changed (event names and types, trait
 *    keys, computed traits, memberships, consent), only for the profiles it changed for, through
 *    the SQL compiler's restricted-to-ids variant; membership changes go to segment_members,
 *    history and the outbox in the same transaction.
 */
import { carriesConsent } from '../../../govern/core/index.js'
import type { TraitEvent } from '../../core/computed-traits/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import {
  groupByWorkspace,
  type ProcessedEvent,
  type ProcessorStage,
} from '../../../platform/pipeline/processor.js'
import { updateComputedTraits } from './computed-traits.js'
import { loadComputedTraits, loadSegments } from './definitions.js'
import { emptyChange, exitMergedProfiles, reevaluate, type Change } from './reevaluate.js'

export interface SegmentsStageStats {
  profiles: number
  computedTraitsChanged: number
  evaluated: number
  entered: number
  exited: number
}

/** The `event` column as the processor stores it (track name, page/screen name). */
function eventName(e: ProcessedEvent['event']): string | null {
  return e.event ?? (e.type === 'page' || e.type === 'screen' ? (e.name ?? null) : null)
}

export function createSegmentsStage(
  clock: () => Date,
  onStats?: (s: SegmentsStageStats) => void,
): ProcessorStage {
  return async (tx, batch) => {
    const now = clock()
    for (const [ws, events] of groupByWorkspace(batch.filter((e) => e.profileId !== null))) {
      const stats = await applyWorkspace(tx, ws, events, now)
      if (stats !== undefined) onStats?.(stats)
    }
  }
}

async function applyWorkspace(
  tx: Queryable,
  ws: string,
  events: ProcessedEvent[],
  now: Date,
): Promise<SegmentsStageStats | undefined> {
  const [segments, traits] = await Promise.all([
    loadSegments(tx, ws, { activeOnly: true }),
    loadComputedTraits(tx, ws, { activeOnly: true }),
  ])
  if (segments.length === 0 && traits.length === 0) return undefined
  const touched = [...new Set(events.map((e) => e.profileId as string))]
  // A profile created by this batch has created_at = the receive time of one of its events, so
  // `created_at >= the batch's earliest receive time` finds every new profile (and, at worst, a
  // few old ones, which costs an evaluation, never a wrong answer). New profiles are evaluated
  // against every segment: "did not perform X" or "not in segment S" hold for them before they
  // did anything those segments listen to.
  let firstReceived = events[0]?.event.receivedAt as string
  for (const e of events) if (e.event.receivedAt < firstReceived) firstReceived = e.event.receivedAt
  // Live ids of the batch's profiles, and merged-away profiles that still hold our state.
  // A profile merged by this batch's identity stage was updated in this transaction (now()).
  const res = await tx.query<{
    id: string
    merged_into: string | null
    has_state: boolean
    merged_now: boolean
    is_new: boolean
  }>(
    `SELECT p.id, p.merged_into, (p.merged_into IS NOT NULL AND p.updated_at = now()) AS merged_now,
       p.created_at >= $3::timestamptz AS is_new,
       (p.merged_into IS NOT NULL AND (
         EXISTS (SELECT 1 FROM segment_members sm WHERE sm.workspace_id = $1 AND sm.profile_id = p.id)
         OR EXISTS (SELECT 1 FROM computed_trait_values c WHERE c.workspace_id = $1 AND c.profile_id = p.id)
       )) AS has_state
     FROM profiles p WHERE p.workspace_id = $1 AND (p.id = ANY($2::text[]) OR p.merged_into = ANY($2::text[]))`,
    [ws, touched, firstReceived],
  )
  const liveOf = new Map<string, string>()
  const mergedInto = new Map<string, string>()
  const absorbed = new Set<string>()
  const fresh: string[] = []
  for (const r of res.rows) {
    if (r.merged_into === null && r.is_new) fresh.push(r.id)
    liveOf.set(r.id, r.merged_into ?? r.id)
    if (r.merged_into !== null && r.has_state) mergedInto.set(r.id, r.merged_into)
    if (r.merged_into !== null && (r.has_state || r.merged_now)) absorbed.add(r.merged_into)
  }
  const allPurposes = [...new Set(segments.flatMap((s) => s.deps.consentPurposes))]
  const changes = new Map<string, Change>()
  const change = (pid: string): Change => {
    let c = changes.get(pid)
    if (c === undefined) changes.set(pid, (c = emptyChange()))
    return c
  }
  const traitEvents = new Map<string, TraitEvent[]>()
  for (const e of events) {
    const pid = liveOf.get(e.profileId as string) ?? (e.profileId as string)
    const name = eventName(e.event)
    const c = change(pid)
    c.events.push({ name, type: e.event.type })
    for (const src of [e.event.traits, (e.event.context as { traits?: unknown }).traits])
      if (src !== null && typeof src === 'object') for (const k of Object.keys(src)) c.traits.add(k)
    if (carriesConsent(e.event)) for (const p of allPurposes) c.consentPurposes.add(p)
    let l = traitEvents.get(pid)
    if (l === undefined) traitEvents.set(pid, (l = []))
    l.push({
      name,
      type: e.event.type,
      properties: e.event.properties,
      timestamp: e.event.timestamp,
      messageId: e.event.messageId,
    })
  }
  // A survivor now holds the events, traits and consents of the profiles it absorbed.
  for (const into of absorbed) change(into).all = true
  for (const pid of fresh) change(pid).all = true

  const ctChanged = await updateComputedTraits(tx, ws, traits, traitEvents, mergedInto, now)
  let computedTraitsChanged = 0
  for (const [pid, ids] of ctChanged) {
    const c = change(pid)
    for (const id of ids) c.computedTraits.add(id)
    computedTraitsChanged += ids.size
  }
  const exited = await exitMergedProfiles(tx, ws, segments, [...mergedInto.keys()], now)
  const r = await reevaluate(tx, ws, segments, changes, now)
  return {
    profiles: changes.size,
    computedTraitsChanged,
    evaluated: r.evaluated,
    entered: r.entered,
    exited: r.exited + exited,
  }
}
