/** A trait condition: a trait name or dotted path, and a condition on its value. */
import { Group } from '@mantine/core'
import { pathText, toPathRef } from '../../lib/segment-tree.js'
import { useBuilder, type FieldsProps } from './context.js'
import { NameInput } from './name-input.js'
import { ConditionInput } from './inputs/value.js'

export function TraitFields({ node, set }: FieldsProps<'trait'>) {
  const { catalog } = useBuilder()
  return (
    <Group gap="xs" align="flex-start">
      <NameInput
        w={170}
        what="trait"
        known={catalog?.traits.map((t) => t.name)}
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
        onChange={(v) => set({ ...node, trait: toPathRef(v) })}
      />
      <ConditionInput
        condition={node.condition}
        onChange={(condition) => set({ ...node, condition })}
      />
    </Group>
  )
}
