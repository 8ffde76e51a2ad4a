import { Anchor, Button, Table, Text } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { api } from '../api/client.js'
import type { Page, Segment } from '../api/types.js'
import { PageHeader } from '../components/page-header.js'
import { Empty, QueryView } from '../components/states.js'
import { formatNumber, formatTime } from '../lib/format.js'
import { Link } from '../lib/router.js'
import { countConditions, parseDefinition } from '../lib/segment-tree.js'

export function SegmentsPage() {
  const segments = useQuery({
    queryKey: ['segments'],
    queryFn: () => api<Page<Segment>>('/segments'),
  })
  const available = !(segments.isError && (segments.error as { status?: number }).status === 404)
  return (
    <>
      <PageHeader
        title="Segments"
        description="Audiences built from traits, behaviour, computed traits and consent, kept up to date in real time."
        actions={
          available ? (
            <Button component={Link} to="/segments/new" data-testid="new-segment">
              New segment
            </Button>
          ) : null
        }
      />
      <QueryView query={segments} what="Segments">
        {(page) =>
          page.data.length === 0 ? (
            <Empty
              icon="segments"
              title="No segments yet"
              description="Build your first audience with the no-code builder: combine traits, events, computed traits and consent, and watch the size update as you edit."
              action={
                <Button component={Link} to="/segments/new">
                  Build a segment
                </Button>
              }
            />
          ) : (
            <Table
              highlightOnHover
              withTableBorder
              verticalSpacing="sm"
              data-testid="segments-table"
            >
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Conditions</Table.Th>
                  <Table.Th ta="right">Size</Table.Th>
                  <Table.Th>Updated</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {page.data.map((s) => (
                  <Table.Tr key={s.id}>
                    <Table.Td>
                      <Anchor
                        component={Link}
                        to={`/segments/${encodeURIComponent(s.id)}`}
                        fw={600}
                      >
                        {s.name}
                      </Anchor>
                      {s.description ? (
                        <Text size="xs" c="dimmed" lineClamp={1}>
                          {s.description}
                        </Text>
                      ) : null}
                    </Table.Td>
                    <Table.Td>{countConditions(parseDefinition(s.definition))}</Table.Td>
                    <Table.Td ta="right">{formatNumber(s.size)}</Table.Td>
                    <Table.Td>{formatTime(s.updatedAt ?? s.createdAt)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )
        }
      </QueryView>
    </>
  )
}
