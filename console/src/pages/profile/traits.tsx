/** Golden-record traits with where each value came from, and the values that lost. */
import { Anchor, Table, Text, Tooltip } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { api } from '../../api/client.js'
import type { Page, ProfileDetail, Source, TraitProvenance } from '../../api/types.js'
import { Loading } from '../../components/states.js'
import { formatShort, formatValue } from '../../lib/format.js'
import { Link } from '../../lib/router.js'
import { profilePath } from './profile-path.js'

export function TraitsCard({ profile }: { profile: ProfileDetail }) {
  const traits = useQuery({
    queryKey: ['profile', profile.id, 'traits'],
    queryFn: () => api<Page<TraitProvenance>>(profilePath(profile.id, '/traits')),
  })
  // The plain traits, without provenance, when the traits route fails.
  const rows: Array<Pick<TraitProvenance, 'key' | 'value'> & Partial<TraitProvenance>> =
    traits.data?.data ?? Object.entries(profile.traits).map(([key, value]) => ({ key, value }))
  // Provenance records source ids; the names come from the sources list (the same cached query
  // as the Sources page), and an id stays visible while it loads or for a deleted source.
  const sources = useQuery({ queryKey: ['sources'], queryFn: () => api<Page<Source>>('/sources') })
  const sourceName = new Map((sources.data?.data ?? []).map((s) => [s.id, s.name]))
  if (traits.isPending) return <Loading />
  if (rows.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No traits yet. Send an identify call with traits (email, name, plan…) to fill the golden
        record.
      </Text>
    )
  return (
    <Table verticalSpacing={6} data-testid="traits-table">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Trait</Table.Th>
          <Table.Th>Value</Table.Th>
          <Table.Th>From</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((t) => {
          const sourceId = t.provenance?.sourceId
          const at = t.provenance?.at
          const others = (t.conflicts ?? []).map(
            (c) => `${formatValue(c.value)} — seen ${c.count}×, last ${formatShort(c.last.at)}`,
          )
          return (
            <Table.Tr key={t.key}>
              <Table.Td>
                <Text size="sm" fw={500}>
                  {t.key}
                </Text>
                {t.strategy ? (
                  <Text size="xs" c="dimmed">
                    {t.strategy.replace(/_/g, ' ')}
                  </Text>
                ) : null}
              </Table.Td>
              <Table.Td style={{ wordBreak: 'break-word' }}>
                <Text size="sm">{formatValue(t.value)}</Text>
                {others.length ? (
                  <Tooltip
                    multiline
                    w={300}
                    label={others.join('\n')}
                    style={{ whiteSpace: 'pre-line' }}
                  >
                    <Text size="xs" c="dimmed" style={{ cursor: 'help' }} tabIndex={0}>
                      {`${others.length} other value${others.length > 1 ? 's' : ''} seen`}
                    </Text>
                  </Tooltip>
                ) : null}
              </Table.Td>
              <Table.Td>
                {sourceId || at ? (
                  <Text size="xs" c="dimmed">
                    {sourceId ? (
                      <Anchor
                        component={Link}
                        to={`/sources/${sourceId}`}
                        size="xs"
                        title={sourceId}
                        data-testid="trait-source"
                      >
                        {sourceName.get(sourceId) ?? sourceId}
                      </Anchor>
                    ) : null}
                    <br />
                    {formatShort(at)}
                  </Text>
                ) : (
                  <Text size="xs" c="dimmed">
                    —
                  </Text>
                )}
              </Table.Td>
            </Table.Tr>
          )
        })}
      </Table.Tbody>
    </Table>
  )
}
