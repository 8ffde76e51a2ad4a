/**
 * What other capabilities may use of govern beyond its pure core (`core/index.ts`): the PII
 * policy ingest applies, consent settings, the ingest suppression matcher and retention.
 */
export { loadConsentSettings } from './engine/consent/consent-settings-repository.js'
export { piiPolicyForSource, savePiiSettings } from './engine/pii-settings.js'
export { loadPiiSettings, piiPoliciesFor, type PiiPolicies } from './http/pii-policies.js'
export {
  suppressionMatcher,
  suppressedCounter,
  type SuppressionMatcher,
} from './engine/privacy/suppression-cache.js'
export { createRetentionScheduler, type RetentionScheduler } from './engine/retention.js'
