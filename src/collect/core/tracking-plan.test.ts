import { describe, expect, it } from 'vitest'
import type { KindredEvent } from '../../protocol/event-schema.js'
import {
  compilePlan,
  createPlanCache,
  PlanSchemaError,
  trackingPlanSchema,
} from './tracking-plan.js'

function track(event: string, properties: Record<string, unknown>): KindredEvent {
  return {
    messageId: 'm',
    type: 'track',
    event,
    properties,
    traits: {},
    context: {},
    integrations: {},
    timestamp: '2026-01-01T00:00:00.000Z',
    originalTimestamp: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:00.000Z',
  }
}

const orderSchema = {
  type: 'object',
  required: ['total'],
  properties: { total: { type: 'number' }, email: { type: 'string', format: 'email' } },
  additionalProperties: false,
}

describe('compilePlan', () => {
  const plan = trackingPlanSchema.parse({
    mode: 'quarantine',
    unplannedEvents: 'flag',
    events: { 'Order Completed': orderSchema },
    identify: { type: 'object', properties: { age: { type: 'integer', minimum: 0 } } },
  })
  const compiled = compilePlan(plan, 1)

  it('passes conforming events and names each failing path and keyword', () => {
    expect(compiled.check(track('Order Completed', { total: 9.5 })).action).toBe('pass')
    const v = compiled.check(track('Order Completed', { email: 'nope', extra: 1 }))
    expect(v.action).toBe('quarantine')
    if (v.action === 'pass') return
    expect(v.violations.map((x) => `${x.path}:${x.keyword}`).sort()).toEqual([
      'properties.email:format',
      'properties.extra:additionalProperties',
      'properties.total:required',
    ])
  })

  it('applies unplannedEvents to unknown track names and the identify schema to traits', () => {
    expect(compiled.check(track('Unknown', {}))).toEqual({
      action: 'flag',
      violations: [
        {
          path: 'event',
          keyword: 'unplanned',
          message: 'event "Unknown" is not in the tracking plan',
        },
      ],
    })
    const identify = { ...track('', {}), type: 'identify' as const, traits: { age: -1 } }
    const v = compiled.check(identify)
    expect(v.action).toBe('quarantine')
    if (v.action !== 'pass') expect(v.violations[0]?.path).toBe('traits.age')
    expect(compiled.check({ ...identify, traits: { age: 3 } }).action).toBe('pass')
    expect(compiled.check({ ...identify, type: 'page' }).action).toBe('pass')
  })

  it('mode allow checks nothing but unplanned events still follow unplannedEvents', () => {
    const allow = compilePlan(trackingPlanSchema.parse({ ...plan, mode: 'allow' }), 2)
    expect(allow.check(track('Order Completed', {})).action).toBe('pass')
    expect(allow.check(track('Other', {})).action).toBe('flag')
  })

  it('refuses a schema that does not compile, naming it', () => {
    const bad = trackingPlanSchema.parse({ events: { X: { type: 'nonsense' } } })
    expect(() => compilePlan(bad, 1)).toThrow(PlanSchemaError)
    expect(() => compilePlan(bad, 1)).toThrow(/events\.X/)
  })
})

describe('createPlanCache', () => {
  it('compiles once per source and version and forgets older versions', () => {
    const cache = createPlanCache()
    let loads = 0
    const load = () => {
      loads++
      return trackingPlanSchema.parse({ events: { A: true } })
    }
    const a = cache.get('src_1', 1, load)
    expect(cache.get('src_1', 1, load)).toBe(a)
    expect(loads).toBe(1)
    cache.get('src_1', 2, load)
    expect(loads).toBe(2)
    expect(cache.has('src_1', 1)).toBe(false)
    expect(cache.size).toBe(1)
  })
})
