/**
 * @module insight-dialect
 * What differs between the two SQL backends of insights, and nothing else: where the events
 * come from, how a JSON property is read and tested, how an instant becomes a local day, a few
 * function names. The planner (insight-planner.ts) writes every statement once against this
 * interface; `postgres-insight-dialect.ts` and `duckdb-insight-dialect.ts` implement it.
 *
 * The events relation a dialect provides has these columns, whatever the storage:
 * `profile_id` text, `event` text, `type` text, `properties` (jsonb / JSON text), `ms` (epoch
 * milliseconds, integer), `dn` (local day number in the zone), `mi` (local month index).
 */
import type { SqlParams } from '../segments/sql-params.js'
import type { ValueCondition } from '../segments/value-condition.js'

export interface EventsScope {
  workspaceId: string
  timeZone: string
  /** Instants [lo, hi) in epoch ms; undefined = unbounded. */
  lo?: number | undefined
  hi?: number | undefined
  /** Only these event names (the planner passes them when every filter names one). */
  names?: readonly string[] | undefined
}

export interface InsightDialect {
  readonly name: 'postgres' | 'duckdb'
  /** A subquery (without alias) producing the normalised events relation. */
  events(scope: EventsScope, p: SqlParams): string
  /** The JSON value at `path` in the properties expression `col` (SQL NULL when missing). */
  property(col: string, path: readonly string[], p: SqlParams): string
  /** A value condition on a JSON expression: never NULL, true exactly when `matchValue` is. */
  condition(cond: ValueCondition, x: string, p: SqlParams, nowMs: number): string
  /** A JSON value as float8 by the segments' number rule (`kindred_num`), else NULL. */
  num(x: string): string
  /** Breakdown columns of a JSON value: kind ('boolean' | 'number' | 'string' | NULL), number
   * (booleans as 0/1) and string. */
  breakdown(x: string): { kind: string; num: string; str: string }
  /** Integer division of integers, truncating. */
  idiv(a: string, b: string): string
  /** Median (linear interpolation) of a numeric expression, as float8. */
  median(x: string): string
  /** A text expression ordered by code point. */
  byCodePoint(x: string): string
  /** Rounds a float8 to 6 decimals, half away from zero. */
  round6(x: string): string
  /** Casts to the float8 and int types this dialect spells. */
  float(x: string): string
  int(x: string): string
}
