/**
 * Computed traits: incremental application (random batch cuts, advancing clocks), expiry,
 * merges and the SQL backfill all land on the state and value of `recompute`.
 */
import type { PGlite } from '@electric-sql/pglite'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  arbEvent,
  arbPropertyFilter,
  insertEvents,
  migratedDb,
  NOW_MS,
} from '../../../testing/segments-harness.js'
import { isTimeDependent } from '../segments/value-condition.js'
import { compileComputedTraitBackfill } from './compile-sql.js'
import {
  AGGREGATES,
  computedTraitDefinitionSchema,
  PROPERTY_AGGREGATES,
  type ComputedTraitDefinition,
} from './definition.js'
import {
  applyEvents,
  emptyState,
  expire,
  mergeStates,
  recompute,
  valueOf,
  type TraitEvent,
  type TraitState,
} from './incremental.js'

const arbDefOf = (
  aggregates: readonly (typeof AGGREGATES)[number][],
): fc.Arbitrary<ComputedTraitDefinition> =>
  fc
    .record(
      {
        aggregate: fc.constantFrom(...aggregates),
        event: fc.record(
          {
            event: fc.constantFrom('A', 'B'),
            type: fc.constant('track' as const),
            where: fc.array(
              arbPropertyFilter.filter((f) => !isTimeDependent(f.condition)),
              { maxLength: 1 },
            ),
          },
          { requiredKeys: [] },
        ),
        property: fc.constantFrom<string | string[]>('p', 'q', ['o', 'k']),
        window: fc.record({
          amount: fc.integer({ min: 1, max: 5 }),
          unit: fc.constantFrom('minutes' as const, 'hours' as const, 'days' as const),
        }),
        limit: fc.integer({ min: 1, max: 3 }),
      },
      { requiredKeys: ['aggregate', 'event'] },
    )
    .map((d) => {
      const def = { ...d }
      if (!PROPERTY_AGGREGATES.has(def.aggregate)) delete def.property
      else def.property ??= 'p'
      return def as ComputedTraitDefinition
    })
const arbDef = arbDefOf(AGGREGATES)

/** Few distinct timestamps, so that ties (broken by messageId) are common. */
const arbTieMs = fc.constantFrom(-86_400_000, -3_600_000, -60_000, 0, 60_000).map((o) => NOW_MS + o)
const arbEvents = fc
  .array(
    fc
      .tuple(arbEvent, fc.option(arbTieMs, { freq: 2 }))
      .map(([e, tie]) => ({ ...e, ms: tie ?? e.ms })),
    { maxLength: 12 },
  )
  .map((es) =>
    es.map((e, i): TraitEvent & { ms: number; name: string | null } => ({
      ...e,
      timestamp: e.ms,
      messageId: `m${(i * 7) % 5}-${i}`,
    })),
  )

/** Deep equality where numbers may differ by float rounding (sums added in another order). */
function approx(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => approx(x, b[i]))
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return (
      approx(ka, kb) &&
      ka.every((k) => approx((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return Object.is(a, b) || a === b
}

function expectApprox(actual: unknown, expected: unknown): void {
  if (!approx(actual, expected)) expect(actual).toEqual(expected)
}

describe('computed traits: incremental = recompute', () => {
  it('random batch cuts with an advancing clock, then expiry', () => {
    fc.assert(
      fc.property(
        arbDef,
        arbEvents,
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.array(fc.integer({ min: 0, max: 3 * 86_400_000 }), { minLength: 5, maxLength: 5 }),
        (def, events, cuts, lags) => {
          expect(computedTraitDefinitionSchema.safeParse(def).success).toBe(true)
          const now = new Date(NOW_MS)
          const bounds = [...new Set(cuts.map((c) => c % (events.length + 1)))].sort(
            (a, b) => a - b,
          )
          const batches: TraitEvent[][] = []
          let prev = 0
          for (const c of [...bounds, events.length]) {
            batches.push(events.slice(prev, c))
            prev = c
          }
          // Earlier batches are applied at earlier clocks (non-decreasing, all ≤ now).
          const clocks = batches.map((_, i) => NOW_MS - (lags[i] ?? 0)).sort((a, b) => a - b)
          let state: TraitState = emptyState()
          batches.forEach((batch, i) => {
            state = applyEvents(def, state, batch, new Date(clocks[i] as number)).state
          })
          const got = expire(def, state, now)
          const want = recompute(def, events, now)
          expectApprox(got.state, want.state)
          expectApprox(got.value, want.value)
          expectApprox(valueOf(def, got.state, now), want.value)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('merging two profiles equals recomputing their events together', () => {
    fc.assert(
      fc.property(arbDef, arbEvents, arbEvents, (def, a, b) => {
        const now = new Date(NOW_MS)
        const bb = b.map((e) => ({ ...e, messageId: `b-${e.messageId}` }))
        const merged = mergeStates(def, recompute(def, a, now).state, recompute(def, bb, now).state)
        const want = recompute(def, [...a, ...bb], now)
        expectApprox(merged, want.state)
        expectApprox(valueOf(def, merged, now), want.value)
      }),
      { numRuns: 300 },
    )
  })

  it('expiry alone moves windowed values as time passes', () => {
    const def: ComputedTraitDefinition = {
      aggregate: 'count',
      event: { event: 'A' },
      window: { amount: 2, unit: 'days' },
    }
    const t0 = Date.UTC(2025, 0, 10, 12)
    const ev = (ms: number, id: string): TraitEvent => ({
      name: 'A',
      type: 'track',
      properties: {},
      timestamp: ms,
      messageId: id,
    })
    const r = applyEvents(
      def,
      emptyState(),
      [ev(t0, 'a'), ev(t0 + 86_400_000, 'b')],
      new Date(t0 + 86_400_000),
    )
    expect(r.value).toBe(2)
    // 2025-01-12: the window is 01-11 and 01-12; the 01-10 bucket has expired.
    expect(expire(def, r.state, new Date(Date.UTC(2025, 0, 12, 0, 0))).value).toBe(1)
    expect(Object.keys(expire(def, r.state, new Date(Date.UTC(2025, 0, 12))).state.b)).toEqual([
      String(Math.floor((t0 + 86_400_000) / 86_400_000)),
    ])
    expect(expire(def, r.state, new Date(Date.UTC(2025, 0, 13))).value).toBe(0)
  })
})

describe('computed traits: SQL backfill = recompute', () => {
  let db: PGlite
  beforeAll(async () => {
    db = await migratedDb()
  })
  afterAll(async () => {
    await db.close()
  })

  it.each(AGGREGATES)(
    'on random definitions and events: %s',
    async (aggregate) => {
      const now = new Date(NOW_MS)
      await fc.assert(
        fc.asyncProperty(
          arbDefOf([aggregate]),
          fc.array(arbEvents, { minLength: 4, maxLength: 4 }),
          async (def, perProfile) => {
            await db.exec('TRUNCATE events')
            let n = 0
            const withIds = perProfile.map((es) =>
              es.map((e) => ({ ...e, messageId: `${e.messageId}-${n++}` })),
            )
            await insertEvents(
              db,
              withIds.flatMap((es, i) =>
                es.flatMap((e) => [
                  { ...e, workspaceId: 'ws', profileId: `p${i}` },
                  { ...e, workspaceId: 'other', profileId: `p${i}`, messageId: `o-${e.messageId}` },
                ]),
              ),
            )
            const q = compileComputedTraitBackfill(def, { workspaceId: 'ws', now })
            const { rows } = await db.query<{ profile_id: string; state: TraitState }>(
              q.text,
              q.values,
            )
            const got = new Map(rows.map((r) => [r.profile_id, r.state]))
            withIds.forEach((es, i) => {
              const want = recompute(def, es, now)
              const state = got.get(`p${i}`) ?? emptyState()
              expectApprox(state, want.state)
              expectApprox(valueOf(def, state, now), want.value)
            })
            const only = compileComputedTraitBackfill(def, {
              workspaceId: 'ws',
              now,
              profileIds: ['p1'],
            })
            const r1 = await db.query<{ profile_id: string }>(only.text, only.values)
            expect(r1.rows.every((r) => r.profile_id === 'p1')).toBe(true)
          },
        ),
        { numRuns: 20 },
      )
    },
    120_000,
  )
})
