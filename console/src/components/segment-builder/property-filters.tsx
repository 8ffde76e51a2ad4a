/** "where property … condition" rows of an event condition (all must hold). */
import { ActionIcon, Button, Group, Stack, Text } from '@mantine/core'
import { NameInput } from './name-input.js'
import { toPathRef, type PropertyFilter } from '../../lib/segment-tree.js'
import { ConditionInput } from './inputs/value.js'

export function PropertyFilters({
  filters,
  onChange,
  known,
}: {
  /** The event's property names seen so far (suggestions). */
  known?: string[] | undefined
  filters: PropertyFilter[]
  onChange: (filters: PropertyFilter[]) => void
}) {
  return (
    <Stack gap={4}>
      {filters.map((f, i) => (
        <Group key={i} gap="xs" wrap="nowrap">
          <Text size="xs" c="dimmed" w={40}>
            where
          </Text>
          <NameInput
            w={150}
            placeholder="property"
            aria-label="Property"
            what="property of this event"
            known={known}
            value={typeof f.property === 'string' ? f.property : f.property.join('.')}
            onChange={(v) =>
              onChange(filters.map((x, j) => (j === i ? { ...x, property: toPathRef(v) } : x)))
            }
          />
          <ConditionInput
            condition={f.condition}
            onChange={(condition) =>
              onChange(filters.map((x, j) => (j === i ? { ...x, condition } : x)))
            }
          />
          <ActionIcon
            variant="subtle"
            color="gray"
            aria-label="Remove property filter"
            onClick={() => onChange(filters.filter((_, j) => j !== i))}
          >
            ✕
          </ActionIcon>
        </Group>
      ))}
      <div>
        <Button
          size="compact-xs"
          variant="subtle"
          onClick={() =>
            onChange([...filters, { property: '', condition: { op: 'eq', value: '' } }])
          }
        >
          + property filter
        </Button>
      </div>
    </Stack>
  )
}
