/**
 * The Profile 360 tiles: orders and revenue, last seen, devices and anonymous ids, all from one
 * server-side query (`GET /profiles/:id/summary`), so the numbers cover every event of the
 * person and not just the timeline page loaded in the browser.
 */
import { Paper, SimpleGrid, Text } from '@mantine/core'
import { useQuery } from '@tanstack/react-query'
import { api } from '../../api/client.js'
import type { ProfileTiles } from '../../api/types.js'
import { formatNumber, formatShort } from '../../lib/format.js'
import { profilePath } from './profile-path.js'

export function SummaryTiles({ profileId }: { profileId: string }) {
  const summary = useQuery({
    queryKey: ['profile', profileId, 'summary'],
    queryFn: () => api<ProfileTiles>(profilePath(profileId, '/summary')),
  })
  const s = summary.data
  const dash = summary.isError ? '—' : '…'
  const revenue =
    s === undefined
      ? dash
      : s.revenue.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
  return (
    <SimpleGrid cols={{ base: 2, sm: 4 }} spacing="sm" data-testid="profile-tiles">
      <Tile label="Orders" testId="tile-orders" value={s ? formatNumber(s.orders) : dash} />
      <Tile label="Revenue" testId="tile-revenue" value={revenue} />
      <Tile
        label="Last seen"
        testId="tile-last-seen"
        value={s ? formatShort(s.lastSeenAt) : dash}
      />
      <Tile
        label="Devices · anonymous ids"
        testId="tile-devices"
        value={s ? `${formatNumber(s.devices)} · ${formatNumber(s.anonymousIds)}` : dash}
      />
    </SimpleGrid>
  )
}

function Tile({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="lg" fw={600} data-testid={testId}>
        {value}
      </Text>
    </Paper>
  )
}
