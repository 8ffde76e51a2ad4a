import {
  Anchor,
  Badge,
  Button,
  Grid,
  Group,
  Paper,
  Stack,
  Switch,
  Text,
  Title,
} from '@mantine/core'
import { notifications } from '@mantine/notifications'
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useState } from 'react'
import { api, downloadFile, errorMessage, isNotFound } from '../api/client.js'
import type { Destination, Page, Segment, SegmentMember } from '../api/types.js'
import { Chart } from '../components/chart.js'
import { ConfirmModal } from '../components/confirm-modal.js'
import { ResourceTable } from '../components/resource-table.js'
import { JsonView } from '../components/json-view.js'
import { Empty, ErrorNotice, Loading, QueryView } from '../components/states.js'
import { describeSegment } from '../lib/segment-describe.js'
import type { SegmentNode } from '../lib/segment-tree.js'
import { HealthBadge } from '../components/health-badge.js'
import { formatNumber, formatTime, profileName } from '../lib/format.js'
import { Link, navigate } from '../lib/router.js'

export function SegmentDetailPage({ id }: { id: string }) {
  const segment = useQuery({
    queryKey: ['segments', id],
    queryFn: () => api<Segment>(`/segments/${encodeURIComponent(id)}`),
  })
  return (
    <QueryView query={segment} what="Segments">
      {(s) => <SegmentView segment={s} />}
    </QueryView>
  )
}

function SegmentView({ segment }: { segment: Segment }) {
  const queryClient = useQueryClient()
  const [deleting, setDeleting] = useState(false)
  const remove = useMutation({
    mutationFn: () => api(`/segments/${encodeURIComponent(segment.id)}`, { method: 'DELETE' }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['segments'] })
      notifications.show({ message: `Segment “${segment.name}” deleted.` })
      navigate('/segments')
    },
  })
  return (
    <Stack gap="lg">
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Anchor component={Link} to="/segments" size="sm">
            ← Segments
          </Anchor>
          <Title order={2}>{segment.name}</Title>
          {segment.description ? <Text c="dimmed">{segment.description}</Text> : null}
          <Text size="sm" c="dimmed">
            {segment.size !== undefined
              ? `${formatNumber(segment.size)} member${segment.size === 1 ? '' : 's'} · `
              : ''}
            updated {formatTime(segment.updatedAt ?? segment.createdAt)}
          </Text>
        </Stack>
        <Group gap="xs">
          <Button component={Link} to={`/segments/${encodeURIComponent(segment.id)}/edit`}>
            Edit
          </Button>
          <Button variant="light" color="red" onClick={() => setDeleting(true)}>
            Delete
          </Button>
        </Group>
      </Group>
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Stack gap="lg">
            <Paper withBorder p="md">
              <Title order={4} mb="xs">
                Size over time
              </Title>
              <SizeChart segmentId={segment.id} currentSize={segment.size} />
            </Paper>
            <Paper withBorder p="md">
              <Definition segment={segment} />
            </Paper>
          </Stack>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Paper withBorder p="md">
            <Group justify="space-between" mb="xs" wrap="wrap">
              <Title order={4}>Members</Title>
              <ExportButton segment={segment} />
            </Group>
            <Members segmentId={segment.id} />
          </Paper>
          <Paper withBorder p="md" mt="lg">
            <Title order={4} mb="xs">
              Syncing destinations
            </Title>
            <SyncingDestinations segmentId={segment.id} />
          </Paper>
        </Grid.Col>
      </Grid>
      <ConfirmModal
        opened={deleting}
        onClose={() => setDeleting(false)}
        title="Delete this segment?"
        subject={<>The segment “{segment.name}”</>}
        confirmLabel="Delete segment"
        onConfirm={() => remove.mutate()}
        pending={remove.isPending}
        error={remove.error}
        testId="delete-segment"
      >
        Destinations and other segments that use it stop receiving its changes. Membership history
        is kept.
      </ConfirmModal>
    </Stack>
  )
}

function Definition({ segment }: { segment: Segment }) {
  const [json, setJson] = useState(false)
  // Names for the segments this one refers to; ids are shown while the list loads.
  const segments = useQuery({
    queryKey: ['segments'],
    queryFn: () => api<Page<Segment>>('/segments'),
  })
  const names = Object.fromEntries((segments.data?.data ?? []).map((s) => [s.id, s.name]))
  return (
    <Stack gap="xs">
      <Group justify="space-between" wrap="wrap">
        <Title order={4}>Definition</Title>
        <Switch
          size="xs"
          label="JSON"
          checked={json}
          onChange={(e) => setJson(e.currentTarget.checked)}
          data-testid="definition-json-toggle"
        />
      </Group>
      {json ? (
        <JsonView value={segment.definition} maxHeight={360} />
      ) : (
        <Text data-testid="segment-definition-words" style={{ overflowWrap: 'anywhere' }}>
          {describeSegment(segment.definition as SegmentNode, { segments: names })}
        </Text>
      )}
    </Stack>
  )
}

function ExportButton({ segment }: { segment: Segment }) {
  const [downloading, setDownloading] = useState(false)
  async function download() {
    setDownloading(true)
    try {
      const file = segment.id.replace(/[^A-Za-z0-9_-]/g, '_')
      await downloadFile(
        `/segments/${encodeURIComponent(segment.id)}/members/export`,
        `kindred-segment-${file}.csv`,
      )
    } catch (err) {
      notifications.show({ message: errorMessage(err), color: 'red' })
    } finally {
      setDownloading(false)
    }
  }
  return (
    <Button
      size="xs"
      variant="light"
      loading={downloading}
      onClick={() => void download()}
      data-testid="export-members"
    >
      Export CSV
    </Button>
  )
}

function SyncingDestinations({ segmentId }: { segmentId: string }) {
  const destinations = useQuery({
    queryKey: ['destinations', { segment: segmentId }],
    queryFn: () => api<Page<Destination>>('/destinations', { query: { segment: segmentId } }),
  })
  return (
    <QueryView query={destinations} what="Destinations">
      {(data) =>
        data.data.length === 0 ? (
          <Text size="sm" c="dimmed">
            No destination syncs this segment. Add it to a destination&apos;s audience sync.
          </Text>
        ) : (
          <Stack gap={6} data-testid="syncing-destinations">
            {data.data.map((d) => (
              <Group key={d.id} justify="space-between" wrap="wrap" gap={4}>
                <Anchor component={Link} to={`/destinations/${encodeURIComponent(d.id)}`} size="sm">
                  {d.name}
                </Anchor>
                <Group gap={4} wrap="nowrap">
                  <Badge variant="outline" color="gray">
                    {d.type}
                  </Badge>
                  <HealthBadge destination={d} />
                </Group>
              </Group>
            ))}
          </Stack>
        )
      }
    </QueryView>
  )
}

function SizeChart({ segmentId, currentSize }: { segmentId: string; currentSize?: number }) {
  const sizes = useQuery({
    queryKey: ['segments', segmentId, 'sizes'],
    queryFn: () =>
      api<{ data: Array<{ at: string; size: number }> }>(
        `/segments/${encodeURIComponent(segmentId)}/sizes`,
      ),
  })
  if (sizes.isPending) return <Loading />
  if (sizes.isError)
    return isNotFound(sizes.error) ? (
      <Text size="sm" c="dimmed">
        Size history is not available in this version yet.
      </Text>
    ) : (
      <ErrorNotice error={sizes.error} />
    )
  if (sizes.data.data.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No history yet: sizes are recorded as the segment is evaluated.
      </Text>
    )
  return (
    <Chart
      testId="segment-size-chart"
      option={{
        tooltip: { trigger: 'axis' },
        grid: { left: 48, right: 16, top: 16, bottom: 32 },
        xAxis: { type: 'time' },
        yAxis: { type: 'value', minInterval: 1 },
        series: [
          {
            type: 'line',
            name: 'members',
            step: 'end',
            areaStyle: { opacity: 0.15 },
            showSymbol: sizes.data.data.length < 3,
            // The last recorded size holds until now: extend the step line to the present.
            data: [
              ...sizes.data.data.map((d) => [d.at, d.size]),
              [new Date().toISOString(), currentSize ?? sizes.data.data.at(-1)?.size ?? 0],
            ],
          },
        ],
      }}
    />
  )
}

function Members({ segmentId }: { segmentId: string }) {
  const members = useInfiniteQuery({
    queryKey: ['segments', segmentId, 'members'],
    queryFn: ({ pageParam }) =>
      api<Page<SegmentMember>>(`/segments/${encodeURIComponent(segmentId)}/members`, {
        query: { cursor: pageParam },
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  })
  return (
    <QueryView query={members} what="The members list">
      {(data) => (
        <ResourceTable
          dense
          rows={data.pages.flatMap((p) => p.data)}
          rowKey={(m) => m.profileId}
          testId="segment-members"
          more={members}
          empty={
            <Empty
              icon="profiles"
              title="No members yet"
              description="Profiles join as soon as they match. Check the definition, or send events that match it."
            />
          }
          columns={[
            {
              title: 'Profile',
              render: (m) => (
                <Anchor
                  component={Link}
                  to={`/profiles/${encodeURIComponent(m.profileId)}`}
                  size="sm"
                >
                  {profileName({ id: m.profileId, traits: m.traits })}
                </Anchor>
              ),
            },
            {
              title: 'Entered',
              render: (m) => <Text size="xs">{formatTime(m.enteredAt)}</Text>,
            },
          ]}
        />
      )}
    </QueryView>
  )
}
