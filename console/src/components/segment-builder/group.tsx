/** Groups (all/any of, nested), NOT, and the menu that adds a condition of any kind. */
import { Badge, Button, Group, Menu, Paper, SegmentedControl, Stack, Text } from '@mantine/core'
import {
  addChild,
  conditionKinds,
  emptyGroup,
  newCondition,
  toggleNot,
  updateAt,
  type Path,
  type SegmentNode,
} from '../../lib/segment-tree.js'
import { ConditionEditor } from './condition.js'
import { useBuilder } from './context.js'
import { RowActions } from './row-actions.js'

export function NodeEditor({ node, path }: { node: SegmentNode; path: Path }) {
  if (node.kind === 'and' || node.kind === 'or') return <GroupEditor node={node} path={path} />
  if (node.kind === 'not') return <NotEditor node={node} path={path} />
  return <ConditionEditor node={node} path={path} />
}

function GroupEditor({
  node,
  path,
}: {
  node: Extract<SegmentNode, { kind: 'and' | 'or' }>
  path: Path
}) {
  const { root, onChange } = useBuilder()
  const nested = path.length > 0
  return (
    <Paper
      withBorder
      p="sm"
      bg={nested ? 'var(--mantine-color-gray-0)' : undefined}
      data-testid={nested ? 'segment-group' : 'segment-root'}
      style={{
        borderLeft: `3px solid var(--mantine-color-${node.kind === 'and' ? 'indigo' : 'orange'}-4)`,
      }}
    >
      <Group justify="space-between" mb="xs">
        <Group gap="xs">
          <Text size="sm">{nested ? 'Group: match' : 'Profiles that match'}</Text>
          <SegmentedControl
            size="xs"
            value={node.kind}
            aria-label="Match all or any"
            onChange={(kind) =>
              onChange(
                updateAt(root, path, (n) => ({
                  kind: kind as 'and' | 'or',
                  children: childrenOfGroup(n),
                })),
              )
            }
            data={[
              { value: 'and', label: 'all of' },
              { value: 'or', label: 'any of' },
            ]}
          />
          <Text size="sm">these conditions</Text>
        </Group>
        {nested ? <RowActions path={path} /> : null}
      </Group>
      <Stack gap="xs">
        {node.children.map((child, i) => (
          <div key={i}>
            {i > 0 ? (
              <Badge
                size="xs"
                variant="light"
                color={node.kind === 'and' ? 'indigo' : 'orange'}
                mb={4}
              >
                {node.kind === 'and' ? 'and' : 'or'}
              </Badge>
            ) : null}
            <NodeEditor node={child} path={[...path, i]} />
          </div>
        ))}
        {node.children.length === 0 ? (
          <Text size="sm" c="dimmed">
            {nested
              ? 'This group is empty: add a condition or remove the group.'
              : 'No conditions yet. Add one to say who belongs in this segment.'}
          </Text>
        ) : null}
        <Group gap="xs">
          <AddMenu path={path} />
          <Button
            size="xs"
            variant="subtle"
            onClick={() =>
              onChange(addChild(root, path, emptyGroup(node.kind === 'and' ? 'or' : 'and')))
            }
          >
            + Add group
          </Button>
        </Group>
      </Stack>
    </Paper>
  )
}

function childrenOfGroup(node: SegmentNode): SegmentNode[] {
  return node.kind === 'and' || node.kind === 'or' ? node.children : []
}

function AddMenu({ path }: { path: Path }) {
  const { root, onChange } = useBuilder()
  return (
    <Menu position="bottom-start" withinPortal>
      <Menu.Target>
        <Button size="xs" variant="light" data-testid="add-condition">
          + Add condition
        </Button>
      </Menu.Target>
      <Menu.Dropdown>
        {conditionKinds.map((k) => (
          <Menu.Item
            key={k.kind}
            data-testid={`add-${k.kind}`}
            onClick={() => onChange(addChild(root, path, newCondition(k.kind)))}
          >
            <Text size="sm" fw={500}>
              {k.label}
            </Text>
            <Text size="xs" c="dimmed">
              {k.hint}
            </Text>
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  )
}

function NotEditor({ node, path }: { node: Extract<SegmentNode, { kind: 'not' }>; path: Path }) {
  const { root, onChange } = useBuilder()
  return (
    <Paper withBorder p="xs" style={{ borderColor: 'var(--mantine-color-red-3)' }}>
      <Group justify="space-between" mb={4}>
        <Badge color="red" variant="light">
          not
        </Badge>
        <Button size="compact-xs" variant="subtle" onClick={() => onChange(toggleNot(root, path))}>
          Remove NOT
        </Button>
      </Group>
      <NodeEditor node={node.child} path={[...path, 0]} />
    </Paper>
  )
}
