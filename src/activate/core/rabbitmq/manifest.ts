/**
 * RabbitMQ (AMQP 0-9-1): publishes one persistent JSON message per input to an exchange with a
 * routing key (the default exchange `""` routes by queue name), on a confirm channel, so a message
 * counts as delivered only once the broker acknowledged it (a `basic.nack` is retried).
 * Docs followed: https://www.rabbitmq.com/docs/confirms#publisher-confirms ,
 * https://www.rabbitmq.com/docs/uri-spec and https://www.rabbitmq.com/amqp-0-9-1-reference#basic.publish
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'
import { streamActions } from '../shared/stream-messages.js'

export const rabbitmqSettings = z.object({
  url: z
    .string()
    .regex(/^amqps?:\/\//, 'an amqp:// or amqps:// URL')
    .describe('amqp://user:password@host:5672/vhost of the broker (amqps:// for TLS).'),
  exchange: z
    .string()
    .max(255)
    .default('')
    .describe('Exchange to publish to; empty: the default exchange (routing key = queue name).'),
  routingKey: z
    .string()
    .min(1)
    .max(255)
    .describe('Routing key of every message (the queue name with the default exchange).'),
})
export type RabbitmqSettings = z.infer<typeof rabbitmqSettings>

export const manifest: DestinationManifest<typeof rabbitmqSettings> = {
  id: 'builtin.rabbitmq',
  name: 'RabbitMQ',
  description:
    'Publishes events, profile updates, audience changes and deletions as persistent AMQP 0-9-1 messages, with publisher confirms.',
  category: 'stream',
  purpose: 'analytics',
  settings: rabbitmqSettings,
  secretFields: ['url'],
  secretTransport: { url: 'connection' },
  endpointFields: { url: 'broker' },
  actions: streamActions,
  maxBatchSize: 100,
  rateLimit: 50,
  supportsDeletion: true,
  docs: [
    'https://www.rabbitmq.com/docs/confirms#publisher-confirms',
    'https://www.rabbitmq.com/docs/uri-spec',
    'https://www.rabbitmq.com/amqp-0-9-1-reference#basic.publish',
  ],
  vendorApi: { name: 'RabbitMQ AMQP 0-9-1 (publisher confirms)', version: '0-9-1' },
  limits: [
    'At most 100 messages per confirm round; a message is delivered only once the broker confirms it.',
    'Unroutable messages (mandatory publish returned) are retried, never counted delivered.',
  ],
}
