import type { Destination } from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { streamTransform } from '../shared/stream-messages.js'
import { manifest } from './manifest.js'

export const nats: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform: (inputs, ctx) =>
    streamTransform(
      inputs,
      ctx,
      { protocol: 'nats', target: ctx.settings.subject },
      manifest.maxBatchSize,
    ),
  // Stream effects are judged by the executor (JetStream acks); this reads HTTP answers only.
  classifyResponse: defaultClassify,
})
