/**
 * @module segments
 * The segment engine's pure core: definitions (zod + JSON Schema), dependencies, the in-memory
 * evaluator and the Postgres compiler. See README.md.
 */
export * from './definition.js'
export * from './evaluate.js'
export * from './compile-sql.js'
export { SqlParams, type SqlQuery } from './sql-params.js'
export {
  valueConditionSchema,
  matchValue,
  compileValueCondition,
  parseIsoMs,
  getPath,
  durationMs,
  type ValueCondition,
  type Duration,
  type PathRef,
} from './value-condition.js'
