/**
 * MQTT: publishes one JSON message per input to a topic with QoS 1 (at least once), so a message
 * counts as delivered once the broker answered its PUBLISH with PUBACK (MQTT 3.1.1, section 4.3.2).
 * Docs followed: https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html#_Toc398718101
 * and https://mosquitto.org/man/mqtt-7.html
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'
import { streamActions } from '../shared/stream-messages.js'

export const mqttSettings = z.object({
  url: z
    .string()
    .regex(/^mqtts?:\/\//, 'an mqtt:// or mqtts:// URL')
    .describe('mqtt://user:password@host:1883 of the broker (mqtts:// for TLS).'),
  topic: z
    .string()
    .min(1)
    .max(65535)
    .regex(/^[^#+]+$/, 'a topic without wildcards')
    .describe('Topic the messages are published to.'),
})
export type MqttSettings = z.infer<typeof mqttSettings>

export const manifest: DestinationManifest<typeof mqttSettings> = {
  id: 'builtin.mqtt',
  name: 'MQTT',
  description:
    'Publishes events, profile updates, audience changes and deletions to an MQTT topic with QoS 1.',
  category: 'stream',
  purpose: 'analytics',
  settings: mqttSettings,
  secretFields: ['url'],
  secretTransport: { url: 'connection' },
  endpointFields: { url: 'broker' },
  actions: streamActions,
  maxBatchSize: 100,
  rateLimit: 50,
  supportsDeletion: true,
  docs: [
    'https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html#_Toc398718101',
    'https://mosquitto.org/man/mqtt-7.html',
  ],
  vendorApi: { name: 'MQTT publish, QoS 1', version: '3.1.1' },
  limits: [
    'At most 100 messages per batch, each confirmed by its PUBACK.',
    'QoS 1 is at least once: consumers drop duplicates by the message id in the body.',
  ],
}
