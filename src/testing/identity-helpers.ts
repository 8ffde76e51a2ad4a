/**
 * @module identity/test-helpers
 * Builders shared by the identity tests (not exported from the package index).
 */
import type { Identifier } from '../unify/core/identity/identifiers.js'
import { IdentityGraph } from '../unify/core/identity/identity-graph.js'
import type { IdentityPlan, PlannerEvent } from '../unify/core/identity/merge-planner.js'
import { planIdentity } from '../unify/core/identity/merge-planner.js'
import type { IdentityRules } from '../unify/core/identity/rules.js'
import { DEFAULT_IDENTITY_RULES } from '../unify/core/identity/rules.js'

export interface Ids {
  user?: string
  anon?: string
  email?: string | string[]
  phone?: string
  device?: string | string[]
  custom?: Record<string, string>
  previous?: string
}

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value]

/** A planner event with already-normalised identifiers. */
export function ev(messageId: string, ids: Ids, timestamp = 0): PlannerEvent {
  const identifiers: Identifier[] = []
  if (ids.user !== undefined) identifiers.push({ type: 'user_id', value: ids.user })
  if (ids.anon !== undefined) identifiers.push({ type: 'anonymous_id', value: ids.anon })
  for (const email of list(ids.email)) identifiers.push({ type: 'email', value: email })
  if (ids.phone !== undefined) identifiers.push({ type: 'phone', value: ids.phone })
  for (const device of list(ids.device)) identifiers.push({ type: 'device_id', value: device })
  for (const [type, value] of Object.entries(ids.custom ?? {})) identifiers.push({ type, value })
  const event: PlannerEvent = { messageId, timestamp, identifiers }
  if (ids.previous !== undefined) event.previousId = ids.previous
  return event
}

/** Plans one batch against the graph and applies it. */
export function runBatch(
  graph: IdentityGraph,
  events: readonly PlannerEvent[],
  rules: IdentityRules = DEFAULT_IDENTITY_RULES,
): IdentityPlan {
  const plan = planIdentity({ events, snapshot: graph.snapshotFor(events), rules })
  graph.apply(plan)
  return plan
}

/** Runs the events cut into batches of the given sizes (the rest as one last batch). */
export function runCut(
  events: readonly PlannerEvent[],
  cuts: readonly number[],
  rules: IdentityRules = DEFAULT_IDENTITY_RULES,
): { graph: IdentityGraph; plans: IdentityPlan[] } {
  const graph = new IdentityGraph()
  const plans: IdentityPlan[] = []
  let start = 0
  for (const size of cuts) {
    if (start >= events.length) break
    plans.push(runBatch(graph, events.slice(start, start + size), rules))
    start += size
  }
  if (start < events.length) plans.push(runBatch(graph, events.slice(start), rules))
  return { graph, plans }
}

/** The live profile of an identifier given as `type:value`. */
export function owner(graph: IdentityGraph, key: string): string | undefined {
  const colon = key.indexOf(':')
  return graph.profileOf({ type: key.slice(0, colon), value: key.slice(colon + 1) })
}
