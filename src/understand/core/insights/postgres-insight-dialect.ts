/**
 * @module postgres-insight-dialect
 * Insights on the store's `events` table (PGlite or a Postgres server): properties are jsonb and
 * conditions are the segments' own SQL (`compileValueCondition`, with the helper functions of
 * migration 0100), so a filter means in an insight what it means in a segment.
 */
import { jsonPathSql } from '../segments/compile-sql.js'
import type { SqlParams } from '../segments/sql-params.js'
import { compileValueCondition } from '../segments/value-condition.js'
import type { EventsScope, InsightDialect } from './insight-dialect.js'

const iso = (ms: number): string => new Date(ms).toISOString()

export const postgresInsightDialect: InsightDialect = {
  name: 'postgres',
  events(scope: EventsScope, p: SqlParams): string {
    const where = [`workspace_id = ${p.add(scope.workspaceId, 'text')}`]
    if (scope.lo !== undefined) where.push(`"timestamp" >= ${p.add(iso(scope.lo), 'timestamptz')}`)
    if (scope.hi !== undefined) where.push(`"timestamp" < ${p.add(iso(scope.hi), 'timestamptz')}`)
    if (scope.names !== undefined)
      where.push(
        scope.names.length === 1
          ? `event = ${p.add(scope.names[0], 'text')}`
          : `event = ANY(${p.add([...scope.names], 'text[]')})`,
      )
    return (
      `SELECT e.profile_id, e.event, e.type, e.properties, e.ms, ` +
      `(e.lt::date - DATE '1970-01-01') AS dn, ` +
      `(extract(year FROM e.lt)::int * 12 + extract(month FROM e.lt)::int - 1) AS mi ` +
      `FROM (SELECT profile_id, event, type, properties, ` +
      `floor(extract(epoch FROM "timestamp") * 1000)::bigint AS ms, ` +
      `"timestamp" AT TIME ZONE ${p.add(scope.timeZone, 'text')} AS lt ` +
      `FROM events WHERE ${where.join(' AND ')}) e`
    )
  },
  property(col, path, p) {
    return `(${jsonPathSql(col, [...path], p)})`
  },
  condition(cond, x, p, nowMs) {
    return compileValueCondition(cond, x, p, nowMs)
  },
  num: (x) => `kindred_num(${x})`,
  breakdown(x) {
    const inRange = `abs((${x})::numeric) < 1e300`
    return {
      kind:
        `CASE jsonb_typeof(${x}) WHEN 'string' THEN 'string' WHEN 'boolean' THEN 'boolean' ` +
        `WHEN 'number' THEN CASE WHEN ${inRange} THEN 'number' END END`,
      num:
        `CASE jsonb_typeof(${x}) WHEN 'number' THEN CASE WHEN ${inRange} THEN (${x})::float8 END ` +
        `WHEN 'boolean' THEN CASE WHEN (${x})::boolean THEN 1.0 ELSE 0.0 END END`,
      str: `CASE WHEN jsonb_typeof(${x}) = 'string' THEN ${x} #>> '{}' END`,
    }
  },
  idiv: (a, b) => `((${a}) / (${b}))`,
  median: (x) => `percentile_cont(0.5) WITHIN GROUP (ORDER BY (${x})::float8)`,
  byCodePoint: (x) => `(${x}) COLLATE "C"`,
  round6: (x) => `round((${x})::numeric, 6)::float8`,
  float: (x) => `(${x})::float8`,
  int: (x) => `(${x})::int`,
}
