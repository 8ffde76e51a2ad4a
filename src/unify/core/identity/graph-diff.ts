/**
 * @module identity/graph-diff
 * Compares two identity graphs by how they group identifiers, for `kindred reprocess --dry-run`:
 * replay the log under new rules into an `IdentityGraph`, then report which of today's profiles
 * would merge or split. Profile ids are ignored; only the grouping of identifiers matters.
 */
import type { GraphState } from './identity-graph.js'
import { identifierKey } from './identifiers.js'

export interface GraphDiff {
  /** Live profiles before and after. */
  profiles: { before: number; after: number }
  /** After-profiles that hold identifiers of several before-profiles. */
  merged: Array<{ after: string; before: string[] }>
  /** Before-profiles whose identifiers spread over several after-profiles. */
  split: Array<{ before: string; after: string[] }>
  /** Identifiers present on one side only. */
  identifiersOnlyBefore: number
  identifiersOnlyAfter: number
}

function groups(a: Map<string, string>, b: Map<string, string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const [key, profile] of a) {
    const other = b.get(key)
    if (other === undefined) continue
    let set = out.get(profile)
    if (!set) out.set(profile, (set = new Set()))
    set.add(other)
  }
  return out
}

export function diffGraphs(before: GraphState, after: GraphState): GraphDiff {
  const owners = (state: GraphState) =>
    new Map(state.identifiers.map((entry) => [identifierKey(entry), entry.profileId]))
  const b = owners(before)
  const a = owners(after)
  const live = (state: GraphState) => state.profiles.filter((p) => p.mergedInto === null).length
  const sorted = (set: Set<string>) => [...set].sort()
  return {
    profiles: { before: live(before), after: live(after) },
    merged: [...groups(a, b)]
      .filter(([, set]) => set.size > 1)
      .map(([profile, set]) => ({ after: profile, before: sorted(set) }))
      .sort((x, y) => (x.after < y.after ? -1 : 1)),
    split: [...groups(b, a)]
      .filter(([, set]) => set.size > 1)
      .map(([profile, set]) => ({ before: profile, after: sorted(set) }))
      .sort((x, y) => (x.before < y.before ? -1 : 1)),
    identifiersOnlyBefore: [...b.keys()].filter((key) => !a.has(key)).length,
    identifiersOnlyAfter: [...a.keys()].filter((key) => !b.has(key)).length,
  }
}
