import type { ModuleFactory } from './module.js'

/** Batch imports (CSV/JSONL): wired by the import work (issue 8). */
export const importsModule: ModuleFactory = () => ({ name: 'imports' })
