import { describe, expect, it } from 'vitest'
import { buildIdentityGraph, identityNodeId, profileNodeId } from './identity-graph.js'

describe('buildIdentityGraph', () => {
  it('links every distinct identifier to the profile', () => {
    const g = buildIdentityGraph(
      'p1',
      [
        { type: 'email', value: 'a@x.io' },
        { type: 'user_id', value: 'u1' },
        { type: 'email', value: 'a@x.io' },
      ],
      [],
    )
    expect(g.nodes.filter((n) => n.kind === 'identifier')).toHaveLength(2)
    expect(g.edges.map((e) => [e.source, e.target])).toEqual([
      [profileNodeId('p1'), identityNodeId({ type: 'email', value: 'a@x.io' })],
      [profileNodeId('p1'), identityNodeId({ type: 'user_id', value: 'u1' })],
    ])
    const positions = new Set(g.nodes.map((n) => `${n.position.x},${n.position.y}`))
    expect(positions.size).toBe(g.nodes.length)
  })

  it('draws merges as edges between profile nodes', () => {
    const g = buildIdentityGraph(
      'p1',
      [],
      [
        {
          id: 'm1',
          fromProfileId: 'p2',
          intoProfileId: 'p1',
          rule: 'email',
          identifiers: [{ type: 'email', value: 'a@x.io' }],
        },
        { id: 'm2', fromProfileId: 'p3', intoProfileId: 'p2' },
      ],
    )
    const profiles = g.nodes.filter((n) => n.kind === 'profile').map((n) => n.id)
    expect(profiles.sort()).toEqual(
      [profileNodeId('p1'), profileNodeId('p2'), profileNodeId('p3')].sort(),
    )
    const merge = g.edges.find((e) => e.id === 'm:m1')
    expect(merge).toMatchObject({
      source: profileNodeId('p2'),
      target: profileNodeId('p1'),
      kind: 'merge',
    })
    expect(merge?.label).toBe('email: a@x.io')
    expect(g.edges.find((e) => e.id === 'm:m2')?.label).toBe('merged')
  })
})
