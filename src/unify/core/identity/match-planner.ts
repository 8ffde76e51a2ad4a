/**
 * @module identity/match-planner
 * What a probabilistic matching run does with its scored pairs, as data: which profiles merge
 * (into the oldest of each group), which pairs wait for review, and which are left alone.
 *
 * A probability never overrides identity rules: two groups join only when the result stays
 * within the per-type limits (two different `user_id`s never merge under the default limit of
 * one) and the caps, and when no reviewer rejected a pair across them. A pair above the
 * auto-merge threshold that breaks one of these goes to review with the reason instead.
 * Groups are built greedily from the most probable pair down (Kruskal), so one weak link
 * cannot pull a conflicting profile into a group.
 */
import type { IdentityRules } from './rules.js'

export interface MatchProfile {
  id: string
  createdAt: number
  mergeCount: number
  /** Identifiers per type (`profiles.identifier_counts`). */
  counts: Readonly<Record<string, number>>
}

export interface ScoredPair<E = unknown> {
  /** Live profile ids, `a < b`. */
  a: string
  b: string
  probability: number
  explanation: E
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

export interface QueuedPair<E> extends ScoredPair<E> {
  /** Why a pair above the auto-merge threshold was not merged; null for the review band. */
  reason: string | null
}

export interface MatchPlan<E> {
  merges: PlannedMerge<E>[]
  review: QueuedPair<E>[]
  /** Auto-merge pairs held back by identity rules or a rejection (also in `review` when queued). */
  blocked: number
  /** Pairs skipped because a reviewer rejected them. */
  skippedRejected: number
}

export const pairKey = (a: string, b: string): string =>
  a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`

interface Group {
  members: string[]
  counts: Record<string, number>
  mergeCount: number
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
      })
    }
    return groups.get(find(id)) as Group
  }
  const conflict = (g1: Group, g2: Group): string | null => {
    for (const type of new Set([...Object.keys(g1.counts), ...Object.keys(g2.counts)])) {
      const limit = rules.limits[type]
      const total = (g1.counts[type] ?? 0) + (g2.counts[type] ?? 0)
      if (limit !== null && limit !== undefined && total > limit)
        return `identity rules: the merged profile would hold ${total} ${type} identifiers (limit ${limit})`
    }
    const ids = Object.values(g1.counts).reduce((s, n) => s + n, 0)
    const ids2 = Object.values(g2.counts).reduce((s, n) => s + n, 0)
    if (ids + ids2 > rules.caps.maxIdentifiersPerProfile)
      return `identity rules: the merged profile would hold ${ids + ids2} identifiers (cap ${rules.caps.maxIdentifiersPerProfile})`
    const merges = g1.mergeCount + g2.mergeCount + 1
    if (merges > rules.caps.maxMergesPerProfile)
      return `identity rules: the merged profile would count ${merges} merges (cap ${rules.caps.maxMergesPerProfile})`
    for (const x of g1.members)
      for (const y of g2.members)
        if (rejected.has(pairKey(x, y)))
          return `a reviewer rejected ${x} and ${y} as a match; merging would join them`
    return null
  }

  const sorted = [...input.pairs].sort(
    (p, q) =>
      q.probability - p.probability || (p.a < q.a ? -1 : p.a > q.a ? 1 : p.b < q.b ? -1 : 1),
  )
  const edges: ScoredPair<E>[] = []
  const review: QueuedPair<E>[] = []
  let blocked = 0
  let skippedRejected = 0
  for (const pair of sorted) {
    if (pair.probability < input.reviewThreshold) continue
    if (rejected.has(pairKey(pair.a, pair.b))) {
      skippedRejected++
      continue
    }
    if (pair.probability < input.autoMergeThreshold) {
      review.push({ ...pair, reason: null })
      continue
    }
    const ga = groupOf(pair.a)
    const gb = groupOf(pair.b)
    if (ga === gb) continue
    const why = conflict(ga, gb)
    if (why !== null) {
      blocked++
      review.push({ ...pair, reason: why })
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
    blocked,
    skippedRejected,
  }
}
