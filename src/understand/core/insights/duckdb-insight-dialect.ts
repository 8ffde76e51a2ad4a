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
 * The properties relation of one set of Parquet files. `files` are the paths to read (the lake
 * lists its live files); none means an empty relation.
 */
export function duckdbInsightDialect(files: readonly string[]): InsightDialect {
  return {
    name: 'duckdb',
    events(scope: EventsScope, p: SqlParams): string {
      if (files.length === 0)
        return (
          `SELECT NULL::VARCHAR AS profile_id, NULL::VARCHAR AS event, NULL::VARCHAR AS type, ` +
          `NULL::VARCHAR AS properties, NULL::BIGINT AS ms, NULL::INTEGER AS dn, ` +
          `NULL::INTEGER AS mi WHERE false`
        )
      const where = [`workspace_id = ${p.add(scope.workspaceId, 'text')}`]
      if (scope.lo !== undefined)
        where.push(`"timestamp" >= make_timestamptz(${p.add(scope.lo * 1000, 'bigint')})`)
      if (scope.hi !== undefined)
        where.push(`"timestamp" < make_timestamptz(${p.add(scope.hi * 1000, 'bigint')})`)
      if (scope.names !== undefined)
        where.push(
          scope.names.length === 1
            ? `event = ${p.add(scope.names[0], 'text')}`
            : `event = ANY(${p.add([...scope.names], 'text[]')})`,
        )
      return (
        `SELECT profile_id, event, type, properties, ms, ` +
        `CAST(date_diff('day', DATE '1970-01-01', CAST(lt AS DATE)) AS INTEGER) AS dn, ` +
        `CAST(year(lt) * 12 + month(lt) - 1 AS INTEGER) AS mi ` +
        `FROM (SELECT profile_id, event, type, CAST(properties AS VARCHAR) AS properties, ` +
        `epoch_ms(CAST("timestamp" AS TIMESTAMPTZ)) AS ms, ` +
        `timezone(${p.add(scope.timeZone, 'text')}, CAST("timestamp" AS TIMESTAMPTZ)) AS lt ` +
        `FROM read_parquet(${p.add([...files], 'text[]')}) WHERE ${where.join(' AND ')})`
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
