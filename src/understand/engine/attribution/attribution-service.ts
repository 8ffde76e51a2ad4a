/**
 * @module attribution/attribution-service
 * Attribution over the store's `events` table: touchpoints are page (and screen) views and any
 * event carrying `context.campaign`, classified into channels by `core/attribution`;
 * conversions are track events of one name, optionally weighted by a revenue property. One
 * ordered read per query (by profile and time), the paths built and every model run in memory.
 *
 * Bounded in time: a read-only transaction with `statement_timeout` on a Postgres server, and on
 * PGlite (which ignores it, see engine/insights/postgres-insights-backend.ts) the rows to read are
 * counted first (a bounded index scan) and a query over the budget is refused up front. The
 * bootstrap stops at the deadline and the answer says how many resamples it managed.
 */

import { z } from 'zod'
import { KindredError } from '../../../protocol/errors.js'
import type { Db } from '../../../platform/store/db.js'
import {
  ALL_MODELS,
  attributionReport,
  classifyTouch,
  pathsOfProfile,
  type AttributionModel,
  type AttributionReport,
  type ConversionPath,
  type ProfileMoment,
} from '../../core/attribution/index.js'
import { seededRandom } from '../../core/experiments/seeded-random.js'

const DAY_MS = 24 * 3600 * 1000
export const DEFAULT_ATTRIBUTION_TIMEOUT_MS = 30_000
/** Rows one query may read: past this the answer is a QUERY_TIMEOUT asking for a shorter range. */
export const MAX_ATTRIBUTION_ROWS = 2_000_000
/** Embedded store: rows read per second of time limit (as the insights budget, conservative). */
export const EMBEDDED_ROWS_PER_SECOND = 50_000
/** Touches of the same channel and campaign closer than this are one touch (repeated page views). */
const SAME_TOUCH_MS = 30 * 60 * 1000

const isoInstant = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date or instant')

export const attributionQuerySchema = z
  .object({
    conversion: z
      .object({
        event: z.string().min(1).max(200),
        revenueProperty: z.string().min(1).max(200).optional(),
      })
      .strict(),
    range: z.object({ from: isoInstant, to: isoInstant }).strict(),
    lookbackDays: z.number().int().min(1).max(90).default(30),
    halfLifeDays: z.number().positive().max(90).default(7),
    markovOrder: z.number().int().min(1).max(4).default(1),
    models: z
      .array(z.enum(ALL_MODELS as unknown as [AttributionModel, ...AttributionModel[]]))
      .min(1)
      .optional(),
    by: z
      .array(z.enum(['channel', 'campaign']))
      .min(1)
      .default(['channel', 'campaign']),
    includeDirect: z.boolean().default(false),
    bootstrap: z.number().int().min(0).max(1000).default(100),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31)
      .default(1),
  })
  .strict()

export type AttributionQuery = z.infer<typeof attributionQuerySchema>

export interface AttributionDeps {
  readonly db: Db
  readonly clock: () => Date
  readonly timeoutMs: number
  readonly embeddedRowsPerSecond?: number
}

export interface AttributionAnswer {
  readonly range: { readonly from: string; readonly to: string }
  readonly byChannel?: AttributionReport
  readonly byCampaign?: AttributionReport
  readonly meta: {
    readonly rows: number
    readonly profiles: number
    readonly elapsedMs: number
    readonly timeLimitMs: number
  }
}

interface EventRow {
  profile_id: string
  type: string
  event: string | null
  ms: string | number
  campaign: Record<string, unknown> | null
  url: string | null
  referrer: string | null
  revenue: string | null
}

function tooSlow(limitMs: number, details: Record<string, unknown>): KindredError {
  return new KindredError(
    'QUERY_TIMEOUT',
    `the attribution query would run over its time limit of ${limitMs} ms and was stopped; narrow the range or shorten the lookback`,
    { details: { limitMs, ...details } },
  )
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)

/** Paths of every profile that converted in the range, or was touched in it. */
export function pathsFromRows(
  rows: readonly EventRow[],
  q: AttributionQuery,
  fromMs: number,
  toMs: number,
): ConversionPath[] {
  const out: ConversionPath[] = []
  let current: string | null = null
  let moments: ProfileMoment[] = []
  const flush = (): void => {
    if (moments.length === 0) return
    for (const p of pathsOfProfile(moments, { lookbackMs: q.lookbackDays * DAY_MS })) {
      // Unconverted paths count when they end in the range; conversions when they happen in it.
      if (p.endMs >= fromMs && p.endMs < toMs) out.push(p)
    }
    moments = []
  }
  let lastTouch: { key: string; ms: number } | null = null
  for (const r of rows) {
    if (r.profile_id !== current) {
      flush()
      current = r.profile_id
      lastTouch = null
    }
    const ms = Number(r.ms)
    if (r.type === 'track' && r.event === q.conversion.event) {
      const revenue = r.revenue === null ? 0 : Number(r.revenue)
      moments.push({
        kind: 'conversion',
        timestampMs: ms,
        revenue: Number.isFinite(revenue) ? revenue : 0,
      })
      lastTouch = null
      continue
    }
    const c = r.campaign
    const touch = classifyTouch({
      campaign: c ? { source: str(c.source), medium: str(c.medium), name: str(c.name) } : null,
      pageUrl: r.url,
      referrer: r.referrer,
    })
    if (touch.channel === 'internal') continue
    if (touch.channel === 'direct' && !q.includeDirect) continue
    const key = `${touch.channel}\u0001${touch.campaign ?? ''}`
    if (lastTouch && lastTouch.key === key && ms - lastTouch.ms < SAME_TOUCH_MS) continue
    lastTouch = { key, ms }
    moments.push({
      kind: 'touch',
      channel: touch.channel,
      campaign: touch.campaign,
      timestampMs: ms,
    })
  }
  flush()
  return out
}

export async function runAttribution(
  d: AttributionDeps,
  workspaceId: string,
  input: unknown,
): Promise<AttributionAnswer> {
  const parsed = attributionQuerySchema.safeParse(input)
  if (!parsed.success) {
    throw new KindredError('VALIDATION_FAILED', 'invalid attribution query', {
      details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    })
  }
  const q = parsed.data
  const fromMs = Date.parse(q.range.from)
  const toMs = Date.parse(q.range.to)
  if (!(toMs > fromMs) || toMs - fromMs > 366 * DAY_MS) {
    throw new KindredError(
      'VALIDATION_FAILED',
      'range.to must be after range.from, at most 366 days later',
      {
        details: [{ path: 'range', message: 'empty, reversed or longer than 366 days' }],
      },
    )
  }
  const started = d.clock().getTime()
  const deadline = started + d.timeoutMs
  const readFrom = new Date(fromMs - q.lookbackDays * DAY_MS).toISOString()
  const readTo = new Date(toMs).toISOString()
  const where = `workspace_id = $1 AND profile_id IS NOT NULL AND "timestamp" >= $2::timestamptz AND "timestamp" < $3::timestamptz
      AND ((type = 'track' AND event = $4) OR type IN ('page', 'screen') OR context ? 'campaign')`
  const params = [workspaceId, readFrom, readTo, q.conversion.event]
  const rows = await d.db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION READ ONLY')
    await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(d.timeoutMs)])
    const budget =
      d.db.dialect === 'pglite'
        ? Math.min(
            MAX_ATTRIBUTION_ROWS,
            Math.floor(
              ((d.embeddedRowsPerSecond ?? EMBEDDED_ROWS_PER_SECOND) * d.timeoutMs) / 1000,
            ),
          )
        : MAX_ATTRIBUTION_ROWS
    const counted = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM events WHERE ${where} LIMIT $5::bigint) x`,
      [...params, budget + 1],
    )
    if (Number(counted.rows[0]?.n ?? 0) > budget)
      throw tooSlow(d.timeoutMs, { rowsToRead: `more than ${budget}`, budget })
    try {
      const res = await tx.query<EventRow>(
        `SELECT profile_id, type, event, (extract(epoch from "timestamp") * 1000)::bigint AS ms,
                CASE WHEN jsonb_typeof(context->'campaign') = 'object' THEN context->'campaign' END AS campaign,
                coalesce(context->'page'->>'url', properties->>'url') AS url,
                coalesce(context->'page'->>'referrer', properties->>'referrer') AS referrer,
                ${q.conversion.revenueProperty === undefined ? 'NULL' : `CASE WHEN jsonb_typeof(properties->$5) = 'number' THEN properties->>$5 END`} AS revenue
           FROM events WHERE ${where}
          ORDER BY profile_id, "timestamp", seq`,
        q.conversion.revenueProperty === undefined
          ? params
          : [...params, q.conversion.revenueProperty],
      )
      return res.rows
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === '57014') throw tooSlow(d.timeoutMs, {})
      throw err
    }
  })
  const paths = pathsFromRows(rows, q, fromMs, toMs)
  const profiles = new Set(rows.map((r) => r.profile_id)).size
  const shouldStop = (): boolean => d.clock().getTime() > deadline
  const report = (key: 'channel' | 'campaign'): AttributionReport =>
    attributionReport(paths, {
      key,
      ...(q.models === undefined ? {} : { models: q.models }),
      halfLifeMs: q.halfLifeDays * DAY_MS,
      markovOrder: q.markovOrder,
      bootstrap: q.bootstrap,
      random: seededRandom(q.seed),
      shouldStop,
    })
  const byChannel = q.by.includes('channel') ? report('channel') : undefined
  const byCampaign = q.by.includes('campaign') ? report('campaign') : undefined
  return {
    range: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
    ...(byChannel ? { byChannel } : {}),
    ...(byCampaign ? { byCampaign } : {}),
    meta: {
      rows: rows.length,
      profiles,
      elapsedMs: d.clock().getTime() - started,
      timeLimitMs: d.timeoutMs,
    },
  }
}
