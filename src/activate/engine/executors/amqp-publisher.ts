/**
 * @module engine/effects/amqp-publisher
 * RabbitMQ (AMQP 0-9-1) on a confirm channel: persistent messages published `mandatory`, so a
 * message no queue would take comes back (`basic.return`, sent before its ack) and is refused
 * rather than counted as delivered; a `basic.nack` is refused too.
 * https://www.rabbitmq.com/docs/confirms#publisher-confirms
 */
import amqp from 'amqplib'
import type { StreamEffect } from '../../core/contract.js'
import type { BrokerEndpoint, MessageFailure, StreamPublisher } from './stream-executor.js'
import { failuresOf } from './stream-executor.js'

export async function connectAmqp(e: BrokerEndpoint): Promise<StreamPublisher> {
  // amqplib reads user, password and vhost from the URL as the URI spec says; only the host is
  // replaced by the checked address (TLS still checks the certificate against the name).
  const url = new URL(e.url.href)
  url.hostname = e.urlHost
  url.port = String(e.target.port)
  const conn = await amqp.connect(url.href, {
    ...(e.tls ? { servername: e.target.host } : {}),
    timeout: e.connectTimeoutMs,
  })
  let open = true
  const closed = () => {
    open = false
  }
  conn.on('error', closed)
  conn.on('close', closed)
  const channel = await conn.createConfirmChannel()
  channel.on('error', closed)
  channel.on('close', closed)
  const returned = new Set<string>()
  channel.on('return', (msg: amqp.Message) => {
    const id: unknown = msg.properties.messageId
    if (typeof id === 'string') returned.add(id)
  })

  return {
    get open() {
      return open
    },
    async publish(effect: StreamEffect): Promise<MessageFailure[]> {
      const settled = await Promise.allSettled(
        effect.messages.map(
          (m) =>
            new Promise<void>((resolve, reject) => {
              channel.publish(
                effect.exchange ?? '',
                effect.target,
                Buffer.from(m.body),
                {
                  persistent: true,
                  mandatory: true,
                  messageId: m.messageId,
                  contentType: 'application/json',
                },
                (err: unknown) => {
                  if (err) reject(new Error('the broker nacked the message'))
                  else if (returned.delete(m.messageId))
                    reject(
                      new Error(
                        `no queue is bound to ${effect.exchange || '(default exchange)'} / ${effect.target}`,
                      ),
                    )
                  else resolve()
                },
              )
            }),
        ),
      )
      return failuresOf(effect.messages, settled)
    },
    async close() {
      open = false
      await conn.close().catch(() => undefined)
    },
  }
}
