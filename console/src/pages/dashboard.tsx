import {
  Button,
  Group,
  Paper,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Text,
  Title,
} from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { useState, type ReactNode } from 'react'
import { api, isNotFound } from '../api/client.js'
import type { Overview, Page, Source } from '../api/types.js'
import { Chart } from '../components/chart.js'
import { PageHeader } from '../components/page-header.js'
import { Empty, ErrorNotice, Loading, NotAvailable } from '../components/states.js'
import { formatNumber, percent } from '../lib/format.js'
import { Link } from '../lib/router.js'

export function DashboardPage() {
  // Received time shows the pipeline live; event time shows when people acted (SDKs that batch
  // or replay send events minutes or hours late).
  const [clock, setClock] = useState<'received' | 'event'>('received')
  const overview = useQuery({
    queryKey: ['stats', 'overview', clock],
    queryFn: () => api<Overview>(`/stats/overview?time=${clock}`),
    refetchInterval: 15_000,
    placeholderData: (previous) => previous,
  })
  const sources = useQuery({ queryKey: ['sources'], queryFn: () => api<Page<Source>>('/sources') })
  const header = (
    <PageHeader title="Dashboard" description="How data flows through this workspace." />
  )
  if (overview.isPending)
    return (
      <>
        {header}
        <Loading />
      </>
    )
  if (overview.isError)
    return (
      <>
        {header}
        {isNotFound(overview.error) ? (
          <NotAvailable
            what="The dashboard"
            next={
              <>
                Charts arrive with a later version. Meanwhile, create a source and watch events
                arrive in its live debugger. <Link to="/sources">Go to sources</Link>.
              </>
            }
          />
        ) : (
          <ErrorNotice error={overview.error} onRetry={() => void overview.refetch()} />
        )}
      </>
    )
  const o = overview.data
  const names = new Map((sources.data?.data ?? []).map((s) => [s.id, s.name]))
  const total = o.profiles.total
  const identified = o.profiles.identified
  const noData = total === 0 && o.eventsPerMinute.every((e) => e.count === 0)
  return (
    <>
      {header}
      {noData ? (
        <Paper withBorder p="md" mb="lg">
          <Empty
            icon="rocket"
            title="No data yet"
            description="Create a source, copy its write key, and send a first event: these charts fill in as data arrives."
            action={
              <Button component={Link} to="/sources">
                Create a source
              </Button>
            }
          />
        </Paper>
      ) : null}
      <SimpleGrid cols={{ base: 2, md: 4 }} mb="lg">
        <Stat label="Profiles" value={formatNumber(total)} />
        <Stat
          label="Identified"
          value={percent(identified, total)}
          hint={`${formatNumber(identified)} with a known user id or email`}
        />
        <Stat
          label="Events, last hour"
          value={formatNumber(o.eventsPerMinute.reduce((s, e) => s + e.count, 0))}
        />
        <Stat
          label="Merges, last 30 days"
          value={formatNumber(o.mergesPerDay.reduce((s, m) => s + m.count, 0))}
        />
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="lg" data-testid="dashboard-charts">
        <Card
          title="Events per minute, by source"
          action={
            <SegmentedControl
              size="xs"
              value={clock}
              onChange={(v) => setClock(v === 'event' ? 'event' : 'received')}
              data={[
                { value: 'received', label: 'Received time' },
                { value: 'event', label: 'Event time' },
              ]}
              data-testid="events-clock"
            />
          }
        >
          <EventsChart data={o.eventsPerMinute} names={names} />
        </Card>
        <Card title="Profiles">
          <Chart
            option={{
              tooltip: { trigger: 'item' },
              legend: { bottom: 0 },
              series: [
                {
                  type: 'pie',
                  radius: ['45%', '70%'],
                  label: { formatter: '{b}: {d}%' },
                  data: [
                    { name: 'Identified', value: identified },
                    { name: 'Anonymous', value: Math.max(0, total - identified) },
                  ],
                },
              ],
            }}
          />
        </Card>
        <Card title="Merges per day">
          <Chart
            option={{
              tooltip: { trigger: 'axis' },
              grid: { left: 40, right: 16, top: 16, bottom: 32 },
              xAxis: { type: 'category', data: o.mergesPerDay.map((m) => m.day) },
              yAxis: { type: 'value', minInterval: 1 },
              series: [{ type: 'bar', name: 'merges', data: o.mergesPerDay.map((m) => m.count) }],
            }}
          />
        </Card>
        <Card title="Segment sizes">
          {o.segmentSizes.length ? (
            <Chart
              option={{
                tooltip: { trigger: 'axis' },
                grid: { left: 120, right: 24, top: 16, bottom: 24 },
                xAxis: { type: 'value', minInterval: 1 },
                yAxis: {
                  type: 'category',
                  data: o.segmentSizes.map((s) => s.name),
                  inverse: true,
                },
                series: [{ type: 'bar', name: 'members', data: o.segmentSizes.map((s) => s.size) }],
              }}
            />
          ) : (
            <Hint>
              No segments yet. <Link to="/segments/new">Build one</Link>.
            </Hint>
          )}
        </Card>
        <Card title="Delivery success by destination">
          {o.deliverySuccess.length ? (
            <Chart
              option={{
                tooltip: { trigger: 'axis' },
                legend: { bottom: 0 },
                grid: { left: 120, right: 24, top: 16, bottom: 40 },
                xAxis: { type: 'value', minInterval: 1 },
                yAxis: {
                  type: 'category',
                  data: o.deliverySuccess.map((d) => d.name),
                  inverse: true,
                },
                series: [
                  {
                    type: 'bar',
                    name: 'delivered',
                    stack: 'd',
                    color: '#12b886',
                    data: o.deliverySuccess.map((d) => d.success),
                  },
                  {
                    type: 'bar',
                    name: 'retrying',
                    stack: 'd',
                    color: '#fab005',
                    data: o.deliverySuccess.map((d) => d.retrying),
                  },
                  {
                    type: 'bar',
                    name: 'failed (dead letters)',
                    stack: 'd',
                    color: '#fa5252',
                    data: o.deliverySuccess.map((d) => d.failed),
                  },
                ],
              }}
            />
          ) : (
            <Hint>
              No deliveries yet. <Link to="/destinations">Add a destination</Link>.
            </Hint>
          )}
        </Card>
        <Card title="Data quality: share of profiles with… (phones: valid E.164 only)">
          <Chart
            option={{
              tooltip: { trigger: 'axis', valueFormatter: (v) => `${String(v)}%` },
              grid: { left: 60, right: 24, top: 16, bottom: 24 },
              xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
              yAxis: { type: 'category', data: ['email', 'phone', 'name'], inverse: true },
              series: [
                {
                  type: 'bar',
                  name: 'share',
                  data: qualityShares(o.dataQuality),
                  label: { show: true, position: 'right', formatter: '{c}%' },
                },
              ],
            }}
          />
        </Card>
      </SimpleGrid>
    </>
  )
}

function qualityShares(q: Overview['dataQuality']): number[] {
  if (!q.total) return [0, 0, 0]
  return [q.withEmail, q.withPhone, q.withName].map((n) => Math.round((n / q.total) * 1000) / 10)
}

function EventsChart({
  data,
  names,
}: {
  data: Overview['eventsPerMinute']
  names: Map<string, string>
}) {
  if (data.every((e) => e.count === 0)) return <Hint>No events in the last hour.</Hint>
  const bySource = new Map<string, Array<[string, number]>>()
  for (const point of data) {
    const list = bySource.get(point.sourceId) ?? []
    list.push([point.at, point.count])
    bySource.set(point.sourceId, list)
  }
  return (
    <Chart
      testId="events-chart"
      option={{
        tooltip: { trigger: 'axis' },
        legend: { bottom: 0 },
        grid: { left: 40, right: 16, top: 16, bottom: 48 },
        xAxis: { type: 'time' },
        yAxis: { type: 'value', minInterval: 1 },
        series: [...bySource].map(([sourceId, points]) => ({
          type: 'line' as const,
          name: names.get(sourceId) ?? sourceId,
          stack: 'events',
          areaStyle: { opacity: 0.2 },
          showSymbol: false,
          data: points,
        })),
      }}
    />
  )
}

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Paper withBorder p="md">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text fz={28} fw={700}>
        {value}
      </Text>
      {hint ? (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      ) : null}
    </Paper>
  )
}

function Card({
  title,
  action,
  children,
}: {
  title: string
  action?: ReactNode
  children: ReactNode
}) {
  return (
    <Paper withBorder p="md">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={5}>{title}</Title>
          {action}
        </Group>
        {children}
      </Stack>
    </Paper>
  )
}

function Hint({ children }: { children: ReactNode }) {
  return (
    <Text size="sm" c="dimmed" py="xl" ta="center">
      {children}
    </Text>
  )
}
