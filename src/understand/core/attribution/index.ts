/** The attribution core's surface for the engine. */
export * from './attribution-paths.js'
export * from './attribution-report.js'
export * from './heuristic-models.js'
export * from './markov-model.js'
export * from './shapley-model.js'
export * from './touchpoint-channel.js'
