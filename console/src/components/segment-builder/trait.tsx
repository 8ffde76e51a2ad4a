/** A trait condition: a trait name or dotted path, and a condition on its value. */
import { Group, TextInput } from '@mantine/core'
import { pathText, toPathRef } from '../../lib/segment-tree.js'
import type { FieldsProps } from './context.js'
import { ConditionInput } from './inputs/value.js'

export function TraitFields({ node, set }: FieldsProps<'trait'>) {
  return (
    <Group gap="xs" align="flex-start">
      <TextInput
        size="xs"
        w={170}
        placeholder="trait, e.g. plan"
        aria-label="Trait name"
        data-testid="trait-name"
        value={
          pathText(node.trait) === ''
            ? ''
            : typeof node.trait === 'string'
              ? node.trait
              : node.trait.join('.')
        }
        onChange={(e) => set({ ...node, trait: toPathRef(e.currentTarget.value) })}
      />
      <ConditionInput
        condition={node.condition}
        onChange={(condition) => set({ ...node, condition })}
      />
    </Group>
  )
}
