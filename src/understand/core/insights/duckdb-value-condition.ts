/**
 * @module duckdb-value-condition
 * The segments' value-condition language (src/understand/core/segments/value-condition.ts) on
 * DuckDB's JSON values, for insights over the lake's Parquet files. It mirrors the Postgres half
 * of that file rule for rule: the same coercions as macros (`DUCKDB_INSIGHT_MACROS`, created once
 * per DuckDB instance), missing and JSON null alike "not set", negative operators as NOT of
 * their positive twin. The agreement suite of src/understand/core/insights runs the segments'
 * condition generator through both, and through the in-memory matcher.
 *
 * In DuckDB a JSON expression is SQL NULL when the path is missing and the JSON `null` when the
 * value is null (`json_type` = 'NULL'); numbers are typed UBIGINT, BIGINT or DOUBLE.
 */
import type { SqlParams } from '../segments/sql-params.js'
import {
  datePointMs,
  foldAscii,
  isNegative,
  positive,
  type Scalar,
  type ValueCondition,
} from '../segments/value-condition.js'

const UNIT_MS = { minutes: 60_000, hours: 3_600_000, days: 86_400_000, weeks: 604_800_000 }

const ISO_RE =
  '^([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.([0-9]{1,9}))?)?)?(Z|([+-])([0-9]{2}):([0-9]{2}))?$'

// RE2 (DuckDB's regex engine) extracts groups 0–9 only: the offset, groups 9–11 of ISO_RE, is
// read with its own pattern, which can only match there (a date or time never ends ±HH:MM).
const OFFSET_RE = '([+-])([0-9]{2}):([0-9]{2})$'
const go = (k: number) =>
  `coalesce(CAST(NULLIF(regexp_extract(s, '${OFFSET_RE}', ${k}), '') AS INTEGER), 0)`
const g = (k: number) =>
  `coalesce(CAST(NULLIF(regexp_extract(s, '${ISO_RE}', ${k}), '') AS INTEGER), 0)`

/**
 * The coercion helpers, as DuckDB macros with the Postgres functions' names and meaning
 * (migration 0100-segments.sql): kindred_num, kindred_bool, kindred_fold, kindred_ts_ms.
 */
export const DUCKDB_INSIGHT_MACROS: readonly string[] = [
  `CREATE OR REPLACE MACRO kindred_num(v) AS CASE
     WHEN json_type(v) IN ('UBIGINT', 'BIGINT', 'HUGEINT', 'DOUBLE')
       THEN CASE WHEN abs(CAST(v AS DOUBLE)) < 1e300 THEN CAST(v AS DOUBLE) END
     WHEN json_type(v) = 'VARCHAR' AND regexp_full_match(v ->> '$', '-?[0-9]{1,15}(\\.[0-9]{1,15})?')
       THEN CAST(v ->> '$' AS DOUBLE)
   END`,
  `CREATE OR REPLACE MACRO kindred_bool(v) AS CASE json_type(v)
     WHEN 'BOOLEAN' THEN CAST(v AS BOOLEAN)
     WHEN 'VARCHAR' THEN CASE v ->> '$' WHEN 'true' THEN true WHEN 'false' THEN false END
   END`,
  `CREATE OR REPLACE MACRO kindred_fold(t) AS
     translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')`,
  `CREATE OR REPLACE MACRO kindred_ts_ms_text(s) AS CASE
     WHEN s IS NULL OR NOT regexp_full_match(s, '${ISO_RE}') THEN NULL
     WHEN ${g(2)} NOT BETWEEN 1 AND 12 OR ${g(3)} NOT BETWEEN 1 AND 31 OR ${g(4)} > 23
       OR ${g(5)} > 59 OR ${g(6)} > 59 OR ${go(2)} > 23 OR ${go(3)} > 59 THEN NULL
     ELSE date_diff('day', DATE '1970-01-01', make_date(${g(1)}, ${g(2)}, 1)) * 86400000.0
       + (${g(3)} - 1) * 86400000.0 + ${g(4)} * 3600000.0 + ${g(5)} * 60000.0 + ${g(6)} * 1000.0
       + CAST(substr(regexp_extract(s, '${ISO_RE}', 7) || '000', 1, 3) AS INTEGER)
       - CASE regexp_extract(s, '${OFFSET_RE}', 1) WHEN '+' THEN 1 WHEN '-' THEN -1 ELSE 0 END
         * (${go(2)} * 3600000.0 + ${go(3)} * 60000.0)
   END`,
  `CREATE OR REPLACE MACRO kindred_ts_ms(v) AS CASE
     WHEN json_type(v) = 'VARCHAR' THEN kindred_ts_ms_text(v ->> '$') END`,
]

function text(x: string, fold: boolean): string {
  return fold ? `kindred_fold(${x} ->> '$')` : `(${x} ->> '$')`
}

function scalarIn(x: string, operands: readonly Scalar[], fold: boolean, p: SqlParams): string {
  const strs = operands.filter((o): o is string => typeof o === 'string')
  const nums = operands.filter((o): o is number => typeof o === 'number')
  const bools = operands.filter((o): o is boolean => typeof o === 'boolean')
  const parts: string[] = []
  const one = operands.length === 1
  if (strs.length > 0) {
    const vals = fold ? strs.map(foldAscii) : strs
    parts.push(
      `(json_type(${x}) = 'VARCHAR' AND ${text(x, fold)} ${
        one ? `= ${p.add(vals[0], 'text')}` : `= ANY(${p.add(vals, 'text[]')})`
      })`,
    )
  }
  if (nums.length > 0)
    parts.push(
      `kindred_num(${x}) ${one ? `= ${p.add(nums[0], 'float8')}` : `= ANY(${p.add(nums, 'float8[]')})`}`,
    )
  if (bools.length > 0)
    parts.push(
      `kindred_bool(${x}) ${one ? `= ${p.add(bools[0], 'boolean')}` : `= ANY(${p.add(bools, 'boolean[]')})`}`,
    )
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' OR ')})`
}

const CMP = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const

function positiveSql(cond: ValueCondition, x: string, p: SqlParams, nowMs: number): string {
  switch (cond.op) {
    case 'neq':
    case 'not_in':
    case 'not_contains':
    case 'not_exists':
      throw new Error('negative operators are compiled through their positive twin')
    case 'eq':
      return scalarIn(x, [cond.value], cond.ignoreCase === true, p)
    case 'in':
      return scalarIn(x, cond.values, cond.ignoreCase === true, p)
    case 'contains': {
      const fold = cond.ignoreCase === true
      const needle = p.add(fold ? foldAscii(cond.value) : cond.value, 'text')
      return (
        `CASE json_type(${x}) WHEN 'VARCHAR' THEN strpos(${text(x, fold)}, ${needle}) > 0 ` +
        `WHEN 'ARRAY' THEN len(list_filter(CAST(${x} AS JSON[]), lambda el: ` +
        `json_type(el) = 'VARCHAR' AND ${text('el', fold)} = ${needle})) > 0 ELSE false END`
      )
    }
    case 'starts_with': {
      const fold = cond.ignoreCase === true
      const prefix = p.add(fold ? foldAscii(cond.value) : cond.value, 'text')
      return `(json_type(${x}) = 'VARCHAR' AND starts_with(${text(x, fold)}, ${prefix}))`
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return `kindred_num(${x}) ${CMP[cond.op]} ${p.add(cond.value, 'float8')}`
    case 'between':
      return `kindred_num(${x}) BETWEEN ${p.add(cond.min, 'float8')} AND ${p.add(cond.max, 'float8')}`
    case 'exists':
      return `json_type(${x}) <> 'NULL'`
    case 'is_true':
      return `kindred_bool(${x})`
    case 'is_false':
      return `NOT kindred_bool(${x})`
    case 'date_within_last':
      return `kindred_ts_ms(${x}) BETWEEN ${p.add(nowMs - cond.amount * UNIT_MS[cond.unit], 'float8')} AND ${p.add(nowMs, 'float8')}`
    case 'date_before':
      return `kindred_ts_ms(${x}) < ${p.add(datePointMs(cond.date, nowMs), 'float8')}`
    case 'date_after':
      return `kindred_ts_ms(${x}) > ${p.add(datePointMs(cond.date, nowMs), 'float8')}`
  }
}

/** `cond` on the DuckDB JSON expression `x` (trusted SQL): never NULL. */
export function compileDuckdbValueCondition(
  cond: ValueCondition,
  x: string,
  p: SqlParams,
  nowMs: number,
): string {
  const pos = `coalesce(${positiveSql(positive(cond), x, p, nowMs)}, false)`
  return isNegative(cond) ? `NOT ${pos}` : pos
}
