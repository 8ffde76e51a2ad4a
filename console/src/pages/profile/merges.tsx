/** Merge history: which profiles were merged into which, why, and by which rule. */
import { Anchor, Table, Text } from '@mantine/core'
import type { useQuery } from '@tanstack/react-query'
import { isNotFound } from '../../api/client.js'
import type { Merge, Page } from '../../api/types.js'
import { Empty, ErrorNotice, Loading, NotAvailable } from '../../components/states.js'
import { formatShort } from '../../lib/format.js'
import { Link } from '../../lib/router.js'
import { profilePath } from './profile-path.js'

export function Merges({
  query,
  profileId,
}: {
  query: ReturnType<typeof useQuery<Page<Merge>>>
  profileId: string
}) {
  if (query.isPending) return <Loading />
  if (query.isError)
    return isNotFound(query.error) ? (
      <NotAvailable what="Merge history" />
    ) : (
      <ErrorNotice error={query.error} />
    )
  const rows = query.data.data
  if (rows.length === 0)
    return (
      <Empty
        icon="link"
        title="No merges"
        description="When an event ties two identifiers of different profiles together (say, an anonymous visitor logs in), the merge is recorded here."
      />
    )
  return (
    <Table verticalSpacing={6} data-testid="merges-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>When</Table.Th>
          <Table.Th>Merged</Table.Th>
          <Table.Th>Why</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((m) => (
          <Table.Tr key={m.id}>
            <Table.Td>
              <Text size="xs">{formatShort(m.at)}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">
                <ProfileRef id={m.fromProfileId} current={profileId} /> →{' '}
                <ProfileRef id={m.intoProfileId} current={profileId} />
              </Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">
                {[m.rule, m.reason].filter(Boolean).join(': ') || '—'}
                {m.identifiers?.length
                  ? ` (${m.identifiers.map((i) => `${i.type}: ${i.value}`).join(', ')})`
                  : ''}
              </Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}

function ProfileRef({ id, current }: { id: string; current: string }) {
  if (id === current) return <b>this profile</b>
  return (
    <Anchor component={Link} to={profilePath(id)} size="xs">
      {id}
    </Anchor>
  )
}
