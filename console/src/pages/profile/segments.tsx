/** Segments the profile is in or was in, with entered/exited times. */
import { Anchor, Badge, Table, Text } from '@mantine/core'
import type { ProfileDetail } from '../../api/types.js'
import { formatShort } from '../../lib/format.js'
import { Link } from '../../lib/router.js'

export function Segments({ profile }: { profile: ProfileDetail }) {
  const list = profile.segments ?? []
  if (list.length === 0)
    return (
      <Text size="sm" c="dimmed">
        Not in any segment. Build audiences on the{' '}
        <Anchor component={Link} to="/segments" size="sm">
          Segments
        </Anchor>{' '}
        page.
      </Text>
    )
  return (
    <Table verticalSpacing={6}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Segment</Table.Th>
          <Table.Th>Entered</Table.Th>
          <Table.Th>Exited</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {list.map((s) => (
          <Table.Tr key={`${s.id}:${s.enteredAt}`}>
            <Table.Td>
              <Anchor component={Link} to={`/segments/${s.id}`} size="sm">
                {s.name ?? s.id}
              </Anchor>{' '}
              {s.exitedAt ? null : (
                <Badge size="xs" color="teal" variant="light">
                  member
                </Badge>
              )}
            </Table.Td>
            <Table.Td>
              <Text size="xs">{formatShort(s.enteredAt)}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">{formatShort(s.exitedAt)}</Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}
