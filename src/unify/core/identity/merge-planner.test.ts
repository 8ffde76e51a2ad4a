import { describe, expect, it } from 'vitest'
import type { IdentityError } from './identity-errors.js'
import { IdentityGraph } from './identity-graph.js'
import type { GraphSnapshot, PlannerEvent } from './merge-planner.js'
import { identifiersToLookup, planIdentity } from './merge-planner.js'
import { extractIdentifiers } from './identifiers.js'
import { deterministicProfileIds } from './profile-ids.js'
import type { IdentityRulesInput } from './rules.js'
import { DEFAULT_IDENTITY_RULES, parseIdentityRules } from './rules.js'
import { ev, owner, runBatch, runCut } from '../../../testing/identity-helpers.js'

interface Case {
  name: string
  rules?: IdentityRulesInput
  /** Batches in order; each is planned against the graph left by the previous ones. */
  batches: PlannerEvent[][]
  /** Groups of `type:value` that must end on one live profile, each group on its own. */
  together?: string[][]
  /** `type:value` that no profile holds. */
  unowned?: string[]
  /** `[messageId, type:value, reason]` for every identifier merge protection dropped. */
  dropped?: Array<[string, string, string]>
  merges?: number
  liveProfiles?: number
  capsHit?: Array<[string, string]>
}

const cases: Case[] = [
  {
    name: 'anonymous browsing, then login, then a second device with the same email: one profile',
    batches: [
      [ev('m1', { anon: 'a1', device: 'd1' }, 1)],
      [ev('m2', { anon: 'a1', user: 'u1', email: 'ann@x.com', device: 'd1' }, 2)],
      [ev('m3', { anon: 'a2', device: 'd2' }, 3)],
      [ev('m4', { anon: 'a2', email: 'ann@x.com', device: 'd2' }, 4)],
    ],
    together: [
      ['anonymous_id:a1', 'user_id:u1', 'email:ann@x.com', 'device_id:d2', 'anonymous_id:a2'],
    ],
    merges: 1,
    liveProfiles: 1,
    dropped: [],
  },
  {
    name: 'a shared device used by two logged-in people never merges them',
    batches: [
      [ev('m1', { user: 'u1', device: 'shared' }, 1)],
      [ev('m2', { user: 'u2', device: 'shared' }, 2)],
    ],
    together: [['user_id:u1', 'device_id:shared'], ['user_id:u2']],
    dropped: [['m2', 'device_id:shared', 'limit']],
    merges: 0,
    liveProfiles: 2,
  },
  {
    name: 'shared device in one batch behaves the same',
    batches: [
      [
        ev('m1', { user: 'u1', device: 'shared' }, 1),
        ev('m2', { user: 'u2', device: 'shared' }, 2),
      ],
    ],
    together: [['user_id:u1', 'device_id:shared'], ['user_id:u2']],
    dropped: [['m2', 'device_id:shared', 'limit']],
  },
  {
    name: 'priority: the conflicting email is dropped, the unrelated anonymous id still attaches',
    batches: [
      [ev('m1', { user: 'u1', email: 'x@x.com' }, 1)],
      [ev('m2', { user: 'u2', email: 'x@x.com', anon: 'a9' }, 2)],
    ],
    together: [
      ['user_id:u1', 'email:x@x.com'],
      ['user_id:u2', 'anonymous_id:a9'],
    ],
    dropped: [['m2', 'email:x@x.com', 'limit']],
    merges: 0,
  },
  {
    name: 'custom priority: device_id above user_id makes the shared device win',
    rules: { priority: ['device_id', 'user_id', 'email', 'phone', '*', 'anonymous_id'] },
    batches: [[ev('m1', { user: 'u1', device: 'd' }, 1), ev('m2', { user: 'u2', device: 'd' }, 2)]],
    together: [['user_id:u1', 'device_id:d']],
    unowned: ['user_id:u2'],
    dropped: [['m2', 'user_id:u2', 'limit']],
  },
  {
    name: 'email limit: a sixth email is not attached, the event still resolves',
    batches: [
      [ev('m1', { user: 'u1', email: ['1@x.io', '2@x.io', '3@x.io', '4@x.io', '5@x.io'] }, 1)],
      [ev('m2', { user: 'u1', email: '6@x.io' }, 2)],
    ],
    together: [['user_id:u1', 'email:5@x.io']],
    unowned: ['email:6@x.io'],
    dropped: [['m2', 'email:6@x.io', 'limit']],
  },
  {
    name: 'a limit removed with null lets the profile grow',
    rules: { limits: { user_id: null } },
    batches: [[ev('m1', { user: 'u1', device: 'd' }, 1), ev('m2', { user: 'u2', device: 'd' }, 2)]],
    together: [['user_id:u1', 'user_id:u2', 'device_id:d']],
    merges: 0,
    dropped: [],
  },
  {
    name: 'a custom type can be limited',
    rules: { limits: { loyalty_id: 1 } },
    batches: [
      [ev('m1', { user: 'u1', custom: { loyalty_id: 'L1' } }, 1)],
      [ev('m2', { user: 'u1', custom: { loyalty_id: 'L2' } }, 2)],
    ],
    unowned: ['loyalty_id:L2'],
    dropped: [['m2', 'loyalty_id:L2', 'limit']],
  },
  {
    name: 'transitive merges inside one batch end on the oldest profile',
    batches: [
      [
        ev('m1', { anon: 'a1' }, 10),
        ev('m2', { anon: 'a2' }, 20),
        ev('m3', { anon: 'a3' }, 30),
        ev('m4', { anon: 'a3', device: 'd' }, 40),
        ev('m5', { anon: 'a2', device: 'd' }, 50),
        ev('m6', { anon: 'a1', email: 'e@x.io' }, 60),
        ev('m7', { email: 'e@x.io', device: 'd' }, 70),
      ],
    ],
    together: [
      ['anonymous_id:a1', 'anonymous_id:a2', 'anonymous_id:a3', 'device_id:d', 'email:e@x.io'],
    ],
    merges: 2,
    liveProfiles: 1,
  },
  {
    name: 'alias links an anonymous profile to a user',
    batches: [
      [ev('m1', { anon: 'a1' }, 1), ev('m2', { user: 'u1' }, 2)],
      [ev('m3', { user: 'u1', previous: 'a1' }, 3)],
    ],
    together: [['anonymous_id:a1', 'user_id:u1']],
    merges: 1,
  },
  {
    name: 'alias chains: old user id → new user id → newer user id',
    batches: [
      [ev('m1', { user: 'old', email: 'o@x.io' }, 1)],
      [ev('m2', { user: 'new', previous: 'old' }, 2)],
      [ev('m3', { user: 'newer', previous: 'new' }, 3)],
      [ev('m4', { user: 'newer', anon: 'a5' }, 4)],
    ],
    together: [['user_id:old', 'user_id:new', 'user_id:newer', 'email:o@x.io', 'anonymous_id:a5']],
    liveProfiles: 1,
  },
  {
    name: 'alias with an unknown previousId records it as an anonymous id',
    batches: [
      [ev('m1', { user: 'u1', previous: 'later-anon' }, 1)],
      [ev('m2', { anon: 'later-anon' }, 2)],
    ],
    together: [['user_id:u1', 'anonymous_id:later-anon']],
    liveProfiles: 1,
  },
  {
    name: 'alias merging two identified profiles is refused when aliases obey limits',
    rules: { aliasBypassesLimits: false },
    batches: [
      [
        ev('m1', { user: 'u1' }, 1),
        ev('m2', { user: 'u2' }, 2),
        ev('m3', { user: 'u2', previous: 'u1' }, 3),
      ],
    ],
    together: [['user_id:u1'], ['user_id:u2']],
    dropped: [['m3', 'user_id:u1', 'limit']],
  },
  {
    name: 'merge cap: the third merge is refused and reported',
    rules: { caps: { maxMergesPerProfile: 2 } },
    batches: [
      [
        ev('m1', { anon: 'a1' }, 1),
        ev('m2', { anon: 'a2' }, 2),
        ev('m3', { anon: 'a3' }, 3),
        ev('m4', { anon: 'a4' }, 4),
      ],
      [ev('m5', { anon: 'a1', device: 'd' }, 5), ev('m6', { anon: 'a2', device: 'd' }, 6)],
      [ev('m7', { anon: 'a3', device: 'd' }, 7), ev('m8', { anon: 'a4', device: 'd' }, 8)],
    ],
    together: [
      ['anonymous_id:a1', 'anonymous_id:a2', 'anonymous_id:a3', 'device_id:d'],
      ['anonymous_id:a4'],
    ],
    merges: 2,
    dropped: [['m8', 'anonymous_id:a4', 'max_merges']],
    capsHit: [['m8', 'max_merges']],
  },
  {
    name: 'identifier cap: new identifiers stop attaching and are reported',
    rules: { caps: { maxIdentifiersPerProfile: 3 } },
    batches: [
      [
        ev('m1', { user: 'u1', anon: 'a1', device: 'd1' }, 1),
        ev('m2', { user: 'u1', anon: 'a2' }, 2),
      ],
    ],
    together: [['user_id:u1', 'anonymous_id:a1', 'device_id:d1']],
    unowned: ['anonymous_id:a2'],
    dropped: [['m2', 'anonymous_id:a2', 'max_identifiers']],
    capsHit: [['m2', 'max_identifiers']],
  },
  {
    name: 'events without identifiers resolve to nobody',
    batches: [[ev('m1', {}, 1)]],
    liveProfiles: 0,
  },
]

describe('planIdentity (table)', () => {
  it.each(cases)('$name', (c) => {
    const rules = c.rules ? parseIdentityRules(c.rules) : DEFAULT_IDENTITY_RULES
    const graph = new IdentityGraph()
    const plans = c.batches.map((batch) => runBatch(graph, batch, rules))
    const seen = new Set<string>()
    for (const group of c.together ?? []) {
      const owners = new Set(group.map((key) => owner(graph, key)))
      expect(owners.size, `one profile for ${group.join(', ')}`).toBe(1)
      const [profile] = owners
      expect(profile, `${group[0]} is owned`).toBeDefined()
      expect(seen.has(profile as string), 'groups live on distinct profiles').toBe(false)
      seen.add(profile as string)
      expect(graph.resolve(profile as string)).toBe(profile)
    }
    for (const key of c.unowned ?? []) expect(owner(graph, key), key).toBeUndefined()
    const dropped = plans.flatMap((p) =>
      p.dropped.map((d) => [d.messageId, `${d.identifier.type}:${d.identifier.value}`, d.reason]),
    )
    if (c.dropped) expect(dropped).toEqual(c.dropped)
    if (c.merges !== undefined) expect(plans.flatMap((p) => p.merges)).toHaveLength(c.merges)
    if (c.liveProfiles !== undefined)
      expect(graph.profileIds({ live: true })).toHaveLength(c.liveProfiles)
    if (c.capsHit) {
      expect(plans.flatMap((p) => p.capsHit.map((h) => [h.messageId, h.cap]))).toEqual(c.capsHit)
    }
    // Whatever happened, the same events one by one give the same graph.
    const oneByOne = runCut(
      c.batches.flat(),
      c.batches.flat().map(() => 1),
      rules,
    ).graph
    expect(oneByOne.toState()).toEqual(graph.toState())
  })
})

describe('planIdentity (details)', () => {
  it('merges into the oldest profile whatever the event order, ties broken by id', () => {
    const rules = DEFAULT_IDENTITY_RULES
    const snapshot = {
      identifiers: [
        { type: 'anonymous_id', value: 'young', profileId: 'p_b' },
        { type: 'anonymous_id', value: 'old', profileId: 'p_z' },
        { type: 'anonymous_id', value: 'tie', profileId: 'p_a' },
      ],
      profiles: [
        { id: 'p_b', createdAt: 500, mergeCount: 0, counts: { anonymous_id: 1 } },
        { id: 'p_z', createdAt: 100, mergeCount: 3, counts: { anonymous_id: 1 } },
        { id: 'p_a', createdAt: 100, mergeCount: 0, counts: { anonymous_id: 1 } },
      ],
    }
    const plan = planIdentity({
      events: [
        ev('m1', { anon: 'young', device: 'd' }, 1),
        ev('m2', { anon: 'old', device: 'd' }, 2),
      ],
      snapshot,
      rules,
    })
    expect(plan.merges.map((m) => [m.from, m.into])).toEqual([['p_b', 'p_z']])
    expect(plan.events.map((e) => [e.resolvedProfileId, e.profileId])).toEqual([
      ['p_b', 'p_z'],
      ['p_z', 'p_z'],
    ])
    const tie = planIdentity({
      events: [
        ev('m1', { anon: 'old', device: 'd' }, 1),
        ev('m2', { anon: 'tie', device: 'd' }, 2),
      ],
      snapshot,
      rules,
    })
    expect(tie.merges.map((m) => [m.from, m.into])).toEqual([['p_z', 'p_a']])
    expect(tie.profiles.find((p) => p.id === 'p_a')?.mergeCount).toBe(4)
  })

  it('records the merge with its event, rule and identifiers', () => {
    const graph = new IdentityGraph()
    const first = runBatch(graph, [
      ev('m1', { anon: 'a1' }, 1),
      ev('m2', { user: 'u1', email: 'e@x.io' }, 2),
    ])
    const [older, younger] = first.newProfiles.map((p) => p.id)
    const plan = runBatch(graph, [ev('m3', { anon: 'a1', email: 'e@x.io', device: 'd' }, 3)])
    expect(plan.merges).toEqual([
      {
        index: 0,
        from: younger,
        into: older,
        messageId: 'm3',
        at: 3,
        rule: 'identifier',
        identifiers: [{ type: 'email', value: 'e@x.io' }],
        joinedWith: [
          { type: 'device_id', value: 'd' },
          { type: 'anonymous_id', value: 'a1' },
        ],
      },
    ])
    expect(plan.attachments).toEqual([
      { type: 'device_id', value: 'd', profileId: older, messageId: 'm3' },
    ])
    expect(plan.redirects).toEqual([{ from: younger, into: older }])
    expect(owner(graph, 'user_id:u1')).toBe(older)
    expect(graph.resolve(younger as string)).toBe(older)
    expect(graph.eventsOf(older as string).sort()).toEqual(['/m1', '/m2', '/m3'])
  })

  it('gives new profiles deterministic ids derived from the creating event', () => {
    const ids = deterministicProfileIds('ws1')
    const events = [ev('m1', { anon: 'a1' }, 1), ev('m2', { anon: 'a1', user: 'u' }, 2)]
    const plan = planIdentity({
      events,
      snapshot: { identifiers: [], profiles: [] },
      rules: DEFAULT_IDENTITY_RULES,
      newProfileId: ids,
    })
    expect(plan.newProfiles).toEqual([
      { id: ids({ messageId: 'm1' }, 0), createdAt: 1, messageId: 'm1', mergedInto: null },
    ])
    expect(ids({ messageId: 'm1' }, 0)).not.toBe(
      deterministicProfileIds('ws2')({ messageId: 'm1' }, 0),
    )
    expect(ids({ messageId: 'm1' }, 0)).toMatch(/^p_[0-9a-f]{24}$/)
  })

  it('names two profiles apart when a batch holds the same event twice', () => {
    const plan = planIdentity({
      events: [ev('dup', { anon: 'a1' }, 1), ev('dup', { anon: 'a2' }, 1)],
      snapshot: { identifiers: [], profiles: [] },
      rules: DEFAULT_IDENTITY_RULES,
    })
    expect(new Set(plan.newProfiles.map((p) => p.id)).size).toBe(2)
  })

  it('reports final states with counts for every touched live profile', () => {
    const graph = new IdentityGraph()
    const plan = runBatch(graph, [
      ev('m1', { anon: 'a1', device: 'd1' }, 1),
      ev('m2', { anon: 'a2', device: 'd2' }, 2),
      ev('m3', { device: ['d1', 'd2'], email: 'e@x.io' }, 3),
    ])
    const survivor = owner(graph, 'anonymous_id:a1') as string
    const merged = plan.newProfiles[1]?.id as string
    const byId = (id: string) => plan.profiles.find((p) => p.id === id)
    expect(plan.profiles).toHaveLength(2)
    expect(byId(survivor)).toEqual({
      id: survivor,
      createdAt: 1,
      mergeCount: 1,
      identifierCount: 5,
      counts: { anonymous_id: 2, device_id: 2, email: 1 },
      isNew: true,
      mergedInto: null,
    })
    expect(byId(merged)).toEqual({
      id: merged,
      createdAt: 2,
      mergeCount: 0,
      identifierCount: 2,
      counts: { anonymous_id: 1, device_id: 1 },
      isNew: true,
      mergedInto: survivor,
    })
    expect(plan.newProfiles.map((p) => p.mergedInto)).toEqual([null, survivor])
    expect(graph.countsOf(survivor)).toEqual(byId(survivor)?.counts)
  })

  it('lets a profile already over a lowered limit keep its identifiers but not grow', () => {
    const graph = new IdentityGraph()
    runBatch(graph, [ev('m1', { email: ['1@x.io', '2@x.io', '3@x.io'] }, 1)])
    const strict = parseIdentityRules({ limits: { email: 2 } })
    const plan = runBatch(
      graph,
      [
        ev('m2', { email: ['1@x.io', '2@x.io', '3@x.io'], anon: 'a' }, 2),
        ev('m3', { email: ['1@x.io', '4@x.io'] }, 3),
      ],
      strict,
    )
    expect(plan.dropped.map((d) => d.identifier.value)).toEqual(['4@x.io'])
    expect(plan.events.map((e) => e.attached.map((i) => i.value))).toEqual([['a'], []])
  })

  it('never joins people through blocked values (raw events through extraction)', () => {
    const rules = parseIdentityRules({ blockedPatterns: ['^test@'] })
    const raw = [
      { type: 'identify', userId: 'null', anonymousId: 'a1', traits: { email: 'test@x.io' } },
      { type: 'identify', userId: 'NULL', anonymousId: 'a2', traits: { email: ' TEST@x.io' } },
      {
        type: 'track',
        userId: '[object Object]',
        anonymousId: 'a3',
        context: { device: { id: '0' } },
      },
      { type: 'track', userId: 0, anonymousId: 'a4', context: { device: { id: 0 } } },
      { type: 'track', userId: '', anonymousId: 'undefined' },
    ]
    const events = raw.map((event, i) => ({
      messageId: `m${i}`,
      timestamp: i,
      ...extractIdentifiers(event, rules),
    }))
    const graph = new IdentityGraph()
    const plan = runBatch(graph, events, rules)
    expect(graph.profileIds({ live: true })).toHaveLength(4)
    expect(plan.merges).toEqual([])
    expect(plan.events.at(-1)?.profileId).toBeNull()
    expect(
      graph
        .toState()
        .identifiers.map((i) => `${i.type}:${i.value}`)
        .sort(),
    ).toEqual(['anonymous_id:a1', 'anonymous_id:a2', 'anonymous_id:a3', 'anonymous_id:a4'])
  })

  it('rejects a snapshot that misses a profile', () => {
    expect(() =>
      planIdentity({
        events: [ev('m1', { anon: 'a1' })],
        snapshot: {
          identifiers: [{ type: 'anonymous_id', value: 'a1', profileId: 'p_x' }],
          profiles: [],
        },
        rules: DEFAULT_IDENTITY_RULES,
      }),
    ).toThrow(expect.objectContaining({ code: 'SNAPSHOT_INCOMPLETE' }) as IdentityError)
  })

  it('asks the store for alias candidates under both types', () => {
    expect(
      identifiersToLookup([ev('m1', { user: 'u', previous: 'p' }), ev('m2', { user: 'u' })]),
    ).toEqual([
      { type: 'user_id', value: 'u' },
      { type: 'user_id', value: 'p' },
      { type: 'anonymous_id', value: 'p' },
    ])
  })
})

describe('planIdentity (input checks)', () => {
  it('refuses events without a finite timestamp', () => {
    expect(() =>
      planIdentity({
        events: [ev('m1', { anon: 'a1' }, Number.NaN)],
        snapshot: { identifiers: [], profiles: [] },
        rules: DEFAULT_IDENTITY_RULES,
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_EVENT_TIMESTAMP' }) as IdentityError)
  })
})

describe('separations (a split keeps two profiles apart)', () => {
  const snapshot: GraphSnapshot = {
    identifiers: [
      { type: 'user_id', value: 'frank', profileId: 'p_frank' },
      { type: 'anonymous_id', value: 'phone', profileId: 'p_grace' },
      { type: 'anonymous_id', value: 'tablet', profileId: 'p_tablet' },
    ],
    profiles: [
      { id: 'p_frank', createdAt: 1, mergeCount: 0, counts: { user_id: 1 } },
      { id: 'p_grace', createdAt: 2, mergeCount: 0, counts: { anonymous_id: 1 } },
      { id: 'p_tablet', createdAt: 3, mergeCount: 0, counts: { anonymous_id: 1 } },
    ],
    separations: [{ profileId: 'p_grace', otherProfileId: 'p_frank' }],
  }

  it('drops the lower-priority identifier instead of merging separated profiles', () => {
    const plan = planIdentity({
      events: [ev('m1', { user: 'frank', anon: 'phone' }, 10)],
      snapshot,
      rules: DEFAULT_IDENTITY_RULES,
    })
    expect(plan.merges).toEqual([])
    expect(plan.events[0]?.profileId).toBe('p_frank')
    expect(plan.dropped).toEqual([
      expect.objectContaining({
        messageId: 'm1',
        identifier: { type: 'anonymous_id', value: 'phone' },
        profileId: 'p_grace',
        reason: 'separated',
        separatedFrom: 'p_frank',
      }),
    ])
    expect(plan.capsHit).toEqual([])
  })

  it('follows merges made earlier in the same batch', () => {
    // The tablet merges into Grace's profile first; Frank then cannot reach it either.
    const plan = planIdentity({
      events: [
        ev('m1', { anon: 'phone', device: 'd1' }, 10),
        ev('m2', { anon: 'tablet', device: 'd1' }, 11),
        ev('m3', { user: 'frank', anon: 'tablet' }, 12),
      ],
      snapshot,
      rules: DEFAULT_IDENTITY_RULES,
    })
    expect(plan.merges.map((m) => [m.from, m.into])).toEqual([['p_tablet', 'p_grace']])
    expect(plan.events[2]?.profileId).toBe('p_frank')
    expect(plan.dropped.map((d) => [d.messageId, d.reason])).toEqual([['m3', 'separated']])
  })

  it('leaves profiles that no split separated free to merge', () => {
    const plan = planIdentity({
      events: [ev('m1', { user: 'frank', anon: 'tablet' }, 10)],
      snapshot,
      rules: DEFAULT_IDENTITY_RULES,
    })
    expect(plan.merges.map((m) => [m.from, m.into])).toEqual([['p_tablet', 'p_frank']])
  })
})
