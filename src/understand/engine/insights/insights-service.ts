/**
 * Insights for the API: run a definition (parsed once, planned for the chosen backend, run under
 * the time limit), list who converted or dropped at a funnel step, and saved insights (create,
 * list, get, update, delete), every function scoped to one workspace.
 *
 * Backends: `postgres` reads the store's `events` table (always there); `duckdb` reads the
 * lake's Parquet files through `lake.files(workspaceId)` and exists only when a lake is wired
 * (`InsightsModuleOptions.lake`); `auto` (what a request gets when it names none, unless the
 * server says otherwise) takes DuckDB when a lake is wired, holds files of the workspace and is
 * at most `maxLagSeconds` behind the store, else Postgres. Every result says which backend
 * answered and, from the lake, how far behind the store it was. The zone is the definition's
 * `timeZone`, else the workspace's `settings.timeZone`, else UTC.
 */
import { z } from 'zod'
import { KindredError } from '../../../protocol/errors.js'
import type { Db, Queryable } from '../../../platform/store/db.js'
import { newId } from '../../../platform/store/ids.js'
import {
  duckdbInsightDialect,
  isTimeZone,
  parseInsightDefinition,
  planFunnelProfiles,
  planInsight,
  postgresInsightDialect,
  INSIGHT_LIMITS,
  invalidField,
  type FunnelProfilesPage,
  type InsightDefinition,
  type InsightDialect,
  type DuckdbEventSource,
  type InsightResult,
} from '../../core/insights/index.js'
import type { DuckdbInsightsBackend } from './duckdb-insights-backend.js'
import type { InsightsBackend } from './postgres-insights-backend.js'

export type BackendName = 'postgres' | 'duckdb'
/** What a request may ask for: a backend, or `auto` (see the module comment). */
export type BackendChoice = BackendName | 'auto'
export const backendChoiceSchema = z.enum(['postgres', 'duckdb', 'auto'])

export interface InsightsLake {
  /**
   * A workspace's live Parquet files (the lake's Delta log knows them): its events and, for the
   * lake's layout, `hive: true` and the profile versions that map merged profiles to today's.
   */
  files(workspaceId: string): Promise<DuckdbEventSource>
  /** Seconds the lake is behind the store (0: nothing waits); unknown when absent. */
  lagSeconds?(): Promise<number>
  /** Releases what `files` keeps open (called when the server stops). */
  close?(): void
}

/** Auto picks the lake while it is at most this far behind: the writer's default flush is 30 s. */
export const DEFAULT_MAX_LAKE_LAG_SECONDS = 120

export interface InsightsDeps {
  db: Db
  clock: () => Date
  postgres: InsightsBackend
  duckdb?: { backend: DuckdbInsightsBackend; lake: InsightsLake } | undefined
  /** The time limit of one query. */
  timeoutMs: number
  /** Which backend answers when the request does not say (default `auto`). */
  defaultBackend?: BackendChoice | undefined
  /** `auto` reads the lake only while it is at most this far behind (default 120 s). */
  maxLagSeconds?: number | undefined
}

export interface RunMeta {
  backend: BackendName
  elapsedMs: number
  timeZone: string
  /**
   * When the lake answered: how far it was behind the store when the query started (seconds;
   * events processed within that time may be missing) and how many event files it read.
   */
  lake?: { lagSeconds: number | null; files: number } | undefined
}

interface Target {
  name: BackendName
  dialect: InsightDialect
  runner: InsightsBackend
  lake?: RunMeta['lake']
}

/** The workspace's zone: `settings.timeZone` when it is a zone name, else UTC. */
export async function workspaceTimeZone(q: Queryable, workspaceId: string): Promise<string> {
  const { rows } = await q.query<{ tz: string | null }>(
    `SELECT settings->>'timeZone' AS tz FROM workspaces WHERE id = $1`,
    [workspaceId],
  )
  const tz = rows[0]?.tz
  return typeof tz === 'string' && isTimeZone(tz) ? tz : 'UTC'
}

async function target(
  deps: InsightsDeps,
  workspaceId: string,
  backend: BackendChoice | undefined,
): Promise<Target> {
  const postgres: Target = {
    name: 'postgres',
    dialect: postgresInsightDialect,
    runner: deps.postgres,
  }
  const choice = backend ?? deps.defaultBackend ?? 'auto'
  if (choice === 'postgres') return postgres
  const duckdb = deps.duckdb
  if (duckdb === undefined) {
    if (choice === 'auto') return postgres
    throw new KindredError(
      'VALIDATION_FAILED',
      'backend "duckdb" reads the lake, and no lake is configured on this server; use backend "postgres"',
      { details: [{ path: 'backend', message: 'no lake is configured' }] },
    )
  }
  const lag = duckdb.lake.lagSeconds === undefined ? null : await duckdb.lake.lagSeconds()
  if (
    choice === 'auto' &&
    (lag === null || lag > (deps.maxLagSeconds ?? DEFAULT_MAX_LAKE_LAG_SECONDS))
  )
    return postgres
  const source = await duckdb.lake.files(workspaceId)
  // A workspace the lake has no file of yet (the lake was turned on after its events, or
  // nothing was written so far) is answered from the store, where its events are.
  if (choice === 'auto' && source.events.length === 0) return postgres
  return {
    name: 'duckdb',
    dialect: duckdbInsightDialect(source),
    runner: duckdb.backend,
    lake: {
      lagSeconds: lag === null ? null : Math.round(lag * 10) / 10,
      files: source.events.length,
    },
  }
}

/** Parses and runs a definition. */
export async function runInsight(
  deps: InsightsDeps,
  workspaceId: string,
  input: unknown,
  options: { backend?: BackendChoice | undefined } = {},
): Promise<{ result: InsightResult; meta: RunMeta }> {
  const def = parseInsightDefinition(input)
  return runParsed(deps, workspaceId, def, options)
}

export async function runParsed(
  deps: InsightsDeps,
  workspaceId: string,
  def: InsightDefinition,
  options: { backend?: BackendChoice | undefined } = {},
): Promise<{ result: InsightResult; meta: RunMeta }> {
  const timeZone = await workspaceTimeZone(deps.db, workspaceId)
  const t = await target(deps, workspaceId, options.backend)
  const started = deps.clock().getTime()
  const plan = planInsight(def, { nowMs: started, timeZone }, { dialect: t.dialect, workspaceId })
  const result = await t.runner.run(plan, { timeoutMs: deps.timeoutMs })
  return {
    result,
    meta: {
      backend: t.name,
      elapsedMs: deps.clock().getTime() - started,
      timeZone: result.timeZone,
      ...(t.lake === undefined ? {} : { lake: t.lake }),
    },
  }
}

export const funnelProfilesSchema = z.object({
  definition: z.unknown(),
  step: z.number().int().min(1).max(INSIGHT_LIMITS.maxFunnelSteps),
  outcome: z.enum(['converted', 'dropped']).default('dropped'),
  cursor: z.string().min(1).max(200).optional(),
  limit: z.number().int().min(1).max(INSIGHT_LIMITS.maxProfilesPage).default(1000),
  backend: backendChoiceSchema.optional(),
})
export type FunnelProfilesInput = z.infer<typeof funnelProfilesSchema>

/** Who converted or dropped at a step of a funnel: profile ids, paged. */
export async function funnelProfiles(
  deps: InsightsDeps,
  workspaceId: string,
  input: FunnelProfilesInput,
): Promise<FunnelProfilesPage> {
  const def = parseInsightDefinition(input.definition)
  if (def.kind !== 'funnel') throw invalidField('definition.kind', 'profile lists are of funnels')
  if (input.step > def.steps.length)
    throw invalidField('step', `the funnel has ${def.steps.length} steps`)
  if (input.outcome === 'dropped' && input.step < 2)
    throw invalidField('step', 'nobody drops at step 1: ask for step 2 or later')
  const timeZone = await workspaceTimeZone(deps.db, workspaceId)
  const t = await target(deps, workspaceId, input.backend)
  const plan = planFunnelProfiles(
    def,
    { nowMs: deps.clock().getTime(), timeZone },
    { dialect: t.dialect, workspaceId },
    { step: input.step, outcome: input.outcome, after: input.cursor, limit: input.limit },
  )
  return t.runner.run(plan, { timeoutMs: deps.timeoutMs })
}

// ---------------------------------------------------------------------------------------------
// Saved insights

export const insightInputSchema = z.object({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).nullish(),
  definition: z.unknown(),
})
export const insightUpdateSchema = insightInputSchema.partial()

export interface SavedInsight {
  id: string
  name: string
  description: string | null
  kind: InsightDefinition['kind']
  definition: InsightDefinition
  version: number
  createdAt: string
  updatedAt: string
}

interface Row {
  id: string
  name: string
  description: string | null
  kind: InsightDefinition['kind']
  definition: InsightDefinition
  version: number
  created_at: Date | string
  updated_at: Date | string
}

const toSaved = (r: Row): SavedInsight => ({
  id: r.id,
  name: r.name,
  description: r.description,
  kind: r.kind,
  definition: r.definition,
  version: r.version,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
})

const COLUMNS = 'id, name, description, kind, definition, version, created_at, updated_at'
/** A workspace keeps at most this many saved insights. */
export const MAX_SAVED_INSIGHTS = 1_000

export async function listInsights(q: Queryable, workspaceId: string): Promise<SavedInsight[]> {
  const { rows } = await q.query<Row>(
    `SELECT ${COLUMNS} FROM insights WHERE workspace_id = $1 ORDER BY created_at, id`,
    [workspaceId],
  )
  return rows.map(toSaved)
}

export async function getInsight(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<SavedInsight | undefined> {
  const { rows } = await q.query<Row>(
    `SELECT ${COLUMNS} FROM insights WHERE workspace_id = $1 AND id = $2`,
    [workspaceId, id],
  )
  return rows[0] === undefined ? undefined : toSaved(rows[0])
}

export async function createInsight(
  db: Db,
  workspaceId: string,
  input: z.infer<typeof insightInputSchema>,
  now: Date,
): Promise<SavedInsight> {
  const def = parseInsightDefinition(input.definition)
  return db.transaction(async (tx) => {
    const { rows: count } = await tx.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM insights WHERE workspace_id = $1',
      [workspaceId],
    )
    if (Number(count[0]?.n ?? 0) >= MAX_SAVED_INSIGHTS)
      throw new KindredError(
        'CONFLICT',
        `a workspace keeps at most ${MAX_SAVED_INSIGHTS} saved insights; delete some first`,
      )
    const { rows } = await tx.query<Row>(
      `INSERT INTO insights (workspace_id, id, name, description, kind, definition, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $7) RETURNING ${COLUMNS}`,
      [
        workspaceId,
        newId('insight'),
        input.name,
        input.description ?? null,
        def.kind,
        JSON.stringify(def),
        now.toISOString(),
      ],
    )
    return toSaved(rows[0] as Row)
  })
}

/** Updates the given fields; undefined when the insight does not exist. */
export async function updateInsight(
  db: Db,
  workspaceId: string,
  id: string,
  input: z.infer<typeof insightUpdateSchema>,
  now: Date,
): Promise<{ before: SavedInsight; after: SavedInsight } | undefined> {
  const def = input.definition === undefined ? undefined : parseInsightDefinition(input.definition)
  return db.transaction(async (tx) => {
    const { rows: found } = await tx.query<Row>(
      `SELECT ${COLUMNS} FROM insights WHERE workspace_id = $1 AND id = $2 FOR UPDATE`,
      [workspaceId, id],
    )
    if (found[0] === undefined) return undefined
    const before = toSaved(found[0])
    const { rows } = await tx.query<Row>(
      `UPDATE insights SET name = $3, description = $4, kind = $5, definition = $6::jsonb,
         version = version + 1, updated_at = $7
       WHERE workspace_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [
        workspaceId,
        id,
        input.name ?? before.name,
        input.description === undefined ? before.description : input.description,
        (def ?? before.definition).kind,
        JSON.stringify(def ?? before.definition),
        now.toISOString(),
      ],
    )
    return { before, after: toSaved(rows[0] as Row) }
  })
}

export async function deleteInsight(
  q: Queryable,
  workspaceId: string,
  id: string,
): Promise<SavedInsight | undefined> {
  const { rows } = await q.query<Row>(
    `DELETE FROM insights WHERE workspace_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [workspaceId, id],
  )
  return rows[0] === undefined ? undefined : toSaved(rows[0])
}
