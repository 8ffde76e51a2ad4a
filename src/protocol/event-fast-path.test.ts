import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { isCertainlyValidEvent } from './event-fast-path.js'
import { incomingEventSchema, normalizeEvent, quickCheckEvent } from './event-schema.js'

const str = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', '2026-01-01T00:00:00Z', 'not a date', 'x'.repeat(600)),
)
const value = fc.oneof(
  str,
  fc.integer(),
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
)
const context = fc.oneof(
  value,
  fc.record(
    {
      ip: value,
      userAgent: value,
      locale: value,
      library: fc.oneof(value, fc.record({ name: value, version: value }, { requiredKeys: [] })),
      page: value,
      traits: value,
      externalIds: fc.oneof(
        value,
        fc.array(fc.record({ id: value, type: value }), { maxLength: 2 }),
      ),
    },
    { requiredKeys: [] },
  ),
)
// Mostly absent or plausible, sometimes wild: so the fast path is exercised near its edges.
const field = (good: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: good },
    { weight: 1, arbitrary: value },
  )
const goodStr = fc.string({ minLength: 1, maxLength: 6 })
const goodObj = fc.dictionary(
  fc.string({ maxLength: 3 }),
  fc.oneof(fc.integer(), fc.string({ maxLength: 3 })),
  { maxKeys: 2 },
)
const goodTime = fc.constantFrom('2026-01-01T00:00:00Z', '2025-06-01T10:00:00.123+02:00')
const event = fc
  .record({
    type: fc.oneof(
      fc.constantFrom('track', 'identify', 'page', 'screen', 'group', 'alias', 'bogus'),
      value,
    ),
    event: field(goodStr),
    name: field(fc.oneof(goodStr, fc.constant(null))),
    category: field(goodStr),
    messageId: field(goodStr),
    userId: field(fc.oneof(goodStr, fc.constant(null))),
    anonymousId: field(goodStr),
    previousId: field(goodStr),
    groupId: field(goodStr),
    timestamp: field(goodTime),
    originalTimestamp: field(goodTime),
    sentAt: field(goodTime),
    properties: field(goodObj),
    traits: field(goodObj),
    integrations: field(goodObj),
    channel: field(fc.constantFrom('server', 'browser')),
    context: field(context),
    extra: value,
  })
  .map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)))

describe('fast event check', () => {
  it('never accepts what the zod schema rejects, and normalises the same way as zod', () => {
    let accepted = 0
    fc.assert(
      fc.property(event, (e) => {
        if (!isCertainlyValidEvent(e)) return
        accepted++
        const parsed = incomingEventSchema.safeParse(e)
        expect(parsed.success).toBe(true)
        // Both paths (fast and schema) must give the same canonical event.
        const opts = {
          receivedAt: new Date('2026-02-01T00:00:00Z'),
          newMessageId: () => 'generated',
        }
        const viaFast = normalizeEvent(e, undefined, opts)
        const viaZod = normalizeEvent(
          JSON.parse(JSON.stringify(parsed.success ? parsed.data : null)),
          undefined,
          opts,
        )
        expect(JSON.parse(JSON.stringify(viaFast))).toEqual(viaZod)
      }),
      { numRuns: 3_000 },
    )
    // The generator must exercise the fast path, or the property proves nothing.
    expect(accepted).toBeGreaterThan(20)
  })

  it('quickCheckEvent vouches only for events normalizeEvent accepts, and knows when it makes an id', () => {
    fc.assert(
      fc.property(event, (e) => {
        const quick = quickCheckEvent(e)
        if (quick === undefined) return
        let made = 0
        const r = normalizeEvent(e, undefined, {
          receivedAt: new Date('2026-01-01T00:00:00.000Z'),
          newMessageId: () => `made-${++made}`,
        })
        expect(r.ok).toBe(true)
        expect(made).toBe(quick.needsId ? 1 : 0)
      }),
      { numRuns: 2000 },
    )
  })

  it('accepts the common SDK shapes', () => {
    expect(
      isCertainlyValidEvent({
        type: 'track',
        event: 'A',
        userId: 'u',
        properties: {},
        context: { library: { name: 'x', version: '1' } },
      }),
    ).toBe(true)
    expect(
      isCertainlyValidEvent({ type: 'identify', anonymousId: 'a', traits: { email: 'a@b.c' } }),
    ).toBe(true)
    expect(isCertainlyValidEvent({ type: 'track', event: '', userId: 'u' })).toBe(false)
    expect(isCertainlyValidEvent({ type: 'track', event: 'A', userId: 7 })).toBe(false)
  })
})

describe('timestamps', () => {
  it('keeps canonical timestamps, normalises the rest and refuses days past the month end', () => {
    const opts = { receivedAt: new Date('2026-03-01T00:00:00.000Z'), newMessageId: () => 'm' }
    const norm = (timestamp: string) => {
      const r = normalizeEvent(
        { type: 'track', event: 'E', userId: 'u', timestamp },
        undefined,
        opts,
      )
      if (!r.ok) throw new Error('rejected')
      return r.event.timestamp
    }
    expect(norm('2026-01-05T10:00:00.000Z')).toBe('2026-01-05T10:00:00.000Z')
    expect(norm('2026-01-05T12:00:00+02:00')).toBe('2026-01-05T10:00:00.000Z')
    // V8 would roll these over into March; they are refused instead of stored as another day.
    expect(() => norm('2026-02-30T00:00:00.000Z')).toThrow('rejected')
    expect(norm('2028-02-29T00:00:00.000Z')).toBe('2028-02-29T00:00:00.000Z')
    expect(norm('2026-01-31T23:59:59.999Z')).toBe('2026-01-31T23:59:59.999Z')
  })
})
