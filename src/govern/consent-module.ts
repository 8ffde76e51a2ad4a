/**
 * Consent per purpose: the processor stage that captures consent from events (before
 * segments, so consent conditions see it in the same batch), the consent API, and the worker that
 * re-evaluates audiences after a settings change (roles `all` and `dispatcher`).
 */
import { createConsentStage } from './engine/consent/consent-stage.js'
import {
  createConsentReevaluator,
  type ConsentReevaluator,
  type ConsentReevaluatorOptions,
} from './engine/consent/reevaluation.js'
import { consentRoutes } from './http/consent-routes.js'
import { splitConsent } from './engine/consent/consent-split.js'
import type { ModuleFactory } from '../platform/module-contract.js'
import type { GovernDeliveries } from './engine/delivery-port.js'

export type ConsentModuleOptions = Pick<
  ConsentReevaluatorOptions,
  'chunkSize' | 'pollIntervalMs'
> & {
  /**
   * Where audience changes owed to consent go: activate's `createGovernDeliveries()`, handed in
   * by the composition root (govern imports nothing of activate), or `noDeliveries`.
   */
  deliveries: GovernDeliveries
}

export function createConsentModule(options: ConsentModuleOptions): ModuleFactory {
  return (deps) => {
    const { deliveries } = options
    const runsWorker = deps.role === 'all' || deps.role === 'dispatcher'
    const reevaluator: ConsentReevaluator | undefined = runsWorker
      ? createConsentReevaluator({
          ...options,
          db: deps.db,
          logger: deps.logger,
          clock: deps.clock,
        })
      : undefined
    return {
      name: 'consent',
      stages: [createConsentStage(deps.clock, deliveries)],
      profileHooks: { afterSplit: splitConsent },
      routes: [
        consentRoutes({
          deliveries,
          onReevaluationQueued: () => reevaluator?.wake(),
          profileHooks: deps.profileHooks,
        }),
      ],
      start() {
        reevaluator?.start()
        return Promise.resolve()
      },
      async stop() {
        await reevaluator?.stop()
      },
    }
  }
}
