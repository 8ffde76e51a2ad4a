/**
 * @module identity/match-planner
 * What a probabilistic matching run does with its scored pairs, as data: which profiles merge
 * (into the oldest of each group), which pairs wait for review, and which are left alone.
 *
 * A probability never overrides identity rules: two groups join only when the result stays
 * within the per-type limits (two different `user_id`s never merge under the default limit of
 * one) and the caps, when the two hold no different values of an identifier a person has one of
 * (see `match-evidence.ts`: two emails, two phones, two user ids are two people), and when no
 * reviewer rejected a pair across them, and when the pair itself carries no evidence against
 * (`ScoredPair.against`). A pair above the auto-merge threshold that breaks one of these goes
 * to review with the reason instead; a pair in the review band with evidence against is queued
 * with that reason too, so the reviewer reads it first. A pair whose identifiers alone tell it
 * apart (different values, none shared: two customers with a name and a town in common) is
 * neither merged nor queued, only counted.
 * Groups are built greedily from the most probable pair down (Kruskal), so one weak link
 * cannot pull a conflicting profile into a group.
 */
import type { IdentityRules } from './rules.js'
import {
  describeConflicts,
  identifierConflicts,
  toldApart,
  unionValues,
  type ExclusiveValues,
  type IdentifierConflict,
} from './match-evidence.js'

export interface MatchProfile {
  id: string
  createdAt: number
  mergeCount: number
  /** Identifiers per type (`profiles.identifier_counts`). */
  counts: Readonly<Record<string, number>>
  /** Values of identifiers a person holds one of (`exclusiveValues`); absent: none known. */
  exclusive?: ExclusiveValues
}

export interface ScoredPair<E = unknown> {
  /** Live profile ids, `a < b`. */
  a: string
  b: string
  probability: number
  explanation: E
  /**
   * Evidence against found on the pair's own comparison (first names that do not agree at a
   * shared phone or address: a household): never auto-merged, queued with this reason.
   */
  against?: { code: 'different_names'; reason: string }
}

export interface MatchPlanInput<E> {
  pairs: readonly ScoredPair<E>[]
  profiles: ReadonlyMap<string, MatchProfile>
  rules: Pick<IdentityRules, 'limits' | 'caps'>
  /** Pair keys (`pairKey`) of live profiles a reviewer rejected: never merged, never queued. */
  rejected: ReadonlySet<string>
  autoMergeThreshold: number
  reviewThreshold: number
}

export interface PlannedMerge<E> {
  from: string
  into: string
  /** The pair that joined `from` to its group (its parent edge, seen from the survivor). */
  pair: ScoredPair<E>
}

/**
 * Why a pair waits for a person: `identity_rules` (merging would break a limit or a cap: accept
 * is refused too), `different_identifiers` and `different_names` (evidence against: a reviewer
 * may still accept), `rejected` (merging would join profiles a reviewer told apart).
 */
export type QueueReason =
  'identity_rules' | 'different_identifiers' | 'different_names' | 'rejected'

export interface QueuedPair<E> extends ScoredPair<E> {
  /** Why the pair was not merged, for a reviewer; null for an ordinary review-band pair. */
  reason: string | null
  reasonCode: QueueReason | null
  /** The identifiers that differ, when `reasonCode` is `different_identifiers`. */
  conflicts: IdentifierConflict[]
}

export interface MatchPlan<E> {
  merges: PlannedMerge<E>[]
  review: QueuedPair<E>[]
  /** Auto-merge pairs held back by identity rules or a rejection (also in `review` when queued). */
  blocked: number
  /** `blocked` by reason. */
  blockedBy: Record<QueueReason, number>
  /** Pairs skipped because a reviewer rejected them. */
  skippedRejected: number
  /**
   * Pairs neither merged nor queued because their identifiers tell them apart (`toldApart`:
   * different values, none shared), whatever their score.
   */
  toldApart: number
}

export const pairKey = (a: string, b: string): string =>
  a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`

interface Group {
  members: string[]
  counts: Record<string, number>
  mergeCount: number
  exclusive: ExclusiveValues
}

interface Conflict {
  code: QueueReason
  reason: string
  conflicts: IdentifierConflict[]
}

export function planMatches<E>(input: MatchPlanInput<E>): MatchPlan<E> {
  const { profiles, rules, rejected } = input
  const parent = new Map<string, string>()
  const groups = new Map<string, Group>()
  const find = (x: string): string => {
    let r = x
    while (parent.get(r) !== r) r = parent.get(r) as string
    parent.set(x, r)
    return r
  }
  const groupOf = (id: string): Group => {
    if (!parent.has(id)) {
      parent.set(id, id)
      const p = profiles.get(id)
      groups.set(id, {
        members: [id],
        counts: { ...(p?.counts ?? {}) },
        mergeCount: p?.mergeCount ?? 0,
        exclusive: p?.exclusive ?? {},
      })
    }
    return groups.get(find(id)) as Group
  }
  const conflict = (g1: Group, g2: Group): Conflict | null => {
    const rule = (reason: string): Conflict => ({ code: 'identity_rules', reason, conflicts: [] })
    for (const type of new Set([...Object.keys(g1.counts), ...Object.keys(g2.counts)])) {
      const limit = rules.limits[type]
      const total = (g1.counts[type] ?? 0) + (g2.counts[type] ?? 0)
      if (limit !== null && limit !== undefined && total > limit)
        return rule(
          `identity rules: the merged profile would hold ${total} ${type} identifiers (limit ${limit})`,
        )
    }
    const ids = Object.values(g1.counts).reduce((s, n) => s + n, 0)
    const ids2 = Object.values(g2.counts).reduce((s, n) => s + n, 0)
    if (ids + ids2 > rules.caps.maxIdentifiersPerProfile)
      return rule(
        `identity rules: the merged profile would hold ${ids + ids2} identifiers (cap ${rules.caps.maxIdentifiersPerProfile})`,
      )
    const merges = g1.mergeCount + g2.mergeCount + 1
    if (merges > rules.caps.maxMergesPerProfile)
      return rule(
        `identity rules: the merged profile would count ${merges} merges (cap ${rules.caps.maxMergesPerProfile})`,
      )
    const different = identifierConflicts(g1.exclusive, g2.exclusive)
    if (different.length > 0)
      return {
        code: 'different_identifiers',
        reason: describeConflicts(different),
        conflicts: different,
      }
    for (const x of g1.members)
      for (const y of g2.members)
        if (rejected.has(pairKey(x, y)))
          return {
            code: 'rejected',
            reason: `a reviewer rejected ${x} and ${y} as a match; merging would join them`,
            conflicts: [],
          }
    return null
  }

  const alone = (id: string): Group => {
    const p = profiles.get(id)
    return {
      members: [id],
      counts: { ...(p?.counts ?? {}) },
      mergeCount: p?.mergeCount ?? 0,
      exclusive: p?.exclusive ?? {},
    }
  }
  const againstOf = (pair: ScoredPair<E>): Conflict | null =>
    pair.against ? { code: pair.against.code, reason: pair.against.reason, conflicts: [] } : null

  const sorted = [...input.pairs].sort(
    (p, q) =>
      q.probability - p.probability || (p.a < q.a ? -1 : p.a > q.a ? 1 : p.b < q.b ? -1 : 1),
  )
  const edges: ScoredPair<E>[] = []
  const review: QueuedPair<E>[] = []
  const blockedBy: Record<QueueReason, number> = {
    identity_rules: 0,
    different_identifiers: 0,
    different_names: 0,
    rejected: 0,
  }
  let skippedRejected = 0
  let apart = 0
  for (const pair of sorted) {
    if (pair.probability < input.reviewThreshold) continue
    if (rejected.has(pairKey(pair.a, pair.b))) {
      skippedRejected++
      continue
    }
    if (toldApart(profiles.get(pair.a)?.exclusive ?? {}, profiles.get(pair.b)?.exclusive ?? {})) {
      apart++
      continue
    }
    if (pair.probability < input.autoMergeThreshold) {
      // The pair's own profiles (not their groups): what the reviewer sees side by side.
      const why = conflict(alone(pair.a), alone(pair.b)) ?? againstOf(pair)
      review.push(
        why
          ? { ...pair, reason: why.reason, reasonCode: why.code, conflicts: why.conflicts }
          : { ...pair, reason: null, reasonCode: null, conflicts: [] },
      )
      continue
    }
    const ga = groupOf(pair.a)
    const gb = groupOf(pair.b)
    if (ga === gb) continue
    const why = conflict(ga, gb) ?? againstOf(pair)
    if (why !== null) {
      blockedBy[why.code]++
      review.push({ ...pair, reason: why.reason, reasonCode: why.code, conflicts: why.conflicts })
      continue
    }
    const ra = find(pair.a)
    const rb = find(pair.b)
    const [bigRoot, smallRoot] = ga.members.length >= gb.members.length ? [ra, rb] : [rb, ra]
    const big = groups.get(bigRoot) as Group
    const small = groups.get(smallRoot) as Group
    parent.set(smallRoot, bigRoot)
    groups.delete(smallRoot)
    big.members.push(...small.members)
    for (const [t, n] of Object.entries(small.counts)) big.counts[t] = (big.counts[t] ?? 0) + n
    big.mergeCount += small.mergeCount + 1
    big.exclusive = unionValues(big.exclusive, small.exclusive)
    edges.push(pair)
  }

  // Every group merges into its oldest member; each other member records the pair that joined
  // it, found by walking the group's tree of accepted pairs out from the survivor.
  const adjacency = new Map<string, ScoredPair<E>[]>()
  for (const e of edges) {
    for (const end of [e.a, e.b]) {
      const l = adjacency.get(end)
      if (l === undefined) adjacency.set(end, [e])
      else l.push(e)
    }
  }
  const merges: PlannedMerge<E>[] = []
  const done = new Set<string>()
  const oldest = (ids: readonly string[]): string =>
    [...ids].sort((x, y) => {
      const px = profiles.get(x)?.createdAt ?? 0
      const py = profiles.get(y)?.createdAt ?? 0
      return px - py || (x < y ? -1 : 1)
    })[0] as string
  for (const root of new Set(edges.map((e) => find(e.a)))) {
    const members = (groups.get(root) as Group).members
    const into = oldest(members)
    const queue = [into]
    done.add(into)
    while (queue.length > 0) {
      const at = queue.shift() as string
      for (const e of adjacency.get(at) ?? []) {
        const next = e.a === at ? e.b : e.a
        if (done.has(next)) continue
        done.add(next)
        merges.push({ from: next, into, pair: e })
        queue.push(next)
      }
    }
  }
  // Pairs whose two profiles end up merged anyway need no review.
  const merged = new Map(merges.map((m) => [m.from, m.into]))
  const live = (id: string) => merged.get(id) ?? id
  return {
    merges,
    review: review.filter((p) => live(p.a) !== live(p.b)),
    blocked: Object.values(blockedBy).reduce((s, n) => s + n, 0),
    blockedBy,
    skippedRejected,
    toldApart: apart,
  }
}
