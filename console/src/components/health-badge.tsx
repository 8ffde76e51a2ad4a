import { Badge, Tooltip } from '@mantine/core'
import type { Destination } from '../api/types.js'

export function healthOf(d: Destination): { status: Destination['status']; message?: string } {
  const failures = d.consecutiveFailures
    ? `${d.consecutiveFailures} failed deliveries in a row`
    : ''
  const message = [failures, d.lastError ?? ''].filter(Boolean).join(': ')
  return message ? { status: d.status, message } : { status: d.status }
}

export function HealthBadge({ destination }: { destination: Destination }) {
  const health = healthOf(destination)
  if (!destination.enabled)
    return (
      <Badge color="gray" variant="light">
        paused
      </Badge>
    )
  const badge = (
    <Badge
      color={health.status === 'healthy' ? 'teal' : 'orange'}
      variant="light"
      data-testid="health-badge"
    >
      {health.status}
    </Badge>
  )
  return health.message ? <Tooltip label={health.message}>{badge}</Tooltip> : badge
}
