/**
 * Three evaluators, one meaning: random insight definitions over random event histories must
 * give the same answer through the reference evaluator (plain TypeScript), through Postgres SQL
 * on the store's `events` table (PGlite always; a Postgres server too when
 * KINDRED_TEST_DATABASE_URL is set) and through DuckDB SQL over the lake: the files and
 * Delta log the lake writer makes of the same events (Hive-partitioned by workspace and date, as
 * `npm start` reads them). Histories cluster on DST changes, local midnights, week and month starts of five
 * zones, with ties and offsets of exactly the conversion windows.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../../platform/store/open-store.js'
import { storeTargets } from '../../../testing/databases.js'
import {
  approxDiff,
  arbHistoryIn,
  insertStoredEvents,
  insertThroughLake,
  SEASON_FROM,
  ZONES,
  type Season,
  type StoredEvent,
} from '../../../testing/insights-harness.js'
import { arbPropertyFilter } from '../../../testing/segments-harness.js'
import { duckdbInsightsBackend } from '../../engine/insights/duckdb-insights-backend.js'
import {
  postgresInsightsBackend,
  type InsightsBackend,
} from '../../engine/insights/postgres-insights-backend.js'
import type { EventFilter } from '../segments/definition.js'
import {
  duckdbInsightDialect,
  evaluateInsight,
  insightDefinitionSchema,
  parseInsightDefinition,
  planFunnelProfiles,
  planInsight,
  postgresInsightDialect,
  referenceFunnelProfiles,
  type FunnelDefinition,
  type DuckdbEventSource,
  type InsightContext,
  type InsightEvent,
  type InsightResult,
} from './index.js'

const WS = 'ws_1'
const NOW = Date.UTC(2025, 11, 1, 12)
const dir = mkdtempSync(join(tmpdir(), 'kindred-insights-'))
const duck = duckdbInsightsBackend()
const stores: Array<{ name: string; store: Store; backend: InsightsBackend }> = []

beforeAll(async () => {
  for (const t of storeTargets()) {
    const store = await t.open()
    stores.push({ name: t.name, store, backend: postgresInsightsBackend(store.db) })
  }
})
afterAll(async () => {
  for (const s of stores) await s.store.close()
  duck.close()
  rmSync(dir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------
// Definitions

const addDays = (d: string, n: number) =>
  new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10)
/** A season and the (UTC) days its history has events on: ranges start near the events. */
interface Scene {
  season: Season
  days: string[]
}

const arbRange = (scene: Scene) =>
  fc
    .tuple(
      fc.oneof(
        fc.constantFrom(...SEASON_FROM[scene.season]),
        fc
          .tuple(
            fc.constantFrom(...(scene.days.length > 0 ? scene.days : SEASON_FROM[scene.season])),
            fc.constantFrom(0, 1, 3),
          )
          .map(([d, back]) => addDays(d, -back)),
      ),
      fc.constantFrom(0, 1, 6, 13, 34, 34, 59, 59),
    )
    .map(([from, len]) => ({ kind: 'between' as const, from, to: addDays(from, len) }))

/** Mostly plain filters (a name), sometimes a type or a property condition. */
const arbFilter = (named: boolean): fc.Arbitrary<EventFilter> =>
  fc
    .record({
      event: named
        ? fc.constantFrom('A', 'B', 'A', 'B', 'C')
        : fc.constantFrom('A', 'B', 'C', undefined),
      type: fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('track' as const, 'page' as const) },
      ),
      where: fc.oneof(
        { weight: 5, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.array(arbPropertyFilter, { minLength: 1, maxLength: 2 }) },
      ),
    })
    .map(
      (f) =>
        Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as EventFilter,
    )

const arbBreakdown = fc.record(
  {
    property: fc.constantFrom<string | string[]>('p', 'q', 'v', ['o', 'k']),
    limit: fc.integer({ min: 1, max: 4 }),
  },
  { requiredKeys: ['property'] },
)
const arbZone = fc.option(fc.constantFrom(...ZONES), { nil: undefined })

const arbTrends = (scene: Scene) =>
  fc.record(
    {
      kind: fc.constant('trends'),
      series: fc.array(
        fc
          .tuple(
            arbFilter(false),
            fc.constantFrom(
              { kind: 'count' },
              { kind: 'unique' },
              { kind: 'sum', property: 'v' },
              { kind: 'avg', property: 'v' },
            ),
          )
          .map(([f, measure]) => ({ ...f, measure })),
        { minLength: 1, maxLength: 2 },
      ),
      interval: fc.constantFrom('day', 'week', 'month'),
      breakdown: arbBreakdown,
      compare: fc.boolean(),
      range: arbRange(scene),
      timeZone: arbZone,
    },
    { requiredKeys: ['kind', 'series', 'range'] },
  )

const arbWindow = fc.constantFrom(
  { amount: 14, unit: 'days' },
  { amount: 14, unit: 'days' },
  { amount: 1, unit: 'days' },
  { amount: 1, unit: 'hours' },
  { amount: 30, unit: 'minutes' },
  { amount: 2, unit: 'weeks' },
)

const arbFunnel = (scene: Scene) =>
  fc
    .record(
      {
        kind: fc.constant('funnel'),
        steps: fc.array(arbFilter(true), { minLength: 2, maxLength: 4 }),
        window: arbWindow,
        order: fc.constantFrom('strict', 'any'),
        exclusions: fc.oneof(
          { weight: 3, arbitrary: fc.constant([]) },
          {
            weight: 1,
            arbitrary: fc.array(
              fc.record({
                event: fc.constantFrom('A', 'B', 'C'),
                a: fc.nat(),
                b: fc.nat(),
                bounded: fc.boolean(),
              }),
              { minLength: 1, maxLength: 2 },
            ),
          },
        ),
        breakdown: arbBreakdown,
        range: arbRange(scene),
        timeZone: arbZone,
      },
      { requiredKeys: ['kind', 'steps', 'range'] },
    )
    .map(({ exclusions, ...f }) => {
      // Exclusions between random valid steps (or the default: first to last).
      const n = f.steps.length
      return {
        ...f,
        exclusions: (exclusions ?? []).map(({ event, a, b, bounded }) => {
          if (!bounded) return { event }
          const from = 1 + (a % (n - 1))
          return { event, from, to: from + 1 + (b % (n - from)) }
        }),
      }
    })

const arbRetention = (scene: Scene) =>
  fc.record(
    {
      kind: fc.constant('retention'),
      startEvent: arbFilter(false),
      returnEvent: arbFilter(false),
      period: fc.constantFrom('day', 'week', 'month'),
      periods: fc.integer({ min: 1, max: 5 }),
      value: fc.constant({ property: 'v' }),
      range: arbRange(scene),
      timeZone: arbZone,
    },
    { requiredKeys: ['kind', 'startEvent', 'returnEvent', 'range'] },
  )

const arbRfm = (scene: Scene) =>
  fc.record(
    {
      kind: fc.constant('rfm'),
      purchase: arbFilter(false),
      value: fc.constant({ property: 'v' }),
      asOf: fc.constantFrom(
        ...(scene.season === 'spring'
          ? ['2025-03-31', '2025-04-15']
          : ['2025-11-02', '2025-11-30']),
      ),
      since: fc.constantFrom(
        ...(scene.season === 'spring'
          ? ['2025-03-09', '2025-03-30']
          : ['2025-10-05', '2025-10-26']),
      ),
      quantiles: fc.constantFrom([20, 40, 60, 80], [10, 50, 75, 90], [25, 50, 75, 99]),
      cutPoints: fc.record(
        {
          recency: fc.constant([1, 7, 30, 90]),
          frequency: fc.constant([1, 2, 3, 5]),
          monetary: fc.constant([0, 2.5, 10, 50]),
        },
        { requiredKeys: [] },
      ),
      timeZone: arbZone,
    },
    { requiredKeys: ['kind'] },
  )

const arbValue = (scene: Scene) =>
  fc.record(
    {
      kind: fc.constant('value'),
      purchase: arbFilter(false),
      value: fc.constant({ property: 'v' }),
      asOf: fc.constantFrom(
        ...(scene.season === 'spring'
          ? ['2025-03-31', '2025-04-15']
          : ['2025-11-02', '2025-11-30']),
      ),
      since: fc.constantFrom(
        ...(scene.season === 'spring'
          ? ['2025-03-09', '2025-03-30']
          : ['2025-10-05', '2025-10-26']),
      ),
      top: fc.integer({ min: 0, max: 5 }),
      timeZone: arbZone,
    },
    { requiredKeys: ['kind'] },
  )

const arbLifecycle = (scene: Scene) =>
  fc.record(
    {
      kind: fc.constant('lifecycle'),
      event: arbFilter(false),
      interval: fc.constantFrom('day', 'week', 'month'),
      range: arbRange(scene),
      timeZone: arbZone,
    },
    { requiredKeys: ['kind', 'event', 'range'] },
  )

const arbStickiness = (scene: Scene) =>
  fc.record(
    {
      kind: fc.constant('stickiness'),
      event: arbFilter(false),
      interval: fc.constantFrom('week', 'month'),
      range: arbRange(scene),
      timeZone: arbZone,
    },
    { requiredKeys: ['kind', 'event', 'range'] },
  )

/** A season, then a history of that season and something drawn for the same season. */
function seasonal<T>(of: (scene: Scene) => fc.Arbitrary<T>): fc.Arbitrary<[StoredEvent[], T]> {
  return fc.constantFrom<Season>('spring', 'autumn').chain((season) =>
    arbHistoryIn(season).chain((events) => {
      const days = [...new Set(events.map((e) => new Date(e.timestamp).toISOString().slice(0, 10)))]
      return fc.tuple(fc.constant(events), of({ season, days: days.sort() }))
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// Running

let lakes = 0
/** Stores the history in every store; the embedded one's lake writer writes it to a new lake. */
async function load(events: StoredEvent[]): Promise<DuckdbEventSource> {
  let lake: DuckdbEventSource | undefined
  for (const s of stores) {
    await s.store.db.exec('TRUNCATE events')
    if (s.name === 'pglite' && lake === undefined)
      lake = await insertThroughLake(s.store.db, events, join(dir, `lake-${lakes++}`), WS)
    else await insertStoredEvents(s.store.db, events)
  }
  if (lake === undefined) throw new Error('the agreement suite needs the embedded store')
  // The writer's files: one per workspace and UTC date, the partition only in the path.
  expect(
    lake.events.every((f) => /workspace_id=[^/]+[/]event_date=\d{4}-\d\d-\d\d[/]/.test(f)),
  ).toBe(true)
  return lake
}

const ctxOf = (zone: string): InsightContext => ({ nowMs: NOW, timeZone: zone })

function referenceEvents(events: StoredEvent[]): InsightEvent[] {
  return events
    .filter((e) => e.workspaceId === WS)
    .map(({ workspaceId: _w, messageId: _m, ...e }) => e)
}

async function agree(
  raw: unknown,
  events: StoredEvent[],
  lake: DuckdbEventSource,
): Promise<InsightResult> {
  const def = parseInsightDefinition(raw)
  const ctx = ctxOf('Europe/Berlin')
  const expected = evaluateInsight(def, referenceEvents(events), ctx)
  for (const s of stores) {
    const got = await s.backend.run(
      planInsight(def, ctx, { dialect: postgresInsightDialect, workspaceId: WS }),
      { timeoutMs: 60_000 },
    )
    expect(approxDiff(expected, got), `${s.name}: ${JSON.stringify(raw)}`).toBeUndefined()
  }
  const got = await duck.run(
    planInsight(def, ctx, { dialect: duckdbInsightDialect(lake), workspaceId: WS }),
    { timeoutMs: 60_000 },
  )
  expect(approxDiff(expected, got), `duckdb: ${JSON.stringify(raw)}`).toBeUndefined()
  return expected
}

/** Does a result say something (not all zeros)? Guards against generators that only miss. */
function informative(r: InsightResult): boolean {
  switch (r.kind) {
    case 'trends':
      return r.lines.some((l) => (l.total ?? 0) !== 0)
    case 'funnel':
      return (r.steps[1]?.count ?? 0) > 0
    case 'retention':
      return r.cohorts.some((c) => c.values.slice(1).some((v) => v > 0))
    case 'rfm':
      return r.profiles > 1
    case 'value':
      return r.total.customers > 1 && r.total.revenue !== 0
    case 'lifecycle':
      return r.periods.some((x) => x.returning + x.resurrecting > 0 && x.dormant + x.new > 0)
    case 'stickiness':
      return r.periods.some((x) => x.days.slice(1).some((n) => n > 0))
  }
}

describe('insights: reference = Postgres = DuckDB', () => {
  // The last figure: the least share of results that must say something (see `informative`),
  // about half of what the generators give (measured on 600 samples each: trends 0.62, funnels
  // 0.21, retention 0.26, RFM 0.51), so the guard fails a generator that stops reaching data,
  // not an unlucky seed.
  const kinds: Array<[string, (scene: Scene) => fc.Arbitrary<unknown>, number, number]> = [
    ['trends', arbTrends, 40, 1 / 4],
    ['funnels', arbFunnel, 60, 1 / 12],
    ['retention', arbRetention, 40, 1 / 10],
    ['RFM', arbRfm, 40, 1 / 5],
    ['customer value', arbValue, 40, 1 / 5],
    ['lifecycle', arbLifecycle, 40, 1 / 10],
    ['stickiness', arbStickiness, 40, 1 / 10],
  ]
  for (const [kind, arb, runs, share] of kinds) {
    it(`${kind} on random histories`, async () => {
      let said = 0
      let total = 0
      await fc.assert(
        fc.asyncProperty(
          seasonal((scene) => fc.array(arb(scene), { minLength: 3, maxLength: 3 })),
          async ([events, defs]) => {
            const lake = await load(events)
            for (const raw of defs) {
              expect(insightDefinitionSchema.safeParse(raw).success).toBe(true)
              total++
              if (informative(await agree(raw, events, lake))) said++
            }
          },
        ),
        { numRuns: runs },
      )
      expect(said).toBeGreaterThan(total * share)
    }, 600_000)
  }

  it('funnel profile lists (converted / dropped at step N, paged)', async () => {
    await fc.assert(
      fc.asyncProperty(
        seasonal(arbFunnel),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom('converted' as const, 'dropped' as const),
        async ([events, raw], stepSeed, outcome) => {
          const lake = await load(events)
          const def = parseInsightDefinition(raw) as FunnelDefinition
          const step =
            outcome === 'dropped'
              ? 2 + (stepSeed % (def.steps.length - 1))
              : 1 + (stepSeed % def.steps.length)
          const ctx = ctxOf('UTC')
          const all = referenceFunnelProfiles(def, referenceEvents(events), ctx, {
            step,
            outcome,
            limit: 100,
          })
          for (const limit of [2, 100]) {
            const q = { step, outcome, limit }
            const expected = referenceFunnelProfiles(def, referenceEvents(events), ctx, q)
            for (const s of stores) {
              const got = await s.backend.run(
                planFunnelProfiles(
                  def,
                  ctx,
                  { dialect: postgresInsightDialect, workspaceId: WS },
                  q,
                ),
                { timeoutMs: 60_000 },
              )
              expect(got).toEqual(expected)
            }
            const got = await duck.run(
              planFunnelProfiles(
                def,
                ctx,
                { dialect: duckdbInsightDialect(lake), workspaceId: WS },
                q,
              ),
              { timeoutMs: 60_000 },
            )
            expect(got).toEqual(expected)
            // The next page starts after the cursor and ends where the whole list does.
            if (expected.nextCursor !== null) {
              const next = referenceFunnelProfiles(def, referenceEvents(events), ctx, {
                ...q,
                after: expected.nextCursor,
              })
              const pg = await stores[0]?.backend.run(
                planFunnelProfiles(
                  def,
                  ctx,
                  { dialect: postgresInsightDialect, workspaceId: WS },
                  { ...q, after: expected.nextCursor },
                ),
                { timeoutMs: 60_000 },
              )
              expect(pg).toEqual(next)
              expect([...expected.profileIds, ...next.profileIds]).toEqual(
                all.profileIds.slice(0, expected.profileIds.length + next.profileIds.length),
              )
            }
          }
        },
      ),
      { numRuns: 30 },
    )
  }, 600_000)

  it('the generators produce valid definitions', () => {
    for (const arb of [
      arbTrends,
      arbFunnel,
      arbRetention,
      arbRfm,
      arbValue,
      arbLifecycle,
      arbStickiness,
    ] as const)
      for (const season of ['spring', 'autumn'] as const)
        fc.assert(
          fc.property(
            (arb as (s: Scene) => fc.Arbitrary<unknown>)({ season, days: [] }),
            (d) => insightDefinitionSchema.safeParse(d).success,
          ),
        )
  })
})
