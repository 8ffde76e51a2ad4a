/** A funnel: two to five event steps in order, all within a duration. */
import { ActionIcon, Button, Group, Stack, Text } from '@mantine/core'
import { useBuilder, type FieldsProps } from './context.js'
import { NameInput } from './name-input.js'
import { DurationInput } from './inputs/duration.js'

export function FunnelFields({ node, set }: FieldsProps<'funnel'>) {
  const { catalog } = useBuilder()
  return (
    <Stack gap={6}>
      {node.steps.map((step, i) => (
        <Group key={i} gap="xs" wrap="nowrap">
          <Text size="xs" c="dimmed" w={50}>
            {i === 0 ? 'did' : 'then'}
          </Text>
          <NameInput
            w={220}
            aria-label={`Step ${i + 1} event`}
            placeholder={`step ${i + 1} event`}
            what="event"
            known={catalog?.events.map((e) => e.name)}
            value={step.event ?? ''}
            onChange={(v) =>
              set({
                ...node,
                steps: node.steps.map((s, j) => (j === i ? { ...s, event: v } : s)),
              })
            }
          />
          {node.steps.length > 2 ? (
            <ActionIcon
              variant="subtle"
              color="gray"
              aria-label="Remove step"
              onClick={() => set({ ...node, steps: node.steps.filter((_, j) => j !== i) })}
            >
              ✕
            </ActionIcon>
          ) : null}
        </Group>
      ))}
      <Group gap="xs">
        <Button
          size="compact-xs"
          variant="subtle"
          onClick={() => set({ ...node, steps: [...node.steps, { event: '' }] })}
        >
          + step
        </Button>
        <Text size="sm">all within</Text>
        <DurationInput value={node.within} onChange={(within) => set({ ...node, within })} />
      </Group>
    </Stack>
  )
}
