/**
 * What other capabilities may use of govern beyond its pure core (`core/index.ts`): the PII
 * policy ingest applies, consent settings, the ingest suppression matcher, retention, and the
 * delivery port activate implements for consent and privacy.
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
export {
  noDeliveries,
  type ConsentAudienceChange,
  type DeletionForward,
  type DestinationTypeFacts,
  type ForwardedDeletion,
  type ForwardState,
  type GovernDeliveries,
} from './engine/delivery-port.js'
export { readWorkspaceSettings } from './engine/workspace-settings.js'
