/** Negate and remove, on every condition row and nested group. */
import { ActionIcon, Group, Tooltip } from '@mantine/core'
import { removeAt, toggleNot, type Path } from '../../lib/segment-tree.js'
import { useBuilder } from './context.js'

export function RowActions({ path }: { path: Path }) {
  const { root, onChange } = useBuilder()
  return (
    <Group gap={4} wrap="nowrap">
      <Tooltip label="Negate (NOT)">
        <ActionIcon
          variant="subtle"
          color="gray"
          aria-label="Negate"
          onClick={() => onChange(toggleNot(root, path))}
        >
          ¬
        </ActionIcon>
      </Tooltip>
      <Tooltip label="Remove">
        <ActionIcon
          variant="subtle"
          color="red"
          aria-label="Remove condition"
          onClick={() => onChange(removeAt(root, path))}
        >
          ✕
        </ActionIcon>
      </Tooltip>
    </Group>
  )
}
