/**
 * Shared generators and a PGlite harness for the agreement tests of src/understand/core/segments and
 * src/understand/core/computed-traits (test support only; imported by *.test.ts files).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import fc from 'fast-check'
import type { ValueCondition } from '../understand/core/segments/value-condition.js'

const MIGRATIONS = join(import.meta.dirname, '..', 'platform', 'store', 'migrations')

/** An in-memory PGlite with every migration of src/platform/store/migrations applied in order. */
export async function migratedDb(): Promise<PGlite> {
  const db = new PGlite()
  const files = readdirSync(MIGRATIONS)
    .filter((f) => /^\d{4}-.*\.sql$/.test(f))
    .sort()
  for (const f of files) await db.exec(readFileSync(join(MIGRATIONS, f), 'utf8'))
  return db
}

export const NOW_MS = Date.UTC(2025, 0, 15, 12, 0, 0, 0)
const MIN = 60_000
const HOUR = 3_600_000
const DAY = 86_400_000

/** Event time offsets from NOW, biased to window boundaries. */
export const arbOffsetMs = fc.oneof(
  fc.constantFrom(
    -7 * DAY,
    -7 * DAY + 1,
    -7 * DAY - 1,
    -3 * DAY,
    -HOUR,
    -30 * MIN,
    -1,
    0,
    1,
    HOUR,
    -10 * DAY,
    -20 * DAY,
    -40 * DAY,
    -2 * DAY - HOUR,
  ),
  fc.integer({ min: -40 * 24 * 60, max: 24 * 60 }).map((m) => m * MIN),
  fc.integer({ min: -3 * DAY, max: DAY }),
)

export const VALUE_POOL: unknown[] = [
  'pro',
  'Pro',
  'PRO',
  'free',
  '12',
  '12.5',
  '-3',
  '0',
  '12abc',
  'true',
  'false',
  '2025-01-10T00:00:00Z',
  '2025-01-14',
  '2025-01-15T11:00:00+01:00',
  '2025-01-15T11:30:00.250',
  '2025-02-30',
  '2025-01-15T12:00:00Z',
  '2025-01-14T12:00:00.000+00:00',
  '2025-01-15T10:00:00Z',
  'abc',
  'xyzPro',
  'ÄÖpro',
  '',
  12,
  12.5,
  0,
  -3,
  100,
  1e-7,
  true,
  false,
  null,
  ['pro', 'free'],
  ['x', 12],
  { a: 1 },
]

export const arbJsonValue = fc.constantFrom(...VALUE_POOL)

const arbStringOperand = fc.constantFrom('pro', 'Pro', '12', 'true', 'abc', 'x', 'ä', 'free')
const arbNumOperand = fc.constantFrom(12, 12.5, 0, -3, 100, 50, 1e-7)
const arbScalar = fc.oneof(arbStringOperand, arbNumOperand, fc.boolean())
const arbUnit = fc.constantFrom('minutes' as const, 'hours' as const, 'days' as const)
const arbDatePoint = fc.oneof(
  fc.record({
    kind: fc.constant('absolute' as const),
    at: fc.constantFrom('2025-01-10T00:00:00Z', '2025-01-14', '2025-01-15T10:00:00+01:00'),
  }),
  fc.record({
    kind: fc.constant('relative' as const),
    amount: fc.integer({ min: 0, max: 10 }),
    unit: arbUnit,
    direction: fc.constantFrom('ago' as const, 'from_now' as const),
  }),
)
const arbIgnoreCase = fc.option(fc.boolean(), { nil: undefined })

export const arbValueCondition: fc.Arbitrary<ValueCondition> = fc.oneof(
  // Aligned with date values of the pool (NOW - 1 day, NOW - 2 hours, NOW), for boundaries.
  fc.record({
    op: fc.constant('date_within_last' as const),
    amount: fc.constantFrom(1, 2),
    unit: fc.constantFrom('hours' as const, 'days' as const),
  }),
  fc.record({
    op: fc.constantFrom('date_before' as const, 'date_after' as const),
    date: fc.record({
      kind: fc.constant('relative' as const),
      amount: fc.constantFrom(0, 1, 2),
      unit: fc.constantFrom('hours' as const, 'days' as const),
      direction: fc.constant('ago' as const),
    }),
  }),
  fc.record({
    op: fc.constantFrom('eq' as const, 'neq' as const),
    value: arbScalar,
    ignoreCase: arbIgnoreCase,
  }),
  fc.record({
    op: fc.constantFrom('in' as const, 'not_in' as const),
    values: fc.array(arbScalar, { minLength: 1, maxLength: 3 }),
    ignoreCase: arbIgnoreCase,
  }),
  fc.record({
    op: fc.constantFrom('contains' as const, 'not_contains' as const, 'starts_with' as const),
    value: arbStringOperand,
    ignoreCase: arbIgnoreCase,
  }),
  fc.record({
    op: fc.constantFrom('gt' as const, 'gte' as const, 'lt' as const, 'lte' as const),
    value: arbNumOperand,
  }),
  fc.record({ op: fc.constant('between' as const), min: arbNumOperand, max: arbNumOperand }),
  fc.record({
    op: fc.constantFrom(
      'exists' as const,
      'not_exists' as const,
      'is_true' as const,
      'is_false' as const,
    ),
  }),
  fc.record({
    op: fc.constant('date_within_last' as const),
    amount: fc.integer({ min: 1, max: 10 }),
    unit: arbUnit,
  }),
  fc.record({
    op: fc.constantFrom('date_before' as const, 'date_after' as const),
    date: arbDatePoint,
  }),
)

export const PROPERTY_PATHS: (string | string[])[] = ['p', 'q', ['o', 'k'], ['p', '0']]
export const arbPropertyFilter = fc.record({
  property: fc.constantFrom(...PROPERTY_PATHS),
  condition: arbValueCondition,
})

export const arbProperties: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    p: arbJsonValue,
    q: arbJsonValue,
    o: fc.record({ k: arbJsonValue }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
)

export interface GenEvent {
  name: string | null
  type: string
  properties: Record<string, unknown>
  ms: number
  messageId: string
}

export const arbEvent: fc.Arbitrary<Omit<GenEvent, 'messageId'>> = fc.record({
  name: fc.constantFrom('A', 'B', 'C', null),
  type: fc.constantFrom('track', 'track', 'page'),
  properties: arbProperties,
  ms: arbOffsetMs.map((o) => NOW_MS + o),
})

/** Inserts events for (workspace, profile) pairs; message ids must be unique per source. */
export async function insertEvents(
  db: PGlite,
  rows: Array<GenEvent & { workspaceId: string; profileId: string | null }>,
): Promise<void> {
  if (rows.length === 0) return
  await db.query(
    `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event,
       "timestamp", received_at, properties, payload)
     SELECT r.workspace_id, r.profile_id, 'src', r.message_id, r.seq, r.type, r.event,
       r.ts, r.ts, r.properties, '{}'::jsonb
     FROM jsonb_to_recordset($1::jsonb) AS r(workspace_id text, profile_id text, message_id text,
       seq bigint, type text, event text, ts timestamptz, properties jsonb)`,
    [
      JSON.stringify(
        rows.map((r, i) => ({
          workspace_id: r.workspaceId,
          profile_id: r.profileId,
          message_id: r.messageId,
          seq: i,
          type: r.type,
          event: r.name,
          ts: new Date(r.ms).toISOString(),
          properties: r.properties,
        })),
      ),
    ],
  )
}
