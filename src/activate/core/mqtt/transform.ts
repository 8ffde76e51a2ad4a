import type { Destination } from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { streamTransform } from '../shared/stream-messages.js'
import { manifest } from './manifest.js'

export const mqtt: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform: (inputs, ctx) =>
    streamTransform(
      inputs,
      ctx,
      { protocol: 'mqtt', target: ctx.settings.topic },
      manifest.maxBatchSize,
    ),
  // Stream effects are judged by the executor (PUBACKs); this reads HTTP answers only.
  classifyResponse: defaultClassify,
})
