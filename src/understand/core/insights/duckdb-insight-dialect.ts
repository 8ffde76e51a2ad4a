/**
 * @module duckdb-insight-dialect
 * Insights on Parquet files of events (the lake's live files, or any file with the columns of
 * the store's `events` table: `workspace_id`, `profile_id`, `event`, `type`, `"timestamp"`,
 * `properties` as JSON text…), read by DuckDB's `read_parquet`. The connection must have the
 * macros of `DUCKDB_INSIGHT_MACROS` and the session time zone UTC (a `"timestamp"` column
 * written without a zone is then read as UTC).
 */
import type { SqlParams } from '../segments/sql-params.js'
import { compileDuckdbValueCondition } from './duckdb-value-condition.js'
import type { EventsScope, InsightDialect } from './insight-dialect.js'

const INDEX_RE = /^-?[0-9]+$/
const CANONICAL_INDEX_RE = /^(0|[1-9][0-9]{0,8})$/

/** A JSON pointer (RFC 6901) to one key: `~` and `/` escaped. */
const pointer = (keys: readonly string[]) =>
  keys.map((k) => `/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')

/**
 * Where a DuckDB backend reads events. Plain files carry every column of the `events` table,
 * `workspace_id` included. The lake's files do not: Delta (and Kindred's writer) keep the
 * partition columns `workspace_id` and `event_date` in Hive-style folder names only
 * (`events/workspace_id=ws_1/event_date=2025-03-30/part-….parquet`), so they are read with
 * `hive_partitioning`; and a lake event keeps the profile it was processed under, so `profiles`
 * (the lake's profile versions) maps each profile to the one it was merged into since.
 */
export interface DuckdbEventSource {
  events: readonly string[]
  /** The files are the lake's: partition columns come from the paths (docs/lake.md). */
  hive?: boolean
  /**
   * Profile versions (the lake's `profiles` table, Hive-partitioned): an event counts for its
   * profile's `merged_into` in the profile's latest version, when set. Kindred keeps that
   * redirect one hop (a merge into a merged profile rewrites the older redirects), so one join
   * reaches today's profile. Without it, events count under the profile they were written with.
   */
  profiles?: readonly string[]
}

const utcDate = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** The partition columns' types, as docs/lake.md gives them (DuckDB would guess otherwise). */
const hive = (dateColumn: string) =>
  `hive_partitioning = true, hive_types = {'workspace_id': VARCHAR, '${dateColumn}': DATE}, ` +
  `union_by_name = true`

/**
 * The events relation of a set of Parquet files: a list of plain files (the events' own
 * columns), or a `DuckdbEventSource` (the lake); none means an empty relation.
 */
export function duckdbInsightDialect(
  source: readonly string[] | DuckdbEventSource,
): InsightDialect {
  const src: DuckdbEventSource = Array.isArray(source)
    ? { events: source as readonly string[] }
    : (source as DuckdbEventSource)
  const files = src.events
  return {
    name: 'duckdb',
    events(scope: EventsScope, p: SqlParams): string {
      if (files.length === 0)
        return (
          `SELECT NULL::VARCHAR AS profile_id, NULL::VARCHAR AS event, NULL::VARCHAR AS type, ` +
          `NULL::VARCHAR AS properties, NULL::BIGINT AS ms, NULL::INTEGER AS dn, ` +
          `NULL::INTEGER AS mi WHERE false`
        )
      const ws = p.add(scope.workspaceId, 'text')
      const where = [`e.workspace_id = ${ws}`]
      if (scope.lo !== undefined)
        where.push(`e."timestamp" >= make_timestamptz(${p.add(scope.lo * 1000, 'bigint')})`)
      if (scope.hi !== undefined)
        where.push(`e."timestamp" < make_timestamptz(${p.add(scope.hi * 1000, 'bigint')})`)
      // The date partition is the event's UTC date: the same bounds, as folder names DuckDB
      // prunes before it opens a file.
      if (src.hive === true && scope.lo !== undefined)
        where.push(`e.event_date >= CAST(${p.add(utcDate(scope.lo), 'text')} AS DATE)`)
      if (src.hive === true && scope.hi !== undefined)
        where.push(`e.event_date <= CAST(${p.add(utcDate(scope.hi), 'text')} AS DATE)`)
      if (scope.names !== undefined)
        where.push(
          scope.names.length === 1
            ? `e.event = ${p.add(scope.names[0], 'text')}`
            : `e.event = ANY(${p.add([...scope.names], 'text[]')})`,
        )
      const opts = src.hive === true ? `, ${hive('event_date')}` : ''
      const from = `read_parquet(${p.add([...files], 'text[]')}${opts}) e`
      const profiles = src.profiles ?? []
      let profile = 'e.profile_id'
      let join = ''
      if (profiles.length > 0) {
        // The latest version of every profile that has one with a redirect; arg_max_null, as
        // the latest version's NULL (a merge undone) must win over an older redirect.
        join =
          ` LEFT JOIN (SELECT profile_id, arg_max_null(merged_into, version) AS into_id ` +
          `FROM read_parquet(${p.add([...profiles], 'text[]')}, ${hive('changed_date')}) ` +
          `WHERE workspace_id = ${ws} GROUP BY profile_id) m ON m.profile_id = e.profile_id`
        profile = 'coalesce(m.into_id, e.profile_id)'
      }
      return (
        `SELECT profile_id, event, type, properties, ms, ` +
        `CAST(date_diff('day', DATE '1970-01-01', CAST(lt AS DATE)) AS INTEGER) AS dn, ` +
        `CAST(year(lt) * 12 + month(lt) - 1 AS INTEGER) AS mi ` +
        `FROM (SELECT ${profile} AS profile_id, e.event, e.type, ` +
        `CAST(e.properties AS VARCHAR) AS properties, ` +
        `epoch_ms(CAST(e."timestamp" AS TIMESTAMPTZ)) AS ms, ` +
        `timezone(${p.add(scope.timeZone, 'text')}, CAST(e."timestamp" AS TIMESTAMPTZ)) AS lt ` +
        `FROM ${from}${join} WHERE ${where.join(' AND ')})`
      )
    },
    property(col, path, p) {
      // Keys and canonical indexes go into one JSON pointer, which steps into objects by key and
      // into arrays by index, as Postgres `#>` does. A negative or zero-padded index ("-1",
      // "01") means an index into an array but a key in an object: one step, tested by type.
      let expr = col
      let run: string[] = []
      const flush = () => {
        if (run.length > 0) expr = `json_extract(${expr}, ${p.add(pointer(run), 'text')})`
        run = []
      }
      for (const key of path) {
        if (!INDEX_RE.test(key) || CANONICAL_INDEX_RE.test(key)) {
          run.push(key)
          continue
        }
        flush()
        const i = Number(key)
        const inArray = Number.isSafeInteger(i) && Math.abs(i) < 2 ** 31
        const arrayStep = inArray
          ? `json_extract(${expr}, ${p.add(i < 0 ? `$[#-${-i}]` : `$[${i}]`, 'text')})`
          : 'NULL'
        expr =
          `CASE json_type(${expr}) WHEN 'ARRAY' THEN ${arrayStep} ` +
          `WHEN 'OBJECT' THEN json_extract(${expr}, ${p.add(pointer([key]), 'text')}) END`
      }
      flush()
      return `(${expr})`
    },
    condition: compileDuckdbValueCondition,
    num: (x) => `kindred_num(${x})`,
    breakdown(x) {
      const isNum = `json_type(${x}) IN ('UBIGINT', 'BIGINT', 'HUGEINT', 'DOUBLE')`
      const inRange = `abs(CAST(${x} AS DOUBLE)) < 1e300`
      return {
        kind:
          `CASE WHEN json_type(${x}) = 'VARCHAR' THEN 'string' ` +
          `WHEN json_type(${x}) = 'BOOLEAN' THEN 'boolean' ` +
          `WHEN ${isNum} AND ${inRange} THEN 'number' END`,
        num:
          `CASE WHEN ${isNum} AND ${inRange} THEN CAST(${x} AS DOUBLE) ` +
          `WHEN json_type(${x}) = 'BOOLEAN' THEN CASE WHEN CAST(${x} AS BOOLEAN) THEN 1.0 ELSE 0.0 END END`,
        str: `CASE WHEN json_type(${x}) = 'VARCHAR' THEN ${x} ->> '$' END`,
      }
    },
    idiv: (a, b) => `((${a}) // (${b}))`,
    median: (x) => `quantile_cont(CAST(${x} AS DOUBLE), 0.5)`,
    byCodePoint: (x) => `(${x})`,
    round6: (x) => `round(${x}, 6)`,
    float: (x) => `CAST(${x} AS DOUBLE)`,
    int: (x) => `CAST(${x} AS INTEGER)`,
  }
}
