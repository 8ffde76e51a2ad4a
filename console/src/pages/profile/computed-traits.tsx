/** The profile's computed-trait values. */
import { Anchor, Code, Table, Text, Tooltip } from '@mantine/core'
import type { ProfileDetail } from '../../api/types.js'
import { formatValue } from '../../lib/format.js'
import { Link } from '../../lib/router.js'

export function ComputedTraits({ profile }: { profile: ProfileDetail }) {
  const list = profile.computedTraits ?? []
  if (list.length === 0)
    return (
      <Text size="sm" c="dimmed">
        None yet. Define computed traits (order count, lifetime value…) on the{' '}
        <Anchor component={Link} to="/computed-traits" size="sm">
          Computed traits
        </Anchor>{' '}
        page.
      </Text>
    )
  return (
    <Table verticalSpacing={6}>
      <Table.Tbody>
        {list.map((c) => (
          <Table.Tr key={c.id}>
            <Table.Td>
              <Tooltip
                label={<Code block>{JSON.stringify(c.definition, null, 2)}</Code>}
                disabled={!c.definition}
              >
                <Text size="sm" fw={500} style={{ cursor: c.definition ? 'help' : undefined }}>
                  {c.name ?? c.id}
                </Text>
              </Tooltip>
            </Table.Td>
            <Table.Td>
              <Text size="sm">{formatValue(c.value)}</Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}
