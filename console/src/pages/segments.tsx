import { Anchor, Button, Text } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { api } from '../api/client.js'
import type { Page, Segment } from '../api/types.js'
import { PageHeader } from '../components/page-header.js'
import { ResourceTable } from '../components/resource-table.js'
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
        {(page) => (
          <ResourceTable
            rows={page.data}
            rowKey={(s) => s.id}
            testId="segments-table"
            highlightOnHover
            empty={
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
            }
            columns={[
              {
                title: 'Name',
                render: (s) => (
                  <>
                    <Anchor component={Link} to={`/segments/${encodeURIComponent(s.id)}`} fw={600}>
                      {s.name}
                    </Anchor>
                    {s.description ? (
                      <Text size="xs" c="dimmed" lineClamp={1}>
                        {s.description}
                      </Text>
                    ) : null}
                  </>
                ),
              },
              {
                title: 'Conditions',
                render: (s) => countConditions(parseDefinition(s.definition)),
              },
              { title: 'Size', align: 'right', render: (s) => formatNumber(s.size) },
              { title: 'Updated', render: (s) => formatTime(s.updatedAt) },
            ]}
          />
        )}
      </QueryView>
    </>
  )
}
