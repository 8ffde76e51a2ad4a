import { describe, expect, it } from 'vitest'
import type { KindredEvent } from '../../protocol/event-schema.js'
import {
  actionsSchema,
  conditionSchema,
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
    // The spellings filters were saved with before the segments' language: read through the schema.
    const m = (op: string, path: string, value?: unknown) =>
      matchesCondition(e, conditionSchema.parse({ op, path, value }))
    expect(m('eq', 'properties.plan', 'pro')).toBe(true)
    expect(m('neq', 'properties.plan', 'pro')).toBe(false)
    expect(m('in', 'properties.plan', ['free', 'pro'])).toBe(true)
    expect(m('exists', 'properties.missing')).toBe(false)
    expect(m('notExists', 'properties.missing')).toBe(true)
    expect(m('contains', 'properties.tags', 'b')).toBe(true)
    expect(m('lt', 'properties.total', 50)).toBe(true)
    expect(m('lte', 'properties.plan', 3)).toBe(false)
  })

  it('speaks the segments condition language', () => {
    const e = event({
      properties: { total: '42', plan: 'Pro', items: [{ sku: 'a' }], at: '2026-01-02', v: null },
    })
    const m = (c: Record<string, unknown>) => matchesCondition(e, conditionSchema.parse(c))
    expect(m({ path: 'properties.total', op: 'gt', value: 41 })).toBe(true)
    expect(m({ path: 'properties.total', op: 'between', min: 40, max: 42 })).toBe(true)
    expect(m({ path: 'properties.plan', op: 'eq', value: 'pro', ignoreCase: true })).toBe(true)
    expect(m({ path: 'properties.plan', op: 'eq', value: 'pro' })).toBe(false)
    expect(m({ path: 'properties.plan', op: 'starts_with', value: 'Pr' })).toBe(true)
    expect(m({ path: 'properties.items.0.sku', op: 'in', values: ['a', 'b'] })).toBe(true)
    expect(m({ path: 'properties.v', op: 'not_exists' })).toBe(true)
    expect(m({ path: 'properties.plan', op: 'not_in', values: ['Free'] })).toBe(true)
    expect(
      m({ path: 'properties.at', op: 'date_after', date: { kind: 'absolute', at: '2026-01-01' } }),
    ).toBe(true)
    // Relative dates are read against the event's receivedAt, so a replay decides the same.
    expect(
      matchesForward(
        { where: [{ path: 'properties.at', op: 'date_within_last', amount: 2, unit: 'days' }] },
        { ...e, receivedAt: '2026-01-03T00:00:00.000Z' },
      ),
    ).toBe(true)
    expect(m({ path: 'constructor', op: 'exists' })).toBe(false)
  })

  it('reads filters saved with the old spellings, failing closed where none carries over', () => {
    const read = (c: Record<string, unknown>) => conditionSchema.parse(c)
    expect(read({ path: 'a', op: 'notExists' })).toEqual({ path: 'a', op: 'not_exists' })
    expect(read({ path: 'a', op: 'in', value: ['x', 1] })).toEqual({
      path: 'a',
      op: 'in',
      values: ['x', 1],
    })
    expect(read({ path: 'a', op: 'eq', value: null })).toEqual({ path: 'a', op: 'not_exists' })
    expect(read({ path: 'a', op: 'neq', value: null })).toEqual({ path: 'a', op: 'exists' })
    expect(read({ path: 'a', op: 'gte', value: '10' })).toEqual({ path: 'a', op: 'gte', value: 10 })
    expect(read({ path: 'a', op: 'lt', value: '2026-01-01' })).toMatchObject({
      op: 'date_before',
      date: { kind: 'absolute', at: '2026-01-01' },
    })
    const e = event({ properties: { o: { k: 1 } } })
    for (const c of [
      { path: 'properties.o', op: 'eq', value: { k: 1 } },
      { path: 'properties.o', op: 'contains', value: 1 },
      { path: 'properties.o', op: 'gt', value: 'abc' },
    ]) {
      const parsed = read(c)
      expect(matchesCondition(e, parsed), JSON.stringify(c)).toBe(false)
      expect(parsed).toMatchObject({ op: 'between', min: 1, max: 0 })
    }
    expect(
      actionsSchema.safeParse({
        forwardEvents: { mapping: { 'properties.__proto__.x': 'properties.total' } },
      }).success,
    ).toBe(false)
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
    const nested = applyMapping(e, { 'context.page.title': 'properties.plan' })
    expect(nested.context).toMatchObject({ locale: 'fr-FR', page: { title: 'pro' } })
    expect(e.context).not.toHaveProperty('page')
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
