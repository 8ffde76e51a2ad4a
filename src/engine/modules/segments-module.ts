import type { ModuleFactory } from './module.js'

/** Computed traits and segments: wired by the segments work (issue 4). */
export const segmentsModule: ModuleFactory = () => ({ name: 'segments' })
