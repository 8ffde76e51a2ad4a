/**
 * Test support for insights (imported by *.test.ts and the benchmark only): loads one event
 * history into the store's `events` table and into a Parquet file written by DuckDB itself,
 * with the columns of that table, so the Postgres and the DuckDB backends read the same events;
 * or through the lake itself (`insertThroughLake`): the writer's own Parquet files and Delta log.
 */
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import fc from 'fast-check'
import pino from 'pino'
import { openLakeFileReader } from '../platform/lake/lake-reader.js'
import { setCapture } from '../platform/lake/lake-store.js'
import { createLakeWriter } from '../platform/lake/lake-writer.js'
import type { Db, Queryable } from '../platform/store/db.js'
import type { DuckdbEventSource, InsightEvent } from '../understand/core/insights/index.js'
import { localDay, parseDay } from '../understand/core/insights/insight-calendar.js'
import { arbJsonValue } from './segments-harness.js'

export interface StoredEvent extends InsightEvent {
  workspaceId: string
  messageId: string
}

const CHUNK = 5_000

/** Inserts events into `events` (a few thousand per statement). */
export async function insertStoredEvents(
  db: Queryable,
  events: readonly StoredEvent[],
): Promise<void> {
  for (let i = 0; i < events.length; i += CHUNK) {
    const chunk = events.slice(i, i + CHUNK)
    await db.query(
      `INSERT INTO events (workspace_id, profile_id, source_id, message_id, seq, type, event,
         "timestamp", received_at, properties, payload)
       SELECT r.workspace_id, r.profile_id, 'src', r.message_id, r.seq, r.type, r.event,
         r.ts, r.ts, r.properties, '{}'::jsonb
       FROM jsonb_to_recordset($1::jsonb) AS r(workspace_id text, profile_id text, message_id text,
         seq bigint, type text, event text, ts timestamptz, properties jsonb)`,
      [
        JSON.stringify(
          chunk.map((e, j) => ({
            workspace_id: e.workspaceId,
            profile_id: e.profileId,
            message_id: e.messageId,
            seq: i + j,
            type: e.type,
            event: e.event,
            ts: new Date(e.timestamp).toISOString(),
            properties: e.properties,
          })),
        ),
      ],
    )
  }
}

/**
 * Writes events to one Parquet file with the columns of the `events` table (properties, traits,
 * context and payload as JSON text; timestamps as TIMESTAMP WITH TIME ZONE), through DuckDB:
 * JSON lines in, `COPY … (FORMAT parquet)` out.
 */
export async function writeEventsParquet(
  path: string,
  events: Iterable<StoredEvent>,
  options: { threads?: number } = {},
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kindred-events-'))
  try {
    const jsonl = join(dir, 'events.jsonl')
    // Written in chunks: a benchmark's million events would not fit one string.
    const out = await open(jsonl, 'w')
    try {
      let lines: string[] = []
      let seq = 0
      for (const e of events) {
        lines.push(
          JSON.stringify({
            workspace_id: e.workspaceId,
            profile_id: e.profileId,
            source_id: 'src',
            message_id: e.messageId,
            seq: seq++,
            type: e.type,
            event: e.event,
            ts: new Date(e.timestamp).toISOString(),
            properties: e.properties,
          }),
        )
        if (lines.length >= 20_000) {
          await out.write(`${lines.join('\n')}\n`)
          lines = []
        }
      }
      if (lines.length > 0) await out.write(`${lines.join('\n')}\n`)
    } finally {
      await out.close()
    }
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads ?? 1),
    })
    try {
      const c = await instance.connect()
      try {
        await c.run(`SET TimeZone = 'UTC'`)
        const columns =
          "{workspace_id: 'VARCHAR', profile_id: 'VARCHAR', source_id: 'VARCHAR', message_id: 'VARCHAR', " +
          "seq: 'BIGINT', type: 'VARCHAR', event: 'VARCHAR', ts: 'VARCHAR', properties: 'JSON'}"
        await c.run(
          `COPY (SELECT workspace_id, profile_id, source_id, message_id, seq, type, event,
             NULL::VARCHAR AS user_id, NULL::VARCHAR AS anonymous_id,
             CAST(ts AS TIMESTAMPTZ) AS "timestamp", CAST(ts AS TIMESTAMPTZ) AS received_at,
             CAST(properties AS VARCHAR) AS properties, '{}' AS traits, '{}' AS context, '{}' AS payload
           FROM read_json($1, format = 'newline_delimited', columns = ${columns}))
           TO '${path.replaceAll("'", "''")}' (FORMAT parquet)`,
          [jsonl],
        )
      } finally {
        c.closeSync()
      }
    } finally {
      instance.closeSync()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number'

/**
 * Deep equality where numbers may differ by float rounding (sums and averages add in a
 * different order in each engine): relative 1e-9. Returns the first difference as a path, or
 * undefined.
 */
export function approxDiff(a: unknown, b: unknown, path = '$'): string | undefined {
  if (isNum(a) && isNum(b)) {
    const tol = 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))
    return Math.abs(a - b) <= tol ? undefined : `${path}: ${a} ≠ ${b}`
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: length ${a.length} ≠ ${b.length}`
    for (let i = 0; i < a.length; i++) {
      const d = approxDiff(a[i], b[i], `${path}[${i}]`)
      if (d !== undefined) return d
    }
    return undefined
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    if (ka.join() !== kb.join()) return `${path}: keys ${ka.join()} ≠ ${kb.join()}`
    for (const k of ka) {
      const d = approxDiff(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${path}.${k}`,
      )
      if (d !== undefined) return d
    }
    return undefined
  }
  return Object.is(a, b) ? undefined : `${path}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`
}

// ---------------------------------------------------------------------------------------------
// Generators for the agreement suite (src/understand/core/insights/agreement.test.ts)

export const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
] as const

const DAY = 86_400_000
const HOUR = 3_600_000

/** The first instant of a local date in a zone (binary search over ±16 h of UTC midnight). */
export function localMidnight(date: string, zone: string): number {
  const dn = parseDay(date) as number
  let lo = dn * DAY - 16 * HOUR
  let hi = dn * DAY + 16 * HOUR
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (localDay(mid, zone) >= dn) hi = mid
    else lo = mid
  }
  return hi
}

export type Season = 'spring' | 'autumn'

/**
 * Two seasons of 2025 with DST changes in Berlin, New York and Lord Howe (a half hour): the
 * changes themselves, then local midnights of the dates around them (week and month starts
 * among them) in every zone.
 */
const SEASON_INSTANTS: Record<Season, number[]> = {
  spring: [Date.UTC(2025, 2, 9, 7), Date.UTC(2025, 2, 30, 1), Date.UTC(2025, 3, 5, 15)],
  autumn: [Date.UTC(2025, 9, 4, 15, 30), Date.UTC(2025, 9, 26, 1), Date.UTC(2025, 10, 2, 6)],
}
const SEASON_DATES: Record<Season, string[]> = {
  spring: ['2025-03-09', '2025-03-10', '2025-03-30', '2025-03-31', '2025-04-01', '2025-04-06'],
  autumn: ['2025-10-05', '2025-10-26', '2025-10-27', '2025-11-01', '2025-11-02', '2025-11-03'],
}
export const SEASON_ANCHORS: Record<Season, number[]> = {
  spring: [
    ...SEASON_INSTANTS.spring,
    ...ZONES.flatMap((z) => SEASON_DATES.spring.map((d) => localMidnight(d, z))),
  ],
  autumn: [
    ...SEASON_INSTANTS.autumn,
    ...ZONES.flatMap((z) => SEASON_DATES.autumn.map((d) => localMidnight(d, z))),
  ],
}
/** First days of the ranges definitions of a season use. */
export const SEASON_FROM: Record<Season, string[]> = {
  spring: ['2025-03-01', '2025-03-08', '2025-03-09', '2025-03-29', '2025-03-30', '2025-03-31'],
  autumn: ['2025-10-01', '2025-10-04', '2025-10-25', '2025-10-26', '2025-10-27', '2025-11-01'],
}

/** Offsets from an anchor, biased to window edges (exactly 14 days, a day, an hour, ±1 ms). */
const arbOffset = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      0,
      0,
      1,
      -1,
      HOUR,
      -HOUR,
      30 * 60_000,
      DAY,
      DAY + 1,
      7 * DAY,
      14 * DAY,
      14 * DAY + 1,
      14 * DAY - 1,
      31 * DAY,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: -2 * 24 * 60, max: 20 * 24 * 60 }).map((m) => m * 60_000),
  },
)

const arbValue = fc.constantFrom<unknown>(
  1,
  2.5,
  '3',
  10,
  -4,
  'x',
  null,
  0.1,
  0.2,
  100,
  '12.5',
  true,
)

const arbProps = fc.record(
  {
    p: arbJsonValue,
    q: fc.constantFrom<unknown>('a', 'b', 'A', 1, 2, true, false, null, '', 'ä'),
    o: fc.record({ k: arbJsonValue }, { requiredKeys: [] }),
    v: arbValue,
  },
  { requiredKeys: [] },
)

export interface GenHistoryEvent {
  profile: number | null
  event: string | null
  type: string
  anchor: number
  offset: number
  properties: Record<string, unknown>
}

const arbHistoryEvent: fc.Arbitrary<GenHistoryEvent> = fc.record({
  profile: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 8 }),
  event: fc.constantFrom('A', 'A', 'B', 'B', 'C', null),
  type: fc.constantFrom('track', 'track', 'track', 'page'),
  anchor: fc.nat(),
  offset: arbOffset,
  properties: arbProps as fc.Arbitrary<Record<string, unknown>>,
})

/**
 * Random event histories of a season: events of 4 profiles and of nobody around 1–3 anchors
 * (shared by many events, so timestamps tie and fall on window and day edges), copied into a
 * second workspace that must never leak into the first.
 */
export function arbHistoryIn(season: Season): fc.Arbitrary<StoredEvent[]> {
  const anchorsOf = SEASON_ANCHORS[season]
  return fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: anchorsOf.length - 1 }), { minLength: 1, maxLength: 3 }),
      fc.array(arbHistoryEvent, { minLength: 10, maxLength: 60, size: 'max' }),
    )
    .map(([anchors, events]) => {
      const out: StoredEvent[] = []
      events.forEach((e, i) => {
        const anchor = anchorsOf[anchors[e.anchor % anchors.length] as number] as number
        const base = {
          profileId: e.profile === null ? null : `p${e.profile}`,
          event: e.event,
          type: e.type,
          timestamp: anchor + e.offset,
          properties: e.properties,
        }
        out.push({ ...base, workspaceId: 'ws_1', messageId: `m${i}` })
        out.push({ ...base, workspaceId: 'ws_2', messageId: `n${i}` })
      })
      return out
    })
}

/**
 * Stores `events` (as `insertStoredEvents`) with the lake capturing, then has a lake writer
 * write them to a new lake in `lakeDir` (its Parquet files, Hive-partitioned, and Delta log),
 * and returns the live files of `workspaceId` as the log lists them: what `npm start`'s insights
 * read. Clears the store's pending lake changes first. For an embedded store (the writer takes
 * the lease at once); on a server the previous writer's lease would make the next one wait.
 */
export async function insertThroughLake(
  db: Db,
  events: readonly StoredEvent[],
  lakeDir: string,
  workspaceId: string,
): Promise<DuckdbEventSource> {
  await setCapture(db, true)
  await db.query('DELETE FROM lake_changes')
  await insertStoredEvents(db, events)
  const writer = createLakeWriter({ db, dir: lakeDir, logger: pino({ level: 'silent' }) })
  try {
    await writer.flush()
  } finally {
    await writer.stop()
  }
  const reader = openLakeFileReader(lakeDir)
  try {
    return {
      events: await reader.files('events', workspaceId),
      profiles: await reader.files('profiles', workspaceId),
      hive: true,
    }
  } finally {
    reader.close()
  }
}
