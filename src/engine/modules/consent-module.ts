/**
 * Consent per purpose (issue 7): the processor stage that captures consent from events (before
 * segments, so consent conditions see it in the same batch) and the consent API.
 */
import { createConsentStage } from '../consent/stage.js'
import { consentRoutes } from '../../server/consent-routes.js'
import type { ModuleFactory } from './module.js'

export const consentModule: ModuleFactory = (deps) => ({
  name: 'consent',
  stages: [createConsentStage(deps.clock)],
  routes: [consentRoutes()],
})
