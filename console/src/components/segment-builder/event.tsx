/** An event condition: performed or not, how many times, in which window, with property filters. */
import { Button, Group, NumberInput, SegmentedControl, Select, Stack, Text } from '@mantine/core'
import type { CountOp } from '../../lib/segment-tree.js'
import { useBuilder, type FieldsProps } from './context.js'
import { NameInput } from './name-input.js'
import { DurationInput } from './inputs/duration.js'
import { PropertyFilters } from './property-filters.js'

export function EventFields({ node, set }: FieldsProps<'event'>) {
  const { catalog } = useBuilder()
  return (
    <Stack gap={6}>
      <Group gap="xs">
        <SegmentedControl
          size="xs"
          value={node.performed ? 'did' : 'didnt'}
          onChange={(v) => set({ ...node, performed: v === 'did' })}
          data={[
            { value: 'did', label: 'performed' },
            { value: 'didnt', label: 'did not perform' },
          ]}
        />
        <NameInput
          w={200}
          placeholder="event, e.g. Order Completed"
          aria-label="Event name"
          data-testid="event-name"
          what="event"
          known={catalog?.events.map((e) => e.name)}
          value={node.event ?? ''}
          onChange={(v) => set({ ...node, event: v || undefined })}
        />
      </Group>
      <Group gap="xs">
        {node.performed ? (
          <>
            <Select
              size="xs"
              w={110}
              aria-label="How many times"
              data={[
                { value: 'gte', label: 'at least' },
                { value: 'lte', label: 'at most' },
                { value: 'eq', label: 'exactly' },
              ]}
              value={node.count?.op ?? 'gte'}
              allowDeselect={false}
              onChange={(op) =>
                set({
                  ...node,
                  count: { op: (op ?? 'gte') as CountOp, value: node.count?.value ?? 1 },
                })
              }
            />
            <NumberInput
              size="xs"
              w={70}
              min={0}
              aria-label="Times"
              value={node.count?.value ?? 1}
              onChange={(n) =>
                set({
                  ...node,
                  count: {
                    op: node.count?.op ?? 'gte',
                    value: Math.max(0, Math.round(Number(n) || 0)),
                  },
                })
              }
            />
            <Text size="sm">times</Text>
          </>
        ) : null}
        <Text size="sm">in the last</Text>
        {node.window?.kind === 'last' ? (
          <>
            <DurationInput
              value={node.window}
              onChange={(d) => set({ ...node, window: { kind: 'last', ...d } })}
            />
            <Button
              size="compact-xs"
              variant="subtle"
              onClick={() => set({ ...node, window: undefined })}
            >
              any time
            </Button>
          </>
        ) : (
          <Button
            size="compact-xs"
            variant="light"
            onClick={() => set({ ...node, window: { kind: 'last', amount: 30, unit: 'days' } })}
          >
            (any time) add a window
          </Button>
        )}
      </Group>
      <PropertyFilters
        known={node.event ? catalog?.properties[node.event] : undefined}
        filters={node.where ?? []}
        onChange={(where) => set({ ...node, where: where.length ? where : undefined })}
      />
    </Stack>
  )
}
