/** One condition row: its kind's badge, its kind's fields, negate and remove. */
import { Badge, Group, Paper } from '@mantine/core'
import type { ReactNode } from 'react'
import { conditionKinds, updateAt, type Path, type SegmentNode } from '../../lib/segment-tree.js'
import { ComputedTraitFields } from './computed-trait.js'
import { ConsentFields } from './consent.js'
import { useBuilder } from './context.js'
import { EventFields } from './event.js'
import { FunnelFields } from './funnel.js'
import { RowActions } from './row-actions.js'
import { SegmentFields } from './segment.js'
import { TraitFields } from './trait.js'

export function ConditionEditor({ node, path }: { node: SegmentNode; path: Path }) {
  const { root, onChange } = useBuilder()
  const set = (next: SegmentNode) => onChange(updateAt(root, path, () => next))
  const label = conditionKinds.find((k) => k.kind === node.kind)?.label ?? node.kind
  let body: ReactNode = null
  switch (node.kind) {
    case 'trait':
      body = <TraitFields node={node} set={set} />
      break
    case 'computed_trait':
      body = <ComputedTraitFields node={node} set={set} />
      break
    case 'event':
      body = <EventFields node={node} set={set} />
      break
    case 'segment':
      body = <SegmentFields node={node} set={set} />
      break
    case 'funnel':
      body = <FunnelFields node={node} set={set} />
      break
    case 'consent':
      body = <ConsentFields node={node} set={set} />
      break
    default:
      body = null
  }
  return (
    <Paper withBorder p="xs" data-testid="segment-condition">
      <Group justify="space-between" align="flex-start" wrap="nowrap">
        <Group gap="xs" align="flex-start" wrap="nowrap" style={{ flex: 1, minWidth: 0 }}>
          <Badge variant="outline" mt={6} style={{ flexShrink: 0 }}>
            {label}
          </Badge>
          <div style={{ flex: 1, minWidth: 0 }}>{body}</div>
        </Group>
        <RowActions path={path} />
      </Group>
    </Paper>
  )
}
