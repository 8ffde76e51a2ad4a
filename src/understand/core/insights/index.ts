/**
 * @module insights
 * Insights' pure core: definitions (trends, funnels, retention, RFM), the reference evaluator,
 * and the planner that compiles a definition to SQL for Postgres (the store) and DuckDB
 * (Parquet). See README.md.
 */
export * from './insight-definition.js'
export * from './insight-result.js'
export { evaluateInsight, referenceFunnelProfiles, type InsightEvent } from './insight-reference.js'
export {
  planInsight,
  planFunnelProfiles,
  type InsightPlan,
  type PlanTarget,
  type PlannedStatement,
  type FunnelProfilesQuery,
  type Row,
} from './insight-planner.js'
export type { InsightDialect, EventsScope } from './insight-dialect.js'
export { postgresInsightDialect } from './postgres-insight-dialect.js'
export { duckdbInsightDialect, type DuckdbEventSource } from './duckdb-insight-dialect.js'
export { DUCKDB_INSIGHT_MACROS } from './duckdb-value-condition.js'
export { resolveInsight, type InsightContext, type BreakdownValue } from './insight-resolve.js'
export { isTimeZone } from './insight-calendar.js'
export { RFM_GROUPS, rfmGroup, type RfmGroup } from './rfm-groups.js'
export { insightCsv } from './insight-csv.js'
