/** A consent condition: granted or denied for a purpose. */
import { Group, SegmentedControl, Text, TextInput } from '@mantine/core'
import type { FieldsProps } from './context.js'

export function ConsentFields({ node, set }: FieldsProps<'consent'>) {
  return (
    <Group gap="xs">
      <TextInput
        size="xs"
        w={170}
        placeholder="purpose, e.g. marketing"
        aria-label="Consent purpose"
        value={node.purpose}
        onChange={(e) => set({ ...node, purpose: e.currentTarget.value })}
      />
      <Text size="sm">is</Text>
      <SegmentedControl
        size="xs"
        value={node.status}
        onChange={(status) => set({ ...node, status: status as 'granted' | 'denied' })}
        data={['granted', 'denied']}
      />
    </Group>
  )
}
