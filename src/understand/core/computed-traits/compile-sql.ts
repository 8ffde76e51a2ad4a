/**
 * @module computed/compile-sql
 * Batch backfill of a computed trait in one statement: per profile, the same state that
 * `recompute` builds from that profile's events (set-based, one pass over the events that pass
 * the filter and the window, which the `events_profile_time` index and the time partitions
 * bound). The value is `valueOf(def, state, now)`, a pure function of the state, so the batch
 * job and the real-time path can never disagree on it.
 */
import { eventFilterSql, jsonPathSql } from '../segments/compile-sql.js'
import { SqlParams, type SqlQuery } from '../segments/sql-params.js'
import type { ComputedTraitDefinition } from './definition.js'
import { bucketRange, UNIT_MS } from './incremental.js'

/** Total order of normalised scalars, as compareScalars in incremental.ts. */
const SCALAR_ORDER = (x: string): string =>
  `jsonb_typeof(${x}), CASE WHEN jsonb_typeof(${x}) = 'number' THEN ${x}::float8 END, (${x} #>> '{}') COLLATE "C"`

/**
 * Rows `{ profile_id: string, state: TraitState }` for every profile of the workspace (or of
 * `profileIds`) with at least one qualifying event in the window; all other profiles have the
 * empty state (value `emptyValue(def)`).
 */
export function compileComputedTraitBackfill(
  def: ComputedTraitDefinition,
  opts: { workspaceId: string; now: Date; profileIds?: readonly string[] },
): SqlQuery {
  const p = new SqlParams()
  const nowMs = opts.now.getTime()
  const where = [`e.workspace_id = ${p.add(opts.workspaceId, 'text')}`, 'e.profile_id IS NOT NULL']
  if (opts.profileIds !== undefined)
    where.push(`e.profile_id = ANY(${p.add([...opts.profileIds], 'text[]')})`)
  where.push(...eventFilterSql(def.event, 'e', p, nowMs))
  const range = bucketRange(def, opts.now)
  let bucket = `'all'`
  if (range !== undefined && def.window !== undefined) {
    const unit = UNIT_MS[def.window.unit]
    where.push(
      `e."timestamp" >= ${p.add(new Date((range.lowExclusive + 1) * unit).toISOString(), 'timestamptz')}`,
    )
    bucket = `floor(extract(epoch FROM e."timestamp") * 1000 / ${p.add(unit, 'bigint')})::bigint::text`
  }
  const prop =
    def.property === undefined ? 'NULL::jsonb' : `(${jsonPathSql('e.properties', def.property, p)})`
  let x = 'NULL::jsonb'
  switch (def.aggregate) {
    case 'sum':
    case 'avg':
    case 'min':
    case 'max':
      x = `kindred_num(${prop})`
      where.push(`${x} IS NOT NULL`)
      break
    case 'first':
    case 'last':
      x = prop
      where.push(`jsonb_typeof(${prop}) <> 'null'`)
      break
    case 'most_frequent':
    case 'unique_list':
    case 'unique_count':
      x = `CASE jsonb_typeof(${prop}) WHEN 'number' THEN to_jsonb(kindred_num(${prop})) WHEN 'string' THEN ${prop} WHEN 'boolean' THEN ${prop} END`
      where.push(`(${x}) IS NOT NULL`)
      break
    default:
      break
  }
  const ev =
    `ev AS (SELECT e.profile_id AS pid, ${bucket} AS bk, e."timestamp" AS ts, e.message_id AS mid, ` +
    `(extract(epoch FROM e."timestamp") * 1000)::float8 AS tms, ${x} AS x FROM events e WHERE ${where.join(' AND ')})`
  let partial: string
  let from = 'ev'
  let pre = ''
  switch (def.aggregate) {
    case 'count':
      partial = `jsonb_build_object('n', count(*))`
      break
    case 'sum':
    case 'avg':
      partial = `jsonb_build_object('n', count(*), 's', sum(x))`
      break
    case 'min':
      partial = `jsonb_build_object('m', min(x))`
      break
    case 'max':
      partial = `jsonb_build_object('m', max(x))`
      break
    case 'first':
      partial = `(array_agg(jsonb_build_object('t', tms, 'id', mid, 'v', x) ORDER BY ts, mid COLLATE "C"))[1]`
      break
    case 'last':
      partial = `(array_agg(jsonb_build_object('t', tms, 'id', mid, 'v', x) ORDER BY ts DESC, mid COLLATE "C" DESC))[1]`
      break
    case 'time_since_first':
      partial = `(array_agg(jsonb_build_object('t', tms, 'id', mid) ORDER BY ts, mid COLLATE "C"))[1]`
      break
    case 'time_since_last':
      partial = `(array_agg(jsonb_build_object('t', tms, 'id', mid) ORDER BY ts DESC, mid COLLATE "C" DESC))[1]`
      break
    case 'most_frequent':
      pre = `, g AS (SELECT pid, bk, x, count(*) AS c FROM ev GROUP BY pid, bk, x)`
      from = 'g'
      partial = `jsonb_build_object('vc', jsonb_agg(jsonb_build_array(x, c) ORDER BY ${SCALAR_ORDER('x')}))`
      break
    case 'unique_list':
    case 'unique_count':
      pre = `, g AS (SELECT DISTINCT pid, bk, x FROM ev)`
      from = 'g'
      partial = `jsonb_build_object('vs', jsonb_agg(x ORDER BY ${SCALAR_ORDER('x')}))`
      break
  }
  const text =
    `WITH ${ev}${pre}, b AS (SELECT pid, bk, ${partial} AS part FROM ${from} GROUP BY pid, bk) ` +
    `SELECT pid AS profile_id, jsonb_build_object('v', 1, 'b', jsonb_object_agg(bk, part)) AS state ` +
    `FROM b GROUP BY pid`
  return { text, values: p.values }
}
