/** A computed-trait condition: pick the trait (or type its id), then a condition on its value. */
import { Group, Select, TextInput } from '@mantine/core'
import { useBuilder, type FieldsProps } from './context.js'
import { ConditionInput } from './inputs/value.js'

export function ComputedTraitFields({ node, set }: FieldsProps<'computed_trait'>) {
  const { computedTraits } = useBuilder()
  return (
    <Group gap="xs" align="flex-start">
      {computedTraits.length ? (
        <Select
          size="xs"
          w={190}
          searchable
          aria-label="Computed trait"
          placeholder="pick a computed trait"
          data={computedTraits.map((c) => ({ value: c.id, label: c.name }))}
          value={node.id || null}
          onChange={(id) => set({ ...node, id: id ?? '' })}
        />
      ) : (
        <TextInput
          size="xs"
          w={190}
          aria-label="Computed trait id"
          placeholder="computed trait id"
          value={node.id}
          onChange={(e) => set({ ...node, id: e.currentTarget.value })}
        />
      )}
      <ConditionInput
        condition={node.condition}
        onChange={(condition) => set({ ...node, condition })}
      />
    </Group>
  )
}
