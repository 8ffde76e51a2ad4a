import { describe, expect, it } from 'vitest'
import type { IdentityError } from './identity-errors.js'
import { IdentityGraph } from './identity-graph.js'
import { planSplit } from './split-planner.js'
import { DEFAULT_IDENTITY_RULES } from './rules.js'
import { ev, owner, runBatch } from '../../../testing/identity-helpers.js'

describe('planSplit', () => {
  // Two people wrongly joined (e.g. by an import with a shared family email, under no limits).
  const events = [
    ev('m1', { user: 'ann', anon: 'a1', device: 'd1' }, 10),
    ev('m2', { anon: 'a1' }, 11),
    ev('m3', { user: 'bob', anon: 'b1', device: 'd2' }, 5),
    ev('m4', { anon: 'b1', device: 'd2' }, 6),
    ev('m5', { user: 'bob', device: 'd1' }, 7),
    ev('m6', { email: 'family@x.io', anon: 'a1' }, 12),
  ]
  const profile = {
    id: 'p1',
    identifiers: [
      { type: 'user_id', value: 'ann' },
      { type: 'anonymous_id', value: 'a1' },
      { type: 'device_id', value: 'd1' },
      { type: 'user_id', value: 'bob' },
      { type: 'anonymous_id', value: 'b1' },
      { type: 'device_id', value: 'd2' },
      { type: 'email', value: 'family@x.io' },
    ],
  }
  const detach = [
    { type: 'user_id', value: 'bob' },
    { type: 'anonymous_id', value: 'b1' },
    { type: 'device_id', value: 'd2' },
  ]

  it('moves the events whose best identifier is detached, keeps the rest', () => {
    const plan = planSplit({
      profile,
      detach,
      events,
      rules: DEFAULT_IDENTITY_RULES,
      newProfileId: 'p2',
      at: 1000,
      requestedBy: 'admin',
    })
    // m5 has user_id bob (detached) and device d1 (kept): user_id outranks device_id, so it moves.
    expect(plan.movedEvents.map((e) => e.messageId)).toEqual(['m3', 'm4', 'm5'])
    expect(plan.keptEventCount).toBe(3)
    expect(plan.newProfile).toEqual({ id: 'p2', createdAt: 5 })
    expect(plan.counts).toEqual({
      original: { user_id: 1, anonymous_id: 1, device_id: 1, email: 1 },
      created: { user_id: 1, anonymous_id: 1, device_id: 1 },
    })
    expect(plan.record).toEqual({
      profileId: 'p1',
      newProfileId: 'p2',
      identifiers: detach,
      at: 1000,
      requestedBy: 'admin',
      movedEventCount: 3,
    })
  })

  it('keeps events on the original when the best identifiers tie', () => {
    const plan = planSplit({
      profile,
      detach: [{ type: 'device_id', value: 'd2' }],
      events: [ev('m1', { device: ['d1', 'd2'] }, 1)],
      rules: DEFAULT_IDENTITY_RULES,
      newProfileId: 'p2',
      at: 99,
    })
    expect(plan.movedEvents).toEqual([])
    expect(plan.newProfile.createdAt).toBe(99)
  })

  it.each([
    [[], 'SPLIT_EMPTY'],
    [[{ type: 'user_id', value: 'carol' }], 'SPLIT_UNKNOWN_IDENTIFIER'],
    [profile.identifiers, 'SPLIT_WOULD_EMPTY_PROFILE'],
  ])('refuses %j with %s', (detachList, code) => {
    expect(() =>
      planSplit({
        profile,
        detach: detachList,
        events,
        rules: DEFAULT_IDENTITY_RULES,
        newProfileId: 'p2',
        at: 1,
      }),
    ).toThrow(expect.objectContaining({ code }) as IdentityError)
  })

  it('restores two profiles in the graph, and later events follow the split', () => {
    const graph = new IdentityGraph()
    const history = [
      ev('m1', { user: 'ann', device: 'd1' }, 1),
      ev('m2', { anon: 'b1', device: 'd1' }, 2),
      ev('m3', { anon: 'b1' }, 3),
    ]
    runBatch(graph, history)
    const p1 = owner(graph, 'user_id:ann') as string
    expect(owner(graph, 'anonymous_id:b1')).toBe(p1)
    const plan = planSplit({
      profile: { id: p1, identifiers: graph.identifiersOf(p1) },
      detach: [{ type: 'anonymous_id', value: 'b1' }],
      events: history,
      rules: DEFAULT_IDENTITY_RULES,
      newProfileId: 'p_split',
      at: 9,
    })
    graph.applySplit(plan)
    expect(owner(graph, 'anonymous_id:b1')).toBe('p_split')
    // m2 also carries d1, which stays and outranks anonymous_id: it stays with ann.
    expect(graph.eventsOf('p_split')).toEqual(['/m3'])
    expect(graph.eventsOf(p1).sort()).toEqual(['/m1', '/m2'])
    runBatch(graph, [ev('m4', { anon: 'b1', email: 'bob@x.io' }, 4)])
    expect(owner(graph, 'email:bob@x.io')).toBe('p_split')
    expect(graph.splits).toHaveLength(1)
  })
})
