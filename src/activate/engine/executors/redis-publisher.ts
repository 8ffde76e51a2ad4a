/**
 * @module engine/effects/redis-publisher
 * Redis Streams: one `XADD <key> [MAXLEN ~ n] * id <message id> body <json>` per message, sent
 * pipelined (node-redis writes commands issued in one tick together); the reply (the new entry
 * id) is the confirmation. Offline queueing and reconnects are off: a command on a broken
 * connection fails at once instead of waiting. https://redis.io/docs/latest/commands/xadd/
 */
import { createClient } from 'redis'
import type { StreamEffect } from '../../core/contract.js'
import type { BrokerEndpoint, MessageFailure, StreamPublisher } from './stream-executor.js'
import { failuresOf } from './stream-executor.js'

export async function connectRedis(e: BrokerEndpoint): Promise<StreamPublisher> {
  const db = e.url.pathname.replace(/^\//, '')
  const common = {
    host: e.address,
    port: e.target.port,
    connectTimeout: e.connectTimeoutMs,
    reconnectStrategy: false as const,
  }
  const client = createClient({
    socket: e.tls ? { ...common, tls: true as const, servername: e.target.host } : common,
    ...(e.url.username ? { username: decodeURIComponent(e.url.username) } : {}),
    ...(e.url.password ? { password: decodeURIComponent(e.url.password) } : {}),
    ...(/^\d+$/.test(db) ? { database: Number(db) } : {}),
    disableOfflineQueue: true,
  })
  let open = true
  client.on('error', () => {
    open = false
  })
  client.on('end', () => {
    open = false
  })
  await client.connect()

  return {
    get open() {
      return open && client.isReady
    },
    async publish(effect: StreamEffect): Promise<MessageFailure[]> {
      const trim = effect.maxLen
        ? {
            TRIM: {
              strategy: 'MAXLEN' as const,
              strategyModifier: '~' as const,
              threshold: effect.maxLen,
            },
          }
        : undefined
      const settled = await Promise.allSettled(
        effect.messages.map((m) =>
          client.xAdd(effect.target, '*', { id: m.messageId, body: m.body }, trim),
        ),
      )
      return failuresOf(effect.messages, settled)
    },
    async close() {
      open = false
      if (client.isOpen) await client.close().catch(() => client.destroy())
    },
  }
}
