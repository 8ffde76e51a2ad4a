/** Membership of another segment (never the one being edited). */
import { Group, SegmentedControl, Select, TextInput } from '@mantine/core'
import { useBuilder, type FieldsProps } from './context.js'

export function SegmentFields({ node, set }: FieldsProps<'segment'>) {
  const { segments, excludeSegmentId } = useBuilder()
  const options = segments.filter((s) => s.id !== excludeSegmentId)
  return (
    <Group gap="xs">
      <SegmentedControl
        size="xs"
        value={node.member === false ? 'out' : 'in'}
        onChange={(v) => set({ ...node, member: v === 'in' })}
        data={[
          { value: 'in', label: 'is in' },
          { value: 'out', label: 'is not in' },
        ]}
      />
      {options.length ? (
        <Select
          size="xs"
          w={220}
          searchable
          aria-label="Segment"
          placeholder="pick a segment"
          data={options.map((s) => ({ value: s.id, label: s.name }))}
          value={node.id || null}
          onChange={(id) => set({ ...node, id: id ?? '' })}
        />
      ) : (
        <TextInput
          size="xs"
          w={220}
          aria-label="Segment id"
          placeholder="segment id (create one first)"
          value={node.id}
          onChange={(e) => set({ ...node, id: e.currentTarget.value })}
        />
      )}
    </Group>
  )
}
