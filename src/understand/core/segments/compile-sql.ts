/**
 * @module compile-sql
 * Compiles a segment definition to parameterised Postgres SQL over the schema of
 * `src/platform/store/migrations/0001-core.sql` (+ the helper functions of `0100-segments.sql`).
 * Same meaning as evaluate.ts; agreement.test.ts proves it on random data.
 *
 * Rules: `now` is always a parameter (never SQL now()); values only travel as parameters;
 * trait and property paths are parameters too (`traits -> $n::text` / `#> $n::text[]`).
 *
 * Two strategies for event conditions:
 * - `batch` (whole workspace): counts are grouped semi-joins
 *   (`p.id IN (SELECT profile_id … GROUP BY profile_id HAVING count(*) >= N)`), which Postgres
 *   runs as one hash over the events in the window instead of a probe per profile.
 * - `correlated` (a few profiles, real-time micro-batches): per-profile subqueries that stop
 *   early (`EXISTS`, `count(*)` over `LIMIT N+1`), each one a range scan of the
 *   `events_profile_time (workspace_id, profile_id, "timestamp" DESC)` index.
 */
import type {
  EventFilter,
  EventNode,
  EventWindow,
  FunnelNode,
  SegmentDefinition,
  SegmentNode,
} from './definition.js'
import { windowBounds } from './evaluate.js'
import { SqlParams, type SqlQuery } from './sql-params.js'
import {
  compilePositiveValueCondition,
  compileValueCondition,
  durationMs,
  isNegative,
  toPath,
  type PathRef,
} from './value-condition.js'

export type { SqlQuery } from './sql-params.js'

export type SqlStrategy = 'batch' | 'correlated'

export interface CompileOptions {
  workspaceId: string
  now: Date
  /** Default: `correlated` when profileIds are given, else `batch`. */
  strategy?: SqlStrategy
}

interface Ctx {
  p: SqlParams
  ws: string
  nowMs: number
  strategy: SqlStrategy
  alias: number
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** `col -> $n::text` for a key, `col #> $n::text[]` for a path. */
export function jsonPathSql(col: string, ref: PathRef, p: SqlParams): string {
  const path = toPath(ref)
  return path.length === 1
    ? `${col} -> ${p.add(path[0], 'text')}`
    : `${col} #> ${p.add(path, 'text[]')}`
}

/** WHERE conjuncts selecting events of alias `e` that pass a filter (name, type, properties). */
export function eventFilterSql(f: EventFilter, e: string, p: SqlParams, nowMs: number): string[] {
  const parts: string[] = []
  if (f.event !== undefined) parts.push(`${e}.event = ${p.add(f.event, 'text')}`)
  if (f.type !== undefined) parts.push(`${e}.type = ${p.add(f.type, 'text')}`)
  for (const w of f.where ?? [])
    parts.push(
      compileValueCondition(
        w.condition,
        `(${jsonPathSql(`${e}.properties`, w.property, p)})`,
        p,
        nowMs,
      ),
    )
  return parts
}

function windowSql(w: EventWindow | undefined, e: string, ctx: Ctx): string[] {
  if (w === undefined) return []
  const b = windowBounds(w, ctx.nowMs)
  return [
    `${e}."timestamp" ${b.fromInclusive ? '>=' : '>'} ${ctx.p.add(iso(b.from), 'timestamptz')}`,
    `${e}."timestamp" ${b.toInclusive ? '<=' : '<'} ${ctx.p.add(iso(b.to), 'timestamptz')}`,
  ]
}

function eventSql(n: EventNode, ctx: Ctx): string {
  const count = n.count ?? { op: 'gte' as const, value: 1 }
  // "at least 0" always holds: no subquery (and no parameters) at all.
  if (count.op === 'gte' && count.value === 0) return (n.performed ?? true) ? 'true' : 'false'
  const e = `e${++ctx.alias}`
  const conds = [...eventFilterSql(n, e, ctx.p, ctx.nowMs), ...windowSql(n.window, e, ctx)]
  const where = (link: string): string =>
    [`${e}.workspace_id = ${ctx.ws}`, link, ...conds].join(' AND ')
  const exists = `EXISTS (SELECT 1 FROM events ${e} WHERE ${where(`${e}.profile_id = p.id`)})`
  // Express every count condition as "at least k" (positive) or "not at least k" (negative).
  let sql: string
  if (count.op !== 'gte' && count.value === 0) sql = `NOT ${exists}`
  else if (count.op === 'gte' && count.value === 1) sql = exists
  else if (ctx.strategy === 'correlated') {
    const limit = count.op === 'gte' ? count.value : count.value + 1
    const cmp = count.op === 'gte' ? '>=' : count.op === 'lte' ? '<=' : '='
    sql =
      `(SELECT count(*) FROM (SELECT 1 FROM events ${e} WHERE ${where(`${e}.profile_id = p.id`)} ` +
      `LIMIT ${ctx.p.add(limit, 'int')}) AS c) ${cmp} ${ctx.p.add(count.value, 'int')}`
  } else {
    const grouped = (having: string): string =>
      `p.id IN (SELECT ${e}.profile_id FROM events ${e} WHERE ${where(`${e}.profile_id IS NOT NULL`)} ` +
      `GROUP BY ${e}.profile_id HAVING ${having})`
    if (count.op === 'gte') sql = grouped(`count(*) >= ${ctx.p.add(count.value, 'int')}`)
    else if (count.op === 'eq') sql = grouped(`count(*) = ${ctx.p.add(count.value, 'int')}`)
    else sql = `NOT (${grouped(`count(*) > ${ctx.p.add(count.value, 'int')}`)})`
  }
  return (n.performed ?? true) ? sql : `NOT (${sql})`
}

function funnelSql(n: FunnelNode, ctx: Ctx): string {
  const span = ctx.p.add(durationMs(n.within), 'bigint')
  const aliases = n.steps.map(() => `e${++ctx.alias}`)
  const first = aliases[0] as string
  const build = (i: number): string => {
    const e = aliases[i] as string
    const step = n.steps[i] as EventFilter
    const conds = [
      `${e}.workspace_id = ${ctx.ws}`,
      `${e}.profile_id = p.id`,
      ...eventFilterSql(step, e, ctx.p, ctx.nowMs),
      ...windowSql(n.window, e, ctx),
    ]
    if (i > 0) {
      const prev = aliases[i - 1] as string
      conds.push(`${e}."timestamp" > ${prev}."timestamp"`)
      conds.push(`${e}."timestamp" <= ${first}."timestamp" + ${span} * interval '1 millisecond'`)
    }
    if (i + 1 < n.steps.length) conds.push(build(i + 1))
    return `EXISTS (SELECT 1 FROM events ${e} WHERE ${conds.join(' AND ')})`
  }
  return build(0)
}

function nodeSql(n: SegmentNode, ctx: Ctx): string {
  switch (n.kind) {
    case 'and':
      return `(${n.children.map((c) => nodeSql(c, ctx)).join(' AND ')})`
    case 'or':
      return `(${n.children.map((c) => nodeSql(c, ctx)).join(' OR ')})`
    case 'not':
      return `NOT ${nodeSql(n.child, ctx)}`
    case 'trait':
      return `(${compileValueCondition(n.condition, `(${jsonPathSql('p.traits', n.trait, ctx.p)})`, ctx.p, ctx.nowMs)})`
    case 'computed_trait': {
      const a = `ct${++ctx.alias}`
      const exists =
        `EXISTS (SELECT 1 FROM computed_trait_values ${a} WHERE ${a}.workspace_id = ${ctx.ws} ` +
        `AND ${a}.profile_id = p.id AND ${a}.computed_trait_id = ${ctx.p.add(n.id, 'text')} ` +
        `AND ${compilePositiveValueCondition(n.condition, `${a}.value`, ctx.p, ctx.nowMs)})`
      return isNegative(n.condition) ? `NOT ${exists}` : exists
    }
    case 'segment': {
      const a = `sm${++ctx.alias}`
      const exists =
        `EXISTS (SELECT 1 FROM segment_members ${a} WHERE ${a}.workspace_id = ${ctx.ws} ` +
        `AND ${a}.segment_id = ${ctx.p.add(n.id, 'text')} AND ${a}.profile_id = p.id)`
      return (n.member ?? true) ? exists : `NOT ${exists}`
    }
    case 'consent': {
      const a = `pc${++ctx.alias}`
      return (
        `EXISTS (SELECT 1 FROM profile_consents ${a} WHERE ${a}.workspace_id = ${ctx.ws} ` +
        `AND ${a}.profile_id = p.id AND ${a}.purpose = ${ctx.p.add(n.purpose, 'text')} ` +
        `AND ${a}.status = ${ctx.p.add(n.status, 'text')})`
      )
    }
    case 'event':
      return eventSql(n, ctx)
    case 'funnel':
      return funnelSql(n, ctx)
  }
}

/**
 * The boolean SQL expression for `def` over a live profile row aliased `p` (profiles p), for
 * composing larger statements (e.g. `INSERT INTO segment_members SELECT … WHERE <expr>`).
 * `workspacePlaceholder` is the placeholder already holding the workspace id (e.g. `$1::text`).
 */
export function compileSegmentCondition(
  def: SegmentDefinition,
  params: SqlParams,
  opts: { workspacePlaceholder: string; now: Date; strategy: SqlStrategy },
): string {
  return nodeSql(def, {
    p: params,
    ws: opts.workspacePlaceholder,
    nowMs: opts.now.getTime(),
    strategy: opts.strategy,
    alias: 0,
  })
}

function membersWhere(
  def: SegmentDefinition,
  opts: CompileOptions & { profileIds?: readonly string[] },
): { where: string; p: SqlParams } {
  const p = new SqlParams()
  const ws = p.add(opts.workspaceId, 'text')
  const parts = [`p.workspace_id = ${ws}`, 'p.merged_into IS NULL']
  if (opts.profileIds !== undefined)
    parts.push(`p.id = ANY(${p.add([...opts.profileIds], 'text[]')})`)
  const strategy = opts.strategy ?? (opts.profileIds !== undefined ? 'correlated' : 'batch')
  parts.push(compileSegmentCondition(def, p, { workspacePlaceholder: ws, now: opts.now, strategy }))
  return { where: parts.join(' AND '), p }
}

/**
 * Ids of the live profiles (merged_into IS NULL) of a workspace that match `def` at `now`.
 * Result rows: `{ id: string }`, unordered.
 * @example
 * const q = compileSegmentMembers(def, { workspaceId: 'ws_1', now: new Date(clock()) })
 * const { rows } = await db.query(q.text, q.values)
 */
export function compileSegmentMembers(def: SegmentDefinition, opts: CompileOptions): SqlQuery {
  const { where, p } = membersWhere(def, opts)
  return { text: `SELECT p.id FROM profiles p WHERE ${where}`, values: p.values }
}

/**
 * Like compileSegmentMembers, restricted to the given profile ids (the real-time path over a
 * micro-batch): rows `{ id }` for the ids that match; ids not returned do not match (or are not
 * live profiles).
 */
export function compileSegmentMembersFor(
  def: SegmentDefinition,
  profileIds: readonly string[],
  opts: CompileOptions,
): SqlQuery {
  const { where, p } = membersWhere(def, { ...opts, profileIds })
  return { text: `SELECT p.id FROM profiles p WHERE ${where}`, values: p.values }
}

/**
 * Count and a sample (smallest ids first) of the matching profiles, for the no-code builder's
 * preview. One row: `{ count: number, sample: string[] }` (count is a bigint cast to int8 →
 * pg returns it as a string; PGlite as a number: use Number()).
 */
export function compileSegmentPreview(
  def: SegmentDefinition,
  opts: CompileOptions & { sampleSize?: number },
): SqlQuery {
  const { where, p } = membersWhere(def, opts)
  const limit = p.add(Math.max(0, Math.min(opts.sampleSize ?? 20, 1000)), 'int')
  return {
    text:
      `WITH m AS MATERIALIZED (SELECT p.id FROM profiles p WHERE ${where}) ` +
      `SELECT (SELECT count(*) FROM m) AS count, ` +
      `coalesce((SELECT array_agg(s.id ORDER BY s.id) FROM (SELECT id FROM m ORDER BY id LIMIT ${limit}) s), '{}'::text[]) AS sample`,
    values: p.values,
  }
}
