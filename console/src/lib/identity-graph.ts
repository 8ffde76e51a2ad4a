/**
 * Lays out a profile's identity graph for @xyflow/react: the profile in the middle, its
 * identifiers on a ring around it, and profiles merged into it (from the merge history) on a
 * column to the left with an edge per merge. Pure, so the layout is unit-tested.
 */

export interface GraphIdentity {
  type: string
  value: string
}

export interface GraphMerge {
  id: string
  /** 'merge' (default) or 'split'. */
  kind?: string
  fromProfileId: string
  intoProfileId: string
  reason?: string
  rule?: string
  identifiers?: GraphIdentity[]
}

export interface GraphNode {
  id: string
  kind: 'profile' | 'identifier'
  label: string
  sublabel?: string
  current?: boolean
  position: { x: number; y: number }
}

export interface GraphEdge {
  id: string
  source: string
  target: string
  kind: 'identifies' | 'merge' | 'split'
  label?: string
}

export interface Graph {
  nodes: GraphNode[]
  edges: GraphEdge[]
}

const RING = 170
const MERGE_COLUMN_X = -360

export function identityNodeId(identity: GraphIdentity): string {
  return `id:${identity.type}:${identity.value}`
}

export function profileNodeId(profileId: string): string {
  return `profile:${profileId}`
}

export function buildIdentityGraph(
  profileId: string,
  identities: GraphIdentity[],
  merges: GraphMerge[],
): Graph {
  const nodes: GraphNode[] = []
  const edges: GraphEdge[] = []
  const center = profileNodeId(profileId)
  nodes.push({
    id: center,
    kind: 'profile',
    label: 'This profile',
    sublabel: profileId,
    current: true,
    position: { x: 0, y: 0 },
  })

  const seen = new Set<string>()
  const unique = identities.filter((i) => {
    const key = identityNodeId(i)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  unique.forEach((identity, index) => {
    // With merges, identifiers fan out on the right and merged profiles sit on the left;
    // without, they use the whole ring.
    const full = merges.length === 0
    const start = full ? -Math.PI / 2 : -Math.PI * 0.4
    const span = full ? (2 * Math.PI * (unique.length - 1)) / unique.length : Math.PI * 0.8
    const angle = unique.length === 1 ? 0 : start + (span * index) / (unique.length - 1)
    const radius = RING + (unique.length > 8 ? (index % 2) * 90 : 0)
    const id = identityNodeId(identity)
    nodes.push({
      id,
      kind: 'identifier',
      label: identity.value,
      sublabel: identity.type,
      position: {
        x: Math.round(Math.cos(angle) * radius),
        y: Math.round(Math.sin(angle) * radius),
      },
    })
    edges.push({ id: `e:${id}`, source: center, target: id, kind: 'identifies' })
  })

  const profiles = new Map<string, number>()
  const others = merges
    .flatMap((m) => [m.fromProfileId, m.intoProfileId])
    .filter((p) => p !== profileId)
  for (const other of others) {
    if (profiles.has(other)) continue
    profiles.set(other, profiles.size)
  }
  const count = profiles.size
  for (const [other, index] of profiles) {
    nodes.push({
      id: profileNodeId(other),
      kind: 'profile',
      label: 'Merged profile',
      sublabel: other,
      position: { x: MERGE_COLUMN_X, y: Math.round((index - (count - 1) / 2) * 110) },
    })
  }
  for (const merge of merges) {
    const why = merge.rule ?? merge.reason
    const via = merge.identifiers?.map((i) => `${i.type}: ${i.value}`).join(', ')
    edges.push({
      id: `m:${merge.id}`,
      source: profileNodeId(merge.fromProfileId),
      target: profileNodeId(merge.intoProfileId),
      kind: merge.kind === 'split' ? 'split' : 'merge',
      label: merge.kind === 'split' ? `split${via ? `: ${via}` : ''}` : via || why || 'merged',
    })
  }
  return { nodes, edges }
}
