/**
 * Predictions: the `/api/v1/predictions` routes, and the trainer that runs queued trainings in
 * the background on the leased queue (in the `all` and `scheduler` roles; ARCHITECTURE.md puts
 * model training on the scheduler). No processor stage: scores change when a model is trained.
 */
import type { ModuleFactory } from '../platform/module-contract.js'
import {
  createPredictionTrainer,
  type PredictionTrainer,
  type PredictionTrainerOptions,
} from './engine/predictions/prediction-trainer.js'
import { predictionRoutes } from './http/prediction-routes.js'

export type PredictionsModuleOptions = Pick<
  PredictionTrainerOptions,
  | 'pollIntervalMs'
  | 'leaseMs'
  | 'maxTrainingMs'
  | 'minRepeatCustomers'
  | 'maxAttempts'
  | 'chunkSize'
  | 'refreshEveryMs'
>

export function createPredictionsModule(options: PredictionsModuleOptions = {}): ModuleFactory {
  return (deps) => {
    const runsTrainer = deps.role === 'all' || deps.role === 'scheduler'
    const trainer: PredictionTrainer | undefined = runsTrainer
      ? createPredictionTrainer({
          ...options,
          db: deps.db,
          logger: deps.logger,
          clock: () => deps.clock().getTime(),
        })
      : undefined
    return {
      name: 'predictions',
      routes: [predictionRoutes(() => trainer?.wake())],
      start() {
        trainer?.start()
        return Promise.resolve()
      },
      async stop() {
        await trainer?.stop()
      },
    }
  }
}

/** Predictions with default settings. */
export const predictionsModule: ModuleFactory = createPredictionsModule()
