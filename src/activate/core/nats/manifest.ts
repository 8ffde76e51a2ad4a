/**
 * NATS JetStream: publishes one message per input to a subject that a JetStream stream captures,
 * with the `Nats-Msg-Id` header set to the message id, so the server drops a retried duplicate
 * inside the stream's duplicate window; a message counts as delivered once JetStream acked it
 * (a publish no stream captures has no responder and is retried).
 * Docs followed: https://docs.nats.io/nats-concepts/jetstream/streams#duplicates and
 * https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'
import { streamActions } from '../shared/stream-messages.js'

export const natsSettings = z.object({
  url: z
    .string()
    .regex(/^(nats|tls):\/\//, 'a nats:// or tls:// URL')
    .describe(
      'nats://user:password@host:4222 (or nats://token@host) of the server; tls:// for TLS.',
    ),
  subject: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s*>]+$/, 'a subject without spaces or wildcards')
    .describe('Subject the messages are published to (a JetStream stream must capture it).'),
})
export type NatsSettings = z.infer<typeof natsSettings>

export const manifest: DestinationManifest<typeof natsSettings> = {
  id: 'builtin.nats',
  name: 'NATS JetStream',
  description:
    'Publishes events, profile updates, audience changes and deletions to a JetStream subject, deduplicated by message id.',
  category: 'stream',
  purpose: 'analytics',
  settings: natsSettings,
  secretFields: ['url'],
  secretTransport: { url: 'connection' },
  endpointFields: { url: 'broker' },
  actions: streamActions,
  maxBatchSize: 100,
  rateLimit: 50,
  supportsDeletion: true,
  docs: [
    'https://docs.nats.io/nats-concepts/jetstream/streams#duplicates',
    'https://docs.nats.io/using-nats/developer/develop_jetstream/model_deep_dive#message-deduplication',
  ],
  vendorApi: { name: 'NATS JetStream publish', version: 'JetStream (nats-server 2.2+)' },
  limits: [
    'At most 100 messages per batch, each confirmed by its PubAck.',
    '`Nats-Msg-Id` deduplicates retries inside the duplicate window of the stream.',
  ],
}
