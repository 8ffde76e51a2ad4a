import { describe, expect, it } from 'vitest'
import type { DestinationInput, StreamEffect } from '../contract.js'
import { runTransform } from '../registry.js'
import { rabbitmq } from '../rabbitmq/transform.js'
import { redisStreams } from '../redis-streams/transform.js'
import { nats } from '../nats/transform.js'
import { mqtt } from '../mqtt/transform.js'
import { redactEffectForLog } from '../secrets.js'
import type { AnyDestination } from '../contract.js'
import {
  SAMPLE_NOW,
  ada,
  sampleInputs,
  sampleSettings,
} from '../../../testing/destinations/samples.js'
import { streamMessageId } from './stream-messages.js'

const all = Object.values(sampleInputs)

function run(
  d: AnyDestination,
  inputs: DestinationInput[],
  settings = sampleSettings[d.manifest.id],
) {
  return runTransform(d, inputs, { settings, destinationId: 'dest_s', now: SAMPLE_NOW })
    .effects as StreamEffect[]
}

describe('stream destinations', () => {
  it('send each input as its own JSON message, with a message id stable across retries', () => {
    const [e] = run(rabbitmq as unknown as AnyDestination, all)
    expect(e?.messages.map((m) => JSON.parse(m.body) as unknown)).toEqual(all)
    expect(e?.messages.map((m) => m.messageId)).toEqual(
      all.map((i) => streamMessageId('dest_s', i.id)),
    )
    expect(new Set(e?.messages.map((m) => m.messageId)).size).toBe(all.length)
    // Another destination publishing the same job gets other ids (its consumers dedupe apart).
    expect(streamMessageId('dest_t', all[0]!.id)).not.toBe(e?.messages[0]?.messageId)
  })

  it('map their settings to the broker target', () => {
    const d = (x: unknown) => x as AnyDestination
    expect(
      run(d(rabbitmq), all, { ...sampleSettings['builtin.rabbitmq'], exchange: 'cdp' })[0],
    ).toMatchObject({
      protocol: 'amqp',
      exchange: 'cdp',
      target: 'kindred.events',
      connectionRef: 'url',
    })
    expect(run(d(redisStreams), all)[0]).toMatchObject({
      protocol: 'redis',
      target: 'kindred:events',
      maxLen: 100000,
    })
    expect(run(d(nats), all)[0]).toMatchObject({ protocol: 'nats', target: 'kindred.events' })
    expect(run(d(mqtt), all)[0]).toMatchObject({ protocol: 'mqtt', target: 'kindred/events' })
  })

  it('split more inputs than the batch size into several effects, losing none', () => {
    const many: DestinationInput[] = Array.from({ length: 250 }, (_, i) => ({
      kind: 'profile',
      id: `job_${i}`,
      profile: ada,
      changedTraits: ['plan'],
    }))
    const effects = run(nats as unknown as AnyDestination, many)
    expect(effects.map((e) => e.messages.length)).toEqual([100, 100, 50])
    expect(effects.flatMap((e) => e.itemIds)).toEqual(many.map((i) => i.id))
    expect(effects.flatMap((e) => e.messages.map((m) => m.itemId))).toEqual(many.map((i) => i.id))
  })

  it('refuse a broker URL of another protocol, and wildcard subjects and topics', () => {
    const bad = [
      [rabbitmq, { url: 'redis://h', routingKey: 'k' }],
      [redisStreams, { url: 'amqp://h', stream: 's' }],
      [nats, { url: 'nats://h', subject: 'a.*' }],
      [mqtt, { url: 'mqtt://h', topic: 'a/#' }],
    ] as const
    for (const [d, settings] of bad)
      expect(d.manifest.settings.safeParse(settings).success).toBe(false)
  })

  it('log where and how many, never the bodies', () => {
    const [e] = run(redisStreams as unknown as AnyDestination, all)
    const logged = redactEffectForLog(e!)
    expect(logged).toEqual({
      type: 'stream',
      protocol: 'redis',
      target: 'kindred:events',
      messageCount: all.length,
      itemIds: e!.itemIds,
      idempotencyKey: e!.idempotencyKey,
    })
    expect(JSON.stringify(logged)).not.toContain('Lovelace')
  })
})
