/**
 * @module engine/effects/nats-publisher
 * NATS JetStream: `js.publish(subject, body, { msgID })` per message, so the stream drops a
 * retried duplicate inside its duplicate window, and the `PubAck` is the confirmation (a subject
 * no stream captures gets no responder: retryable). Reconnects and cluster discovery are off: the
 * connection goes only to the address the outbound guard checked.
 * https://docs.nats.io/nats-concepts/jetstream/streams#duplicates
 */
import { jetstream } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import type { StreamEffect } from '../../core/contract.js'
import type { BrokerEndpoint, MessageFailure, StreamPublisher } from './stream-executor.js'
import { failuresOf } from './stream-executor.js'

export async function connectNats(e: BrokerEndpoint): Promise<StreamPublisher> {
  const user = decodeURIComponent(e.url.username)
  const pass = decodeURIComponent(e.url.password)
  // TLS: nats.js names the server in the handshake by the host it dials and takes no
  // `servername`, so a TLS connection dials the checked name (just resolved and checked by the
  // guard) rather than the pinned address, or no certificate would verify.
  const host = e.tls ? e.target.host : e.urlHost
  const nc = await connect({
    servers: `${host}:${e.target.port}`,
    // nats://token@host carries a token; nats://user:pass@host a user and password.
    ...(user && pass ? { user, pass } : user ? { token: user } : {}),
    ...(e.tls ? { tls: {} } : {}),
    reconnect: false,
    ignoreClusterUpdates: true,
    timeout: e.connectTimeoutMs,
    name: 'kindred-destination',
  })
  let open = true
  void nc.closed().then(() => {
    open = false
  })
  const js = jetstream(nc)

  return {
    get open() {
      return open && !nc.isClosed()
    },
    async publish(effect: StreamEffect, timeoutMs: number): Promise<MessageFailure[]> {
      const settled = await Promise.allSettled(
        effect.messages.map((m) =>
          js.publish(effect.target, m.body, { msgID: m.messageId, timeout: timeoutMs }),
        ),
      )
      return failuresOf(effect.messages, settled)
    },
    async close() {
      open = false
      await nc.close().catch(() => undefined)
    },
  }
}
