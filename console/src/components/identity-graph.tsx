import { Box, Text } from '@mantine/core'
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import { useMemo } from 'react'
import { Icon } from './icons.js'
import { buildIdentityGraph, type GraphIdentity, type GraphMerge } from '../lib/identity-graph.js'
import { navigate } from '../lib/router.js'

type NodeData = {
  label: string
  sublabel?: string
  kind: 'profile' | 'identifier'
  current?: boolean
}

function GraphNodeView({ data }: NodeProps<Node<NodeData>>) {
  const profile = data.kind === 'profile'
  return (
    <Box
      px="sm"
      py={6}
      style={{
        borderRadius: profile ? 12 : 999,
        border: `2px solid ${profile ? (data.current ? 'var(--mantine-color-indigo-6)' : 'var(--mantine-color-grape-5)') : 'var(--mantine-color-gray-4)'}`,
        background: profile
          ? data.current
            ? 'var(--mantine-color-indigo-0)'
            : 'var(--mantine-color-grape-0)'
          : 'white',
        maxWidth: 240,
        textAlign: 'center',
        cursor: profile && !data.current ? 'pointer' : 'default',
      }}
    >
      <Handle type="target" position={Position.Left} style={centre} />
      <Text size="xs" c="dimmed" lh={1.2}>
        {data.sublabel}
      </Text>
      <Text size="sm" fw={600} lh={1.3} style={{ wordBreak: 'break-all' }}>
        {profile ? (
          <Icon
            name={data.current ? 'profiles' : 'link'}
            size={14}
            style={{ verticalAlign: -2, marginRight: 4 }}
          />
        ) : null}
        {data.label}
      </Text>
      <Handle type="source" position={Position.Right} style={centre} />
    </Box>
  )
}

const nodeTypes = { kindred: GraphNodeView }

// Both handles sit, invisible, at the node's centre: edges run centre to centre and the node,
// drawn above them, makes them start at its border whatever the direction.
const centre = {
  opacity: 0,
  left: '50%',
  top: '50%',
  transform: 'translate(-50%, -50%)',
  pointerEvents: 'none',
} as const

/** Interactive identity graph: drag, zoom, click a merged profile to open it. */
export function IdentityGraph({
  profileId,
  identities,
  merges,
}: {
  profileId: string
  identities: GraphIdentity[]
  merges: GraphMerge[]
}) {
  const { nodes, edges } = useMemo(() => {
    const graph = buildIdentityGraph(profileId, identities, merges)
    const nodes: Node<NodeData>[] = graph.nodes.map((n) => ({
      id: n.id,
      type: 'kindred',
      position: n.position,
      data: { label: n.label, sublabel: n.sublabel, kind: n.kind, current: n.current },
      origin: [0.5, 0.5],
    }))
    const edges: Edge[] = graph.edges.map((e) => ({
      id: e.id,
      source: e.source,
      target: e.target,
      label: e.label,
      animated: e.kind === 'merge',
      style:
        e.kind === 'merge'
          ? { stroke: 'var(--mantine-color-grape-5)', strokeWidth: 2 }
          : e.kind === 'split'
            ? { stroke: 'var(--mantine-color-orange-5)', strokeWidth: 2, strokeDasharray: '6 4' }
            : { stroke: 'var(--mantine-color-gray-5)' },
      markerEnd: e.kind === 'identifies' ? undefined : { type: MarkerType.ArrowClosed },
      type: 'straight',
    }))
    return { nodes, edges }
  }, [profileId, identities, merges])

  return (
    <Box
      h={460}
      data-testid="identity-graph"
      style={{ border: '1px solid var(--mantine-color-gray-3)', borderRadius: 8 }}
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1.3 }}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
        onNodeClick={(_, node) => {
          if (node.data.kind === 'profile' && !node.data.current && node.data.sublabel)
            navigate(`/profiles/${encodeURIComponent(node.data.sublabel)}`)
        }}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </Box>
  )
}
