/**
 * Property tests: micro-batch cuts and the interleaving of independent people never change the
 * identity graph.
 *
 * What must hold, and what need not:
 * - Any cut of one event sequence into micro-batches gives exactly the graph (same profile ids,
 *   identifiers, events, merge counts) and the same per-event decisions as one event per batch.
 *   This holds for arbitrary sequences, shared identifiers, aliases, limits and caps included.
 * - Reordering is only harmless between events that cannot affect each other. Merge protection is
 *   first come, first served (the first user on a shared device keeps it), so events of people who
 *   share identifiers keep their log order; the log guarantees that per partition. Events of people
 *   with disjoint identifiers may interleave in any way: the graph is the same.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { IdentityPlan, PlannerEvent } from './merge-planner.js'
import type { IdentityRules } from './rules.js'
import { DEFAULT_IDENTITY_RULES, parseIdentityRules } from './rules.js'
import type { Ids } from '../../../testing/identity-helpers.js'
import { ev, runCut } from '../../../testing/identity-helpers.js'

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values)
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 })

const tightRules = (aliasBypassesLimits: boolean): IdentityRules =>
  parseIdentityRules({
    limits: { email: 2, anonymous_id: 3, device_id: 2 },
    caps: { maxMergesPerProfile: 3, maxIdentifiersPerProfile: 8 },
    aliasBypassesLimits,
  })

const rulesArb = fc.oneof(fc.constant(DEFAULT_IDENTITY_RULES), fc.boolean().map(tightRules))

/** Identifiers drawn from one pool; `prefix` keeps different people's pools disjoint. */
function idsArb(prefix: string, sizes: { users: number; others: number }): fc.Arbitrary<Ids> {
  const users = Array.from({ length: sizes.users }, (_, i) => `${prefix}u${i}`)
  const name = (kind: string) =>
    Array.from({ length: sizes.others }, (_, i) => `${prefix}${kind}${i}`)
  const plain = fc.record({
    user: maybe(pick(users)),
    anon: maybe(pick(name('a'))),
    email: fc.subarray(
      name('e').map((e) => `${e}@x.io`),
      { maxLength: 2 },
    ),
    phone: maybe(pick(name('+1555000'))),
    device: maybe(pick(name('d'))),
    custom: maybe(pick(name('L')).map((l) => ({ loyalty_id: l }))),
  })
  const alias = fc.record({
    user: pick(users),
    previous: pick([...users, ...name('a')]),
  })
  return fc.oneof({ arbitrary: plain, weight: 5 }, { arbitrary: alias, weight: 1 })
}

function stripRecords(plans: IdentityPlan[]) {
  return {
    events: plans.flatMap((p) =>
      p.events.map(({ messageId, resolvedProfileId, matched, attached, dropped }) => ({
        messageId,
        resolvedProfileId,
        matched,
        attached,
        dropped,
      })),
    ),
    merges: plans.flatMap((p) => p.merges.map(({ index: _index, ...merge }) => merge)),
    dropped: plans.flatMap((p) => p.dropped),
    capsHit: plans.flatMap((p) => p.capsHit.map(({ profileId: _p, ...hit }) => hit)),
  }
}

describe('micro-batch cuts', () => {
  it('give the same graph and decisions as one event per batch', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(idsArb('', { users: 3, others: 4 }), fc.integer({ min: 0, max: 20 })), {
          maxLength: 30,
        }),
        fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 30 }),
        rulesArb,
        (specs, cuts, rules) => {
          const events = specs.map(([ids, time], i) => ev(`m${i}`, ids, time))
          const one = runCut(
            events,
            events.map(() => 1),
            rules,
          )
          const cut = runCut(events, cuts, rules)
          expect(cut.graph.toState()).toEqual(one.graph.toState())
          expect(stripRecords(cut.plans)).toEqual(stripRecords(one.plans))
          checkInvariants(cut.graph.toState(), cut.plans, rules)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('interleavings of people with disjoint identifiers', () => {
  it('give the same graph as processing each person in turn, whatever the cuts', () => {
    const personArb = (k: number) =>
      fc.array(
        fc.tuple(idsArb(`p${k}-`, { users: 2, others: 2 }), fc.integer({ min: 0, max: 20 })),
        {
          minLength: 1,
          maxLength: 6,
        },
      )
    fc.assert(
      fc.property(
        fc.tuple(personArb(0), personArb(1), personArb(2)),
        fc.array(fc.nat(), { minLength: 18, maxLength: 18 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 18 }),
        rulesArb,
        (people, keys, cuts, rules) => {
          const perPerson: PlannerEvent[][] = people.map((specs, k) =>
            specs.map(([ids, time], i) => ev(`${k}-${i}`, ids, time)),
          )
          const sequential = perPerson.flat()
          // A random interleaving that keeps each person's order: shuffle the slots, then give
          // each person's slots to that person's events in order.
          const slots = sequential
            .map((event, i) => ({ person: event.messageId.split('-')[0], key: keys[i] ?? 0, i }))
            .sort((a, b) => a.key - b.key || a.i - b.i)
          const next = new Map<string, number>()
          const interleaved = slots.map(({ person }) => {
            const k = Number(person)
            const index = next.get(person as string) ?? 0
            next.set(person as string, index + 1)
            return perPerson[k]?.[index] as PlannerEvent
          })
          const reference = runCut(sequential, [], rules).graph.toState()
          expect(runCut(interleaved, cuts, rules).graph.toState()).toEqual(reference)
        },
      ),
      { numRuns: 200 },
    )
  })
})

function checkInvariants(
  state: ReturnType<ReturnType<typeof runCut>['graph']['toState']>,
  plans: IdentityPlan[],
  rules: IdentityRules,
): void {
  const live = new Set(state.profiles.filter((p) => p.mergedInto === null).map((p) => p.id))
  const counts = new Map<string, Record<string, number>>()
  for (const { type, profileId } of state.identifiers) {
    expect(live.has(profileId), 'identifiers belong to live profiles').toBe(true)
    const byType = counts.get(profileId) ?? {}
    byType[type] = (byType[type] ?? 0) + 1
    counts.set(profileId, byType)
  }
  for (const profile of state.profiles) {
    if (profile.mergedInto !== null) {
      expect(live.has(profile.mergedInto), 'redirects are one hop to a live profile').toBe(true)
      continue
    }
    const byType = counts.get(profile.id) ?? {}
    const total = Object.values(byType).reduce((a, b) => a + b, 0)
    expect(total).toBeLessThanOrEqual(rules.caps.maxIdentifiersPerProfile)
    expect(profile.mergeCount).toBeLessThanOrEqual(rules.caps.maxMergesPerProfile)
    if (!rules.aliasBypassesLimits) {
      for (const [type, count] of Object.entries(byType)) {
        expect(count).toBeLessThanOrEqual(rules.limits[type] ?? Number.POSITIVE_INFINITY)
      }
    }
  }
  for (const event of Object.values(state.events)) {
    if (event !== null) expect(live.has(event), 'events sit on live profiles').toBe(true)
  }
  const last = plans.at(-1)
  for (const profile of last?.profiles ?? []) {
    if (profile.mergedInto === null) expect(counts.get(profile.id) ?? {}).toEqual(profile.counts)
  }
}
