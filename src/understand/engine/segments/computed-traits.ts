/**
 * Computed trait values in the store: incremental updates for a micro-batch (one SELECT of the
 * states, one upsert, one delete), SQL backfill on create/update, and expiry of windowed values
 * on schedule. Invariant: a `computed_trait_values` row exists iff its state holds at least one
 * bucket, which is exactly what the SQL backfill produces; so the real-time path and a backfill
 * over the same events store the same rows (and segments see the same facts).
 */
import {
  applyEvents,
  compileComputedTraitBackfill,
  expire,
  mergeStates,
  nextExpiry,
  readState,
  valueOf,
  type TraitEvent,
  type TraitState,
} from '../../core/computed-traits/index.js'
import type { Queryable } from '../../../platform/store/db.js'
import type { StoredComputedTrait } from './definitions.js'

export interface ValueRow {
  profile_id: string
  computed_trait_id: string
  value: unknown
  state: TraitState
  expires_at: string | null
}

const isEmpty = (s: TraitState): boolean => Object.keys(s.b).length === 0
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** Does a computed trait listen to this event at all (cheap pre-filter before applyEvents)? */
export function listensTo(
  ct: StoredComputedTrait,
  e: { name: string | null; type: string },
): boolean {
  if (ct.deps.event !== undefined && e.name !== ct.deps.event) return false
  if (ct.deps.type !== undefined && e.type !== ct.deps.type) return false
  return true
}

function row(ct: StoredComputedTrait, profileId: string, state: TraitState, now: Date): ValueRow {
  const exp = nextExpiry(ct.definition, state, now)
  return {
    profile_id: profileId,
    computed_trait_id: ct.id,
    value: valueOf(ct.definition, state, now) ?? null,
    state,
    expires_at: exp === undefined ? null : exp.toISOString(),
  }
}

export async function upsertValues(
  q: Queryable,
  workspaceId: string,
  rows: readonly ValueRow[],
  now: Date,
): Promise<void> {
  for (let i = 0; i < rows.length; i += 5_000) {
    await q.query(
      `INSERT INTO computed_trait_values
         (workspace_id, profile_id, computed_trait_id, value, state, updated_at, expires_at)
       SELECT $1, x.profile_id, x.computed_trait_id, x.value, x.state, $3, x.expires_at
       FROM jsonb_to_recordset($2::jsonb)
         AS x(profile_id text, computed_trait_id text, value jsonb, state jsonb, expires_at timestamptz)
       ON CONFLICT (workspace_id, profile_id, computed_trait_id) DO UPDATE
         SET value = EXCLUDED.value, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at,
             expires_at = EXCLUDED.expires_at`,
      [workspaceId, JSON.stringify(rows.slice(i, i + 5_000)), now.toISOString()],
    )
  }
}

async function deleteValues(
  q: Queryable,
  workspaceId: string,
  keys: ReadonlyArray<{ profileId: string; traitId: string }>,
): Promise<void> {
  if (keys.length === 0) return
  await q.query(
    `DELETE FROM computed_trait_values c USING unnest($2::text[], $3::text[]) AS k(pid, tid)
     WHERE c.workspace_id = $1 AND c.profile_id = k.pid AND c.computed_trait_id = k.tid`,
    [workspaceId, keys.map((k) => k.profileId), keys.map((k) => k.traitId)],
  )
}

/**
 * Applies a micro-batch to the computed traits of its profiles. `eventsByProfile` is keyed by
 * live profile id; `mergedInto` maps merged-away profiles (whose rows an identity merge could not
 * move, see migration 0101) to their survivor. Returns, per profile, the computed traits whose
 * value changed.
 */
export async function updateComputedTraits(
  q: Queryable,
  workspaceId: string,
  traits: readonly StoredComputedTrait[],
  eventsByProfile: ReadonlyMap<string, readonly TraitEvent[]>,
  mergedInto: ReadonlyMap<string, string>,
  now: Date,
): Promise<Map<string, Set<string>>> {
  const changed = new Map<string, Set<string>>()
  if (traits.length === 0) return changed
  // Which (profile, trait) pairs have work: qualifying events, or a merged-away state to fold in.
  const work = new Map<string, Map<string, TraitEvent[]>>()
  for (const [pid, events] of eventsByProfile) {
    for (const ct of traits) {
      const mine = events.filter((e) => listensTo(ct, { name: e.name ?? null, type: e.type }))
      if (mine.length === 0) continue
      let m = work.get(pid)
      if (m === undefined) work.set(pid, (m = new Map()))
      m.set(ct.id, mine)
    }
  }
  const survivors = new Set(mergedInto.values())
  for (const pid of survivors) {
    let m = work.get(pid)
    if (m === undefined) work.set(pid, (m = new Map()))
    for (const ct of traits) if (!m.has(ct.id)) m.set(ct.id, [])
  }
  if (work.size === 0) return changed
  const ids = [...new Set([...work.keys(), ...mergedInto.keys()])]
  const res = await q.query<{
    profile_id: string
    computed_trait_id: string
    value: unknown
    state: unknown
  }>(
    `SELECT profile_id, computed_trait_id, value, state FROM computed_trait_values
     WHERE workspace_id = $1 AND profile_id = ANY($2::text[]) AND computed_trait_id = ANY($3::text[])`,
    [workspaceId, ids, traits.map((t) => t.id)],
  )
  const stored = new Map<string, { value: unknown; state: TraitState }>()
  for (const r of res.rows)
    stored.set(`${r.profile_id}\u0000${r.computed_trait_id}`, {
      value: r.value,
      state: readState(r.state),
    })
  const byId = new Map(traits.map((t) => [t.id, t]))
  const upserts: ValueRow[] = []
  const deletes: Array<{ profileId: string; traitId: string }> = []
  const mergedBy = new Map<string, string[]>()
  for (const [from, into] of mergedInto) {
    const l = mergedBy.get(into)
    if (l === undefined) mergedBy.set(into, [from])
    else l.push(from)
  }
  for (const [pid, perTrait] of work) {
    for (const [tid, events] of perTrait) {
      const ct = byId.get(tid) as StoredComputedTrait
      const before = stored.get(`${pid}\u0000${tid}`)
      let state = before?.state ?? { v: 1 as const, b: {} }
      let merged = false
      for (const from of mergedBy.get(pid) ?? []) {
        const other = stored.get(`${from}\u0000${tid}`)
        if (other === undefined) continue
        state = mergeStates(ct.definition, state, other.state)
        deletes.push({ profileId: from, traitId: tid })
        merged = true
      }
      const next = applyEvents(ct.definition, state, events, now).state
      if (isEmpty(next)) {
        if (before !== undefined) deletes.push({ profileId: pid, traitId: tid })
      } else if (merged || before === undefined || !same(before.state, next)) {
        upserts.push(row(ct, pid, next, now))
      } else continue
      const value = isEmpty(next) ? undefined : valueOf(ct.definition, next, now)
      if (!same(before?.value ?? undefined, value ?? undefined)) {
        let s = changed.get(pid)
        if (s === undefined) changed.set(pid, (s = new Set()))
        s.add(tid)
      }
    }
  }
  await deleteValues(q, workspaceId, deletes)
  await upsertValues(q, workspaceId, upserts, now)
  return changed
}

/**
 * Rebuilds every value of one computed trait from the events, in SQL (create / update).
 * Returns the profiles whose value changed (for re-evaluating the segments that read it).
 */
export async function backfillComputedTrait(
  q: Queryable,
  workspaceId: string,
  ct: StoredComputedTrait,
  now: Date,
): Promise<{ rows: number }> {
  const sql = compileComputedTraitBackfill(ct.definition, { workspaceId, now })
  const res = await q.query<{ profile_id: string; state: unknown }>(sql.text, sql.values)
  await q.query(
    'DELETE FROM computed_trait_values WHERE workspace_id = $1 AND computed_trait_id = $2',
    [workspaceId, ct.id],
  )
  const rows = res.rows.map((r) => row(ct, r.profile_id, readState(r.state), now))
  await upsertValues(q, workspaceId, rows, now)
  return { rows: rows.length }
}

/**
 * Moves the windowed values that are due (`expires_at <= now`) to `now` with `expire` (no events
 * read). Returns, per profile, the computed traits whose value changed.
 */
export async function expireComputedTraits(
  q: Queryable,
  workspaceId: string,
  traits: readonly StoredComputedTrait[],
  now: Date,
  chunk = 5_000,
): Promise<Map<string, Set<string>>> {
  const changed = new Map<string, Set<string>>()
  for (const ct of traits) {
    if (ct.definition.window === undefined) continue
    for (;;) {
      const res = await q.query<{ profile_id: string; value: unknown; state: unknown }>(
        `SELECT profile_id, value, state FROM computed_trait_values
         WHERE workspace_id = $1 AND computed_trait_id = $2 AND expires_at <= $3
         ORDER BY expires_at LIMIT $4`,
        [workspaceId, ct.id, now.toISOString(), chunk],
      )
      if (res.rows.length === 0) break
      const upserts: ValueRow[] = []
      const deletes: Array<{ profileId: string; traitId: string }> = []
      for (const r of res.rows) {
        const next = expire(ct.definition, readState(r.state), now)
        if (isEmpty(next.state)) deletes.push({ profileId: r.profile_id, traitId: ct.id })
        else upserts.push(row(ct, r.profile_id, next.state, now))
        const value = isEmpty(next.state) ? undefined : next.value
        if (!same(r.value ?? undefined, value ?? undefined)) {
          let s = changed.get(r.profile_id)
          if (s === undefined) changed.set(r.profile_id, (s = new Set()))
          s.add(ct.id)
        }
      }
      await deleteValues(q, workspaceId, deletes)
      await upsertValues(q, workspaceId, upserts, now)
      if (res.rows.length < chunk) break
    }
  }
  return changed
}
