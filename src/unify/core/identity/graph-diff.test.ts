import { describe, expect, it } from 'vitest'
import { diffGraphs } from './graph-diff.js'
import { parseIdentityRules } from './rules.js'
import { ev, owner, runCut } from '../../../testing/identity-helpers.js'

describe('diffGraphs (reprocess dry run)', () => {
  const log = [
    ev('m1', { user: 'u1', device: 'shared' }, 1),
    ev('m2', { user: 'u2', device: 'shared' }, 2),
    ev('m3', { anon: 'a1', email: 'x@x.io' }, 3),
    ev('m4', { anon: 'a1', email: 'y@x.io' }, 4),
  ]

  it('reports the profiles that would merge and split under new rules', () => {
    const current = runCut(log, []).graph
    const loosened = runCut(log, [], parseIdentityRules({ limits: { user_id: null } })).graph
    const diff = diffGraphs(current.toState(), loosened.toState())
    expect(diff.profiles).toEqual({ before: 3, after: 2 })
    expect(diff.merged).toEqual([
      {
        after: owner(loosened, 'user_id:u1'),
        before: [owner(current, 'user_id:u1'), owner(current, 'user_id:u2')].sort(),
      },
    ])
    expect(diff.split).toEqual([])
    expect(diff.identifiersOnlyAfter).toBe(0)
    expect(diff.identifiersOnlyBefore).toBe(0)

    const back = diffGraphs(loosened.toState(), current.toState())
    expect(back.split).toEqual([
      {
        before: owner(loosened, 'user_id:u1'),
        after: [owner(current, 'user_id:u1'), owner(current, 'user_id:u2')].sort(),
      },
    ])
  })

  it('reports splits when rules tighten', () => {
    const strict = runCut(log, [], parseIdentityRules({ limits: { email: 1 } })).graph
    const diff = diffGraphs(runCut(log, []).graph.toState(), strict.toState())
    // With one email per profile, m4's email y@x.io outranks a1 and starts its own profile.
    expect(diff.split).toEqual([
      {
        before: owner(runCut(log, []).graph, 'anonymous_id:a1'),
        after: [owner(strict, 'anonymous_id:a1'), owner(strict, 'email:y@x.io')].sort(),
      },
    ])
    expect(diff.profiles).toEqual({ before: 3, after: 4 })
  })

  it('finds nothing between a graph and itself', () => {
    const state = runCut(log, [1, 2]).graph.toState()
    expect(diffGraphs(state, state)).toMatchObject({ merged: [], split: [] })
  })
})
