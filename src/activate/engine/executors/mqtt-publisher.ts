/**
 * @module engine/effects/mqtt-publisher
 * MQTT 3.1.1 at QoS 1: each PUBLISH counts once its PUBACK arrived. Reconnects are off; when the
 * connection drops, the client is ended so pending publishes fail (and are retried) instead of
 * waiting. https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html#_Toc398718101
 */
import { randomBytes } from 'node:crypto'
import mqtt from 'mqtt'
import type { StreamEffect } from '../../core/contract.js'
import type { BrokerEndpoint, MessageFailure, StreamPublisher } from './stream-executor.js'
import { failuresOf } from './stream-executor.js'

export async function connectMqtt(e: BrokerEndpoint): Promise<StreamPublisher> {
  const client = await mqtt.connectAsync({
    host: e.address,
    port: e.target.port,
    protocol: e.tls ? 'mqtts' : 'mqtt',
    ...(e.tls ? { servername: e.target.host } : {}),
    ...(e.url.username ? { username: decodeURIComponent(e.url.username) } : {}),
    ...(e.url.password ? { password: decodeURIComponent(e.url.password) } : {}),
    clientId: `kindred-${randomBytes(8).toString('hex')}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: e.connectTimeoutMs,
  })
  let open = true
  const fail = () => {
    open = false
    client.end(true)
  }
  client.on('close', fail)
  client.on('error', fail)
  client.on('offline', fail)

  return {
    get open() {
      return open && client.connected
    },
    async publish(effect: StreamEffect): Promise<MessageFailure[]> {
      const settled = await Promise.allSettled(
        effect.messages.map((m) => client.publishAsync(effect.target, m.body, { qos: 1 })),
      )
      return failuresOf(effect.messages, settled)
    },
    async close() {
      open = false
      await client.endAsync(true).catch(() => undefined)
    },
  }
}
