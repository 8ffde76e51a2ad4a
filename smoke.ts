import { startTestKindred } from './src/testing/test-server.js'
import { createLakeModule } from './src/platform/lake/lake-module.js'
import type { LakeWriter } from './src/platform/lake/lake-writer.js'
const dir = '/tmp/lk/docs-lake'
let writer!: LakeWriter
const k = await startTestKindred({ modules: [createLakeModule({ dir, onWriter: (w) => (writer = w) })] })
const { writeKey } = await k.createSource()
for (let round = 0; round < 12; round++) {
  const batch = []
  for (let i = 0; i < 20; i++) batch.push({ type: 'track', event: i % 2 ? 'Order Completed' : 'Product Viewed', userId: `u${i % 7}`, properties: { revenue: 19.99 + i, currency: 'EUR' }, timestamp: `2024-01-0${1 + (i % 3)}T10:00:00.123Z` })
  await k.track(writeKey, '/v1/batch', { batch })
  await k.kindred.processor!.drain()
  await writer.flush()
}
await k.close()
