/** The identifiers of the profile, with where and when each was seen. */
import { Badge, Table, Text } from '@mantine/core'
import type { useQuery } from '@tanstack/react-query'
import { isNotFound } from '../../api/client.js'
import type { Identity, IdentityDetail, Page } from '../../api/types.js'
import { ErrorNotice, Loading } from '../../components/states.js'
import { formatShort } from '../../lib/format.js'

export function Identities({
  query,
  fallback,
}: {
  query: ReturnType<typeof useQuery<Page<IdentityDetail>>>
  fallback: Identity[]
}) {
  if (query.isPending) return <Loading />
  // The profile's own list (type and value only) when the identities route fails.
  const rows: Array<Identity & Partial<IdentityDetail>> = query.data?.data ?? fallback
  if (query.isError && !isNotFound(query.error)) return <ErrorNotice error={query.error} />
  return (
    <Table verticalSpacing={6} data-testid="identities-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Type</Table.Th>
          <Table.Th>Value</Table.Th>
          <Table.Th>First seen</Table.Th>
          <Table.Th>Source</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((i) => (
          <Table.Tr key={`${i.type}:${i.value}`}>
            <Table.Td>
              <Badge variant="light" color="gray" tt="none">
                {i.type}
              </Badge>
            </Table.Td>
            <Table.Td style={{ wordBreak: 'break-all' }}>{i.value}</Table.Td>
            <Table.Td>
              <Text size="xs">{formatShort(i.firstSeenAt)}</Text>
            </Table.Td>
            <Table.Td>
              <Text size="xs">{i.sourceId ?? '—'}</Text>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  )
}
