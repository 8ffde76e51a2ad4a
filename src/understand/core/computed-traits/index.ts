/**
 * @module profiles/computed
 * Computed traits: definitions, incremental state (apply / expire / merge / recompute) and the
 * SQL backfill. See src/understand/core/segments/README.md (computed traits section).
 */
export * from './definition.js'
export * from './incremental.js'
export * from './compile-sql.js'
