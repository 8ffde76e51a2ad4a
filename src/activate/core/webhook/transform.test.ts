import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SAMPLE_NOW, sampleInputs } from '../../../testing/destinations/samples.js'
import { webhookSettings } from './manifest.js'
import { signWebhook, transform } from './transform.js'

const settings = webhookSettings.parse({
  url: 'https://r.example.com/hook',
  signingSecret: 'whsec_0123456789abcdef',
})
const ctx = { settings, destinationId: 'd1', now: SAMPLE_NOW }

describe('webhook transform', () => {
  it('sends one signed request per item by default', () => {
    const { effects } = transform([sampleInputs.event, sampleInputs.profile], ctx)
    expect(effects).toHaveLength(2)
    const e = effects[0]!
    if (e.type !== 'http') throw new Error('http expected')
    const ts = e.headers['x-kindred-timestamp']!
    const mac = createHmac('sha256', 'whsec_0123456789abcdef')
      .update(`${ts}.${e.body}`)
      .digest('hex')
    expect(e.headers['x-kindred-signature']).toBe(`v1=${mac}`)
    expect(JSON.parse(e.body!)).toEqual(sampleInputs.event)
    expect(e.headers['idempotency-key']).toBe(e.idempotencyKey)
  })

  it('batches into {"batch":[…]} when asked, and omits the signature without a secret', () => {
    const { effects } = transform([sampleInputs.event, sampleInputs.delete], {
      ...ctx,
      settings: webhookSettings.parse({ url: 'https://r.example.com/hook', batch: true }),
    })
    expect(effects).toHaveLength(1)
    const e = effects[0]!
    if (e.type !== 'http') throw new Error('http expected')
    expect(e.itemIds).toEqual(['job_1', 'job_6'])
    expect(JSON.parse(e.body!).batch).toHaveLength(2)
    expect(e.headers).not.toHaveProperty('x-kindred-signature')
  })

  it('signature changes with the body or the timestamp', () => {
    const a = signWebhook('s', 1, '{}')
    expect(signWebhook('s', 2, '{}')).not.toBe(a)
    expect(signWebhook('s', 1, '{ }')).not.toBe(a)
  })
})
