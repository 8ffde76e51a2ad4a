import type { Destination } from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { streamTransform } from '../shared/stream-messages.js'
import { manifest } from './manifest.js'

export const redisStreams: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform: (inputs, ctx) =>
    streamTransform(
      inputs,
      ctx,
      {
        protocol: 'redis',
        target: ctx.settings.stream,
        ...(ctx.settings.maxLen !== undefined ? { maxLen: ctx.settings.maxLen } : {}),
      },
      manifest.maxBatchSize,
    ),
  // Stream effects are judged by the executor (XADD replies); this reads HTTP answers only.
  classifyResponse: defaultClassify,
})
