/**
 * Two evaluators, one meaning: random definitions over random data, loaded into PGlite, must
 * select exactly the profiles the in-memory evaluator selects (both SQL strategies).
 */
import type { PGlite } from '@electric-sql/pglite'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  compileSegmentMembers,
  compileSegmentMembersFor,
  compileSegmentPreview,
} from './compile-sql.js'
import {
  eventFilterSchema,
  segmentDefinitionSchema,
  type EventFilter,
  type SegmentNode,
} from './definition.js'
import { evaluateSegment, type ProfileFacts } from './evaluate.js'
import {
  arbEvent,
  arbJsonValue,
  arbPropertyFilter,
  arbValueCondition,
  insertEvents,
  migratedDb,
  NOW_MS,
  VALUE_POOL,
  type GenEvent,
} from '../../../testing/segments-harness.js'
import { toTimestampMs, toNumber, toBoolean } from './value-condition.js'

const WS = 'ws_1'
const OTHER_WS = 'ws_2'
const TRAIT_PATHS: (string | string[])[] = [
  'plan',
  'n',
  'd',
  'tags',
  ['address', 'city'],
  ['tags', '0'],
]
const CT_IDS = ['ct1', 'ct2']
const SEG_IDS = ['s1', 's2']
const PURPOSES = ['email', 'ads']

const arbWindow = fc.oneof(
  // Aligned with the boundary offsets of arbOffsetMs, so inclusivity is exercised.
  fc.constantFrom(
    { kind: 'last' as const, amount: 7, unit: 'days' as const },
    { kind: 'last' as const, amount: 3, unit: 'days' as const },
    { kind: 'last' as const, amount: 1, unit: 'hours' as const },
    { kind: 'last' as const, amount: 30, unit: 'minutes' as const },
  ),
  fc.record({
    kind: fc.constant('last' as const),
    amount: fc.integer({ min: 1, max: 10 }),
    unit: fc.constantFrom('minutes' as const, 'hours' as const, 'days' as const),
  }),
  fc.record({
    kind: fc.constant('between' as const),
    from: fc.constantFrom('2025-01-05T12:00:00Z', '2025-01-08T12:00:00Z'),
    to: fc.constantFrom('2025-01-12T12:00:00Z', '2025-01-15T12:00:00Z'),
  }),
)

const arbEventFilter: fc.Arbitrary<EventFilter> = fc.record(
  {
    event: fc.constantFrom('A', 'B', 'C'),
    type: fc.constantFrom('track' as const, 'page' as const),
    where: fc.array(arbPropertyFilter, { maxLength: 2 }),
  },
  { requiredKeys: [] },
)

const arbLeaf: fc.Arbitrary<SegmentNode> = fc.oneof(
  fc.record({
    kind: fc.constant('trait' as const),
    trait: fc.constantFrom(...TRAIT_PATHS),
    condition: arbValueCondition,
  }),
  fc
    .tuple(
      arbEventFilter,
      fc.record(
        {
          performed: fc.boolean(),
          count: fc.record({
            op: fc.constantFrom('gte' as const, 'lte' as const, 'eq' as const),
            value: fc.integer({ min: 0, max: 3 }),
          }),
          window: arbWindow,
        },
        { requiredKeys: [] },
      ),
    )
    .map(([f, rest]) => ({ kind: 'event' as const, ...f, ...rest })),
  fc.record({
    kind: fc.constant('computed_trait' as const),
    id: fc.constantFrom(...CT_IDS),
    condition: arbValueCondition,
  }),
  fc.record({
    kind: fc.constant('segment' as const),
    id: fc.constantFrom(...SEG_IDS),
    member: fc.option(fc.boolean(), { nil: undefined }),
  }),
  fc.record(
    {
      kind: fc.constant('funnel' as const),
      steps: fc.array(arbEventFilter, { minLength: 2, maxLength: 3 }),
      within: fc.record({
        amount: fc.integer({ min: 1, max: 5 }),
        unit: fc.constantFrom('hours' as const, 'days' as const),
      }),
      window: arbWindow,
    },
    { requiredKeys: ['kind', 'steps', 'within'] },
  ),
  fc.record({
    kind: fc.constant('consent' as const),
    purpose: fc.constantFrom(...PURPOSES),
    status: fc.constantFrom('granted' as const, 'denied' as const),
  }),
)

const arbDefinition: fc.Arbitrary<SegmentNode> = fc.letrec<{ node: SegmentNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    arbLeaf,
    fc.record({
      kind: fc.constantFrom('and' as const, 'or' as const),
      children: fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant('not' as const), child: tie('node') }),
  ),
})).node

interface GenProfile {
  id: string
  merged: boolean
  traits: Record<string, unknown>
  events: Array<Omit<GenEvent, 'messageId'>>
  computed: Record<string, unknown>
  segments: string[]
  consent: Record<string, 'granted' | 'denied'>
}

const arbProfile = (
  id: string,
  arbEv: fc.Arbitrary<Omit<GenEvent, 'messageId'>> = arbEvent,
): fc.Arbitrary<GenProfile> =>
  fc.record({
    id: fc.constant(id),
    merged: fc.boolean().map((b) => b && id.endsWith('7')),
    traits: fc
      .record(
        {
          plan: arbJsonValue,
          n: arbJsonValue,
          d: arbJsonValue,
          tags: arbJsonValue,
          address: fc.record({ city: arbJsonValue }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      )
      .map((t) => t as Record<string, unknown>),
    events: fc.array(arbEv, { maxLength: 7 }),
    computed: fc.dictionary(fc.constantFrom(...CT_IDS), arbJsonValue, { maxKeys: 2 }),
    segments: fc.subarray(SEG_IDS),
    consent: fc.dictionary(
      fc.constantFrom(...PURPOSES),
      fc.constantFrom('granted' as const, 'denied' as const),
      { maxKeys: 2 },
    ),
  })

const arbDataset = fc.tuple(...Array.from({ length: 8 }, (_, i) => arbProfile(`p${i}`)))

/** Events only at the edges of the aligned windows (and funnel spans), few names: ties galore. */
const arbEdgeEvent = fc.record({
  name: fc.constantFrom('A', 'B'),
  type: fc.constant('track'),
  properties: fc.constant({}),
  ms: fc
    .constantFrom(-7 * 86_400_000, -3 * 86_400_000, -3_600_000, -1_800_000, 0, -2 * 86_400_000)
    .map((o) => NOW_MS + o),
})
const arbEdgeDataset = fc.tuple(
  ...Array.from({ length: 8 }, (_, i) => arbProfile(`p${i}`, arbEdgeEvent)),
)
const arbEdgeDefinition: fc.Arbitrary<SegmentNode> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('event' as const),
      event: fc.constantFrom('A', 'B'),
      count: fc.record({
        op: fc.constantFrom('gte' as const, 'lte' as const, 'eq' as const),
        value: fc.integer({ min: 1, max: 2 }),
      }),
      window: arbWindow,
    },
    { requiredKeys: ['kind', 'window'] },
  ),
  fc.record(
    {
      kind: fc.constant('funnel' as const),
      steps: fc.array(fc.record({ event: fc.constantFrom('A', 'B') }, { requiredKeys: [] }), {
        minLength: 2,
        maxLength: 3,
      }),
      within: fc.constantFrom(
        { amount: 1, unit: 'hours' as const },
        { amount: 30, unit: 'minutes' as const },
        { amount: 1, unit: 'days' as const },
        { amount: 4, unit: 'days' as const },
      ),
      window: arbWindow,
    },
    { requiredKeys: ['kind', 'steps', 'within'] },
  ),
)

let db: PGlite

beforeAll(async () => {
  db = await migratedDb()
})
afterAll(async () => {
  await db.close()
})

async function load(profiles: GenProfile[]): Promise<void> {
  await db.exec(
    'TRUNCATE profiles, events, computed_trait_values, segment_members, profile_consents',
  )
  const now = new Date(NOW_MS).toISOString()
  const rows = profiles.flatMap((p) => [
    { ws: WS, id: p.id, traits: p.traits, merged: p.merged ? 'p0' : null },
    // The same ids in another workspace, with everything matching, must never leak in.
    { ws: OTHER_WS, id: p.id, traits: p.traits, merged: null },
  ])
  await db.query(
    `INSERT INTO profiles (workspace_id, id, traits, merged_into, created_at, updated_at)
     SELECT r.ws, r.id, r.traits, r.merged, $2::timestamptz, $2::timestamptz
     FROM jsonb_to_recordset($1::jsonb) AS r(ws text, id text, traits jsonb, merged text)`,
    [JSON.stringify(rows), now],
  )
  let mid = 0
  await insertEvents(
    db,
    profiles.flatMap((p) =>
      p.events.flatMap((e) => [
        { ...e, workspaceId: WS, profileId: p.id, messageId: `m${mid++}` },
        { ...e, workspaceId: OTHER_WS, profileId: p.id, messageId: `m${mid++}` },
        { ...e, workspaceId: WS, profileId: null, messageId: `m${mid++}` },
      ]),
    ),
  )
  const ctv = profiles.flatMap((p) =>
    Object.entries(p.computed).map(([k, v]) => ({ ws: WS, pid: p.id, ct: k, value: v })),
  )
  await db.query(
    `INSERT INTO computed_trait_values (workspace_id, profile_id, computed_trait_id, value, updated_at)
     SELECT r.ws, r.pid, r.ct, r.value, $2::timestamptz
     FROM jsonb_to_recordset($1::jsonb) AS r(ws text, pid text, ct text, value jsonb)`,
    [JSON.stringify(ctv), now],
  )
  const sm = profiles.flatMap((p) => p.segments.map((s) => ({ ws: WS, s, pid: p.id })))
  await db.query(
    `INSERT INTO segment_members (workspace_id, segment_id, profile_id, entered_at)
     SELECT r.ws, r.s, r.pid, $2::timestamptz FROM jsonb_to_recordset($1::jsonb) AS r(ws text, s text, pid text)`,
    [JSON.stringify(sm), now],
  )
  const pc = profiles.flatMap((p) =>
    Object.entries(p.consent).map(([purpose, status]) => ({ ws: WS, pid: p.id, purpose, status })),
  )
  await db.query(
    `INSERT INTO profile_consents (workspace_id, profile_id, purpose, status, updated_at)
     SELECT r.ws, r.pid, r.purpose, r.status, $2::timestamptz
     FROM jsonb_to_recordset($1::jsonb) AS r(ws text, pid text, purpose text, status text)`,
    [JSON.stringify(pc), now],
  )
}

function facts(p: GenProfile): ProfileFacts {
  return {
    profile: { id: p.id, traits: p.traits },
    events: p.events.map((e) => ({ ...e, timestamp: e.ms })),
    computedTraits: p.computed,
    segments: new Set(p.segments),
    consent: p.consent,
  }
}

const ids = (rows: Array<{ id: string }>): string[] => rows.map((r) => r.id).sort()

describe('SQL compiler agrees with the in-memory evaluator', () => {
  it('on random definitions and random data (both strategies, restricted and preview)', async () => {
    const now = new Date(NOW_MS)
    // Guards against a generator that only ever produces trivial (all or nothing) segments.
    let informative = 0
    let total = 0
    await fc.assert(
      fc.asyncProperty(
        arbDataset,
        fc.array(arbDefinition, { minLength: 3, maxLength: 3 }),
        async (profiles, defs) => {
          await load(profiles)
          const live = profiles.filter((p) => !p.merged)
          for (const def of defs) {
            expect(segmentDefinitionSchema.safeParse(def).success).toBe(true)
            const expected = live
              .filter((p) => evaluateSegment(def, facts(p), now))
              .map((p) => p.id)
              .sort()
            total++
            if (expected.length > 0 && expected.length < live.length) informative++
            for (const strategy of ['batch', 'correlated'] as const) {
              const q = compileSegmentMembers(def, { workspaceId: WS, now, strategy })
              expect(ids((await db.query<{ id: string }>(q.text, q.values)).rows)).toEqual(expected)
            }
            const some = ['p1', 'p2', 'p7', 'nobody']
            const r = compileSegmentMembersFor(def, some, { workspaceId: WS, now })
            expect(ids((await db.query<{ id: string }>(r.text, r.values)).rows)).toEqual(
              expected.filter((id) => some.includes(id)),
            )
            const pv = compileSegmentPreview(def, { workspaceId: WS, now, sampleSize: 3 })
            const row = (await db.query<{ count: number; sample: string[] }>(pv.text, pv.values))
              .rows[0]
            expect(Number(row?.count)).toBe(expected.length)
            expect(row?.sample.length).toBe(Math.min(3, expected.length))
            for (const id of row?.sample ?? []) expect(expected).toContain(id)
          }
        },
      ),
      { numRuns: 60 },
    )
    expect(informative).toBeGreaterThan(total / 5)
  }, 240_000)

  it('at window and funnel boundaries', async () => {
    const now = new Date(NOW_MS)
    await fc.assert(
      fc.asyncProperty(
        arbEdgeDataset,
        fc.array(arbEdgeDefinition, { minLength: 4, maxLength: 4 }),
        async (profiles, defs) => {
          await load(profiles)
          const live = profiles.filter((p) => !p.merged)
          for (const def of defs) {
            const expected = live
              .filter((p) => evaluateSegment(def, facts(p), now))
              .map((p) => p.id)
              .sort()
            for (const strategy of ['batch', 'correlated'] as const) {
              const q = compileSegmentMembers(def, { workspaceId: WS, now, strategy })
              expect(ids((await db.query<{ id: string }>(q.text, q.values)).rows)).toEqual(expected)
            }
          }
        },
      ),
      { numRuns: 40 },
    )
  }, 240_000)

  it('coerces every pool value the same way in SQL as in TypeScript', async () => {
    const { rows } = await db.query<{
      v: unknown
      num: number | null
      bool: boolean | null
      ts: number | null
    }>(
      `SELECT v, kindred_num(v) AS num, kindred_bool(v) AS bool, kindred_ts_ms(v) AS ts
       FROM jsonb_array_elements($1::jsonb) AS t(v)`,
      [JSON.stringify(VALUE_POOL)],
    )
    expect(rows).toHaveLength(VALUE_POOL.length)
    for (const r of rows) {
      expect({ v: r.v, num: r.num ?? undefined }).toEqual({ v: r.v, num: toNumber(r.v) })
      expect({ v: r.v, bool: r.bool ?? undefined }).toEqual({ v: r.v, bool: toBoolean(r.v) })
      expect({ v: r.v, ts: r.ts ?? undefined }).toEqual({ v: r.v, ts: toTimestampMs(r.v) })
    }
  })

  it('event filters in the generator are valid', () => {
    fc.assert(fc.property(arbEventFilter, (f) => eventFilterSchema.safeParse(f).success))
  })
})
