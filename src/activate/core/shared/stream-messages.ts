/**
 * @module destinations/shared/stream-messages
 * The pure transform every stream destination (RabbitMQ, Redis Streams, NATS, MQTT) shares: one
 * message per input, whose body is the input itself as JSON (the webhook's payload, so a consumer
 * reads the same shape from either), batched into `stream` effects of at most `maxBatch` messages.
 * Each message carries a message id derived from the destination and the item, the same on every
 * retry, so consumers (and JetStream's duplicate window) can drop a redelivery.
 */
import type {
  Action,
  DestinationInput,
  StreamEffect,
  StreamProtocol,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { idempotencyKey, partitionSupported } from './profile-fields.js'

/** Every stream destination handles every kind of input: a consumer decides what it needs. */
export const streamActions: Action[] = ['forwardEvents', 'upsertProfiles', 'syncAudience', 'delete']

export interface StreamTarget {
  protocol: StreamProtocol
  /** Routing key, stream key, subject or topic. */
  target: string
  exchange?: string
  maxLen?: number
}

export function streamMessageId(destinationId: string, itemId: string): string {
  return idempotencyKey(destinationId, 'stream:message', [itemId])
}

export function streamTransform(
  inputs: DestinationInput[],
  ctx: TransformContext<unknown>,
  where: StreamTarget,
  maxBatch: number,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, streamActions)
  const effects: StreamEffect[] = []
  for (let i = 0; i < supported.length; i += maxBatch) {
    const batch = supported.slice(i, i + maxBatch)
    const itemIds = batch.map((b) => b.id)
    effects.push({
      type: 'stream',
      protocol: where.protocol,
      connectionRef: 'url',
      target: where.target,
      ...(where.exchange !== undefined ? { exchange: where.exchange } : {}),
      ...(where.maxLen !== undefined ? { maxLen: where.maxLen } : {}),
      messages: batch.map((input) => ({
        itemId: input.id,
        messageId: streamMessageId(ctx.destinationId, input.id),
        body: JSON.stringify(input),
      })),
      idempotencyKey: idempotencyKey(ctx.destinationId, `stream:${where.protocol}`, itemIds),
      itemIds,
    })
  }
  return { effects, skipped }
}
