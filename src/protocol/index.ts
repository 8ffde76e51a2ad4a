export * from './errors.js'
export * from './limits.js'
export * from './event-schema.js'
export * from './ids.js'
