/**
 * @module destinations
 * Public surface of the destination layer (pure). The dispatcher in src/engine uses:
 * `getDestination` / `runTransform` → effects, `groupEffects` → execution units,
 * `src/activate/engine/executors` → execution, the destination's `classifyResponse` → what to do next.
 */
export * from './contract.js'
export {
  builtinDestinations,
  getDestination,
  listDestinations,
  parseSettings,
  runTransform,
  settingsJsonSchema,
  type BuiltinDestinationId,
  type DestinationTypeId,
} from './registry.js'
export {
  REDACTED,
  decryptSettings,
  decryptValue,
  encryptSettings,
  encryptValue,
  isEncrypted,
  maskUrl,
  mergeSecretUpdate,
  parseSecretKey,
  redactEffectForLog,
  redactSettings,
  secretStrings,
  type RandomBytes,
} from './secrets.js'
export {
  checkTemplate,
  defaultTemplateLimits,
  renderTemplate,
  type TemplateLimits,
} from './template.js'
export { defaultClassify, extractErrorMessage, parseRetryAfter } from './shared/classify.js'
export {
  extractCaptures,
  groupEffects,
  resolveEffect,
  shouldSkip,
  type CaptureValues,
} from './shared/chain.js'
export { signWebhook } from './webhook/transform.js'
