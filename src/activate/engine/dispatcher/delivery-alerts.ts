/**
 * Delivery alerts through the workspace's own channels: when a destination dead-letters
 * deliveries or turns degraded, a `Destination Alert` event is queued for the destination the
 * workspace named in its settings (`alertDestinationId`: a Slack channel, a webhook), which
 * delivers it like any forwarded event. At most one alert per destination, kind and hour (the
 * idempotency key), never an alert about the alert destination itself (no loops), in the
 * transaction that recorded what it reports.
 */
import type { Queryable } from '../../../platform/store/db.js'
import { normalizeEvent } from '../../../protocol/event-schema.js'
import { readWorkspaceSettings } from '../../../govern/index.js'
import { deliveryJobsRepository } from './delivery-jobs-repository.js'

export type AlertKind = 'dead_letters' | 'degraded'

export async function queueDeliveryAlert(
  tx: Queryable,
  alert: {
    workspaceId: string
    destination: { id: string; type: string; name?: string | undefined }
    kind: AlertKind
    deadLetters: number
    lastError: string | null
    now: Date
  },
): Promise<boolean> {
  const settings = await readWorkspaceSettings(tx, alert.workspaceId)
  const to = settings?.alertDestinationId
  if (!to || to === alert.destination.id) return false
  // Deleted or switched off since it was chosen: no alert (and nothing queued for nobody).
  const target = await tx.query(
    'SELECT 1 FROM destinations WHERE workspace_id = $1 AND id = $2 AND enabled',
    [alert.workspaceId, to],
  )
  if (target.rows.length === 0) return false
  const hour = Math.floor(alert.now.getTime() / 3_600_000)
  const messageId = `alert:${alert.destination.id}:${alert.kind}:${hour}`
  const what =
    alert.kind === 'degraded'
      ? `Destination ${alert.destination.name ?? alert.destination.id} is degraded: its deliveries keep failing`
      : `Destination ${alert.destination.name ?? alert.destination.id} gave up on ${alert.deadLetters} deliver${alert.deadLetters === 1 ? 'y' : 'ies'} (dead letters: replay them from its page)`
  const n = normalizeEvent(
    {
      type: 'track',
      event: 'Destination Alert',
      userId: 'kindred',
      messageId,
      timestamp: alert.now.toISOString(),
      properties: {
        kind: alert.kind,
        message: what,
        destinationId: alert.destination.id,
        destinationName: alert.destination.name ?? null,
        destinationType: alert.destination.type,
        deadLetters: alert.deadLetters,
        lastError: alert.lastError?.slice(0, 500) ?? null,
      },
    },
    undefined,
    { receivedAt: alert.now, newMessageId: () => messageId, correctSkew: false },
  )
  if (!n.ok) return false
  const queued = await deliveryJobsRepository.enqueue(
    tx,
    [
      {
        workspaceId: alert.workspaceId,
        destinationId: to,
        kind: 'event',
        profileId: null,
        input: { kind: 'event', event: n.event },
        idempotencyKey: messageId,
      },
    ],
    alert.now,
  )
  return queued > 0
}
