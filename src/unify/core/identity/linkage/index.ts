/**
 * Probabilistic record linkage (Fellegi–Sunter with EM), pure and in memory.
 *
 * @module
 */
export * from './comparators.js'
export * from './model-config.js'
export * from './fields.js'
export {
  NULL_LEVEL,
  levelLabel,
  prepareField,
  prepareFields,
  resolveFieldConfig,
  buildComparator,
  blockingKeyIds,
  columnDictionary,
  type ColumnDictionary,
  type LinkageRecord,
  type PreparedField,
} from './features.js'
export * from './blocking.js'
export * from './fellegi-sunter.js'
export * from './clustering.js'
export * from './engine.js'
