/**
 * Redis Streams: appends one entry per input to a stream with `XADD <key> [MAXLEN ~ n] * id
 * <message id> body <json>`, pipelined per batch; an entry counts as delivered once Redis
 * answered its XADD with the new entry id.
 * Docs followed: https://redis.io/docs/latest/commands/xadd/ and
 * https://redis.io/docs/latest/develop/data-types/streams/
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'
import { streamActions } from '../shared/stream-messages.js'

export const redisStreamsSettings = z.object({
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .describe('redis://user:password@host:6379/0 of the server (rediss:// for TLS).'),
  stream: z.string().min(1).max(512).describe('Key of the stream the entries are appended to.'),
  maxLen: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Approximate length the stream is trimmed to (XADD MAXLEN ~); none when empty.'),
})
export type RedisStreamsSettings = z.infer<typeof redisStreamsSettings>

export const manifest: DestinationManifest<typeof redisStreamsSettings> = {
  id: 'builtin.redis-streams',
  name: 'Redis Streams',
  description:
    'Appends events, profile updates, audience changes and deletions to a Redis stream (XADD).',
  category: 'stream',
  purpose: 'analytics',
  settings: redisStreamsSettings,
  secretFields: ['url'],
  secretTransport: { url: 'connection' },
  endpointFields: { url: 'broker' },
  actions: streamActions,
  maxBatchSize: 100,
  rateLimit: 50,
  supportsDeletion: true,
  docs: [
    'https://redis.io/docs/latest/commands/xadd/',
    'https://redis.io/docs/latest/develop/data-types/streams/',
  ],
  vendorApi: { name: 'Redis Streams (XADD)', version: 'Redis 5+' },
  limits: [
    'At most 100 XADD commands per pipeline; the reply to each is its confirmation.',
    '`maxLen` trims the stream approximately (MAXLEN ~).',
  ],
}
