import { describe, expect, it } from 'vitest'
import type { KindredEvent } from '../../protocol/event-schema.js'
import {
  actionsSchema,
  applyMapping,
  matchesCondition,
  matchesForward,
} from './destination-config.js'
import { changedTraitNames } from '../engine/destinations-stage.js'
import { TokenBucket } from '../../platform/jobs/token-bucket.js'
import { dispatcherOptionsFromEnv } from '../destinations-module.js'

const event = (over: Partial<KindredEvent> = {}): KindredEvent => ({
  messageId: 'm1',
  type: 'track',
  event: 'Order Completed',
  properties: { total: 42, plan: 'pro', tags: ['a', 'b'] },
  traits: {},
  context: { locale: 'fr-FR' },
  integrations: {},
  timestamp: '2026-01-01T00:00:00.000Z',
  originalTimestamp: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:00.000Z',
  ...over,
})

describe('forwardEvents filter', () => {
  it('matches names, types and every condition', () => {
    const e = event()
    expect(matchesForward({}, e)).toBe(true)
    expect(matchesForward({ events: ['Order Completed'] }, e)).toBe(true)
    expect(matchesForward({ events: ['Other'] }, e)).toBe(false)
    expect(matchesForward({ types: ['identify'] }, e)).toBe(false)
    expect(
      matchesForward({ events: ['Home'] }, event({ type: 'page', event: undefined, name: 'Home' })),
    ).toBe(true)
    expect(
      matchesForward(
        {
          where: [
            { path: 'properties.total', op: 'gte', value: 42 },
            { path: 'context.locale', op: 'contains', value: 'fr' },
          ],
        },
        e,
      ),
    ).toBe(true)
    expect(matchesForward({ where: [{ path: 'properties.total', op: 'gt', value: 42 }] }, e)).toBe(
      false,
    )
  })

  it('evaluates each operator', () => {
    const e = event()
    const m = (op: string, path: string, value?: unknown) =>
      matchesCondition(e, { op: op as never, path, value })
    expect(m('eq', 'properties.plan', 'pro')).toBe(true)
    expect(m('neq', 'properties.plan', 'pro')).toBe(false)
    expect(m('in', 'properties.plan', ['free', 'pro'])).toBe(true)
    expect(m('exists', 'properties.missing')).toBe(false)
    expect(m('notExists', 'properties.missing')).toBe(true)
    expect(m('contains', 'properties.tags', 'b')).toBe(true)
    expect(m('lt', 'properties.total', 50)).toBe(true)
    expect(m('lte', 'properties.plan', 3)).toBe(false)
  })

  it('applies the mapping to a copy', () => {
    const e = event()
    const out = applyMapping(e, {
      'properties.revenue': 'properties.total',
      'traits.locale': 'context.locale',
    })
    expect(out.properties).toMatchObject({ total: 42, revenue: 42 })
    expect(out.traits).toEqual({ locale: 'fr-FR' })
    expect(e.properties).not.toHaveProperty('revenue')
  })

  it('validates the actions shape and defaults mirror to true', () => {
    expect(actionsSchema.parse({ syncAudience: { segmentIds: ['s'] } }).syncAudience?.mirror).toBe(
      true,
    )
    expect(
      actionsSchema.safeParse({ forwardEvents: { where: [{ path: 'a..b', op: 'eq' }] } }).success,
    ).toBe(false)
  })
})

describe('changedTraitNames', () => {
  it('lists added, changed and removed traits', () => {
    expect(changedTraitNames(null, { a: 1 })).toEqual(['a'])
    expect(changedTraitNames({ a: 1, b: 2, c: 3 }, { a: 1, b: 5, d: 4 })).toEqual(['b', 'c', 'd'])
    expect(changedTraitNames({ a: { x: 1 } }, { a: { x: 1 } })).toEqual([])
  })
})

describe('TokenBucket', () => {
  it('allows a burst, then waits for refills at the configured rate', async () => {
    let now = 0
    const waits: number[] = []
    const bucket = new TokenBucket(
      2,
      2,
      () => now,
      async (ms) => {
        waits.push(ms)
        now += ms
      },
    )
    await bucket.take()
    await bucket.take()
    expect(waits).toEqual([])
    await bucket.take()
    expect(waits).toEqual([500])
    await bucket.take(3)
    expect(now).toBe(1000)
    await bucket.take()
    // The balance went to -2 after taking 3: it needs 1.5 s to reach one token again.
    expect(now).toBe(2500)
  })
})

describe('dispatcherOptionsFromEnv', () => {
  it('reads positive numbers and ignores the rest', () => {
    expect(
      dispatcherOptionsFromEnv({
        KINDRED_DISPATCHER_BASE_DELAY_MS: '50',
        KINDRED_DISPATCHER_MAX_ATTEMPTS: '3',
        KINDRED_DISPATCHER_POLL_MS: 'soon',
      }),
    ).toEqual({ baseDelayMs: 50, maxAttempts: 3 })
  })
})
