/**
 * @module privacy
 * Consent per purpose: workspace settings, extraction from events, the decision function and
 * the fold of decisions into current state and history. Pure (no I/O, no clock).
 */
export {
  consentSettingsSchema,
  consentStatusSchema,
  defaultConsentSettings,
  defaultPurposes,
  purposeNameSchema,
  unknownDefaultSchema,
  type ConsentSettings,
  type ConsentSettingsInput,
  type ConsentStatus,
  type UnknownDefault,
} from './consent-settings.js'
export { carriesConsent, extractConsent } from './consent-extract.js'
export {
  allowed,
  consentKey,
  defaultFlips,
  latestDecisions,
  planConsent,
  type ConsentObservation,
  type ConsentPlan,
  type ConsentSource,
  type ConsentState,
  type ConsentTransition,
  type CurrentConsent,
  type DefaultFlip,
} from './consent-policy.js'
