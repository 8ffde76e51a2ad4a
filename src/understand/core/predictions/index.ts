/**
 * What the engines use of the customer-value models: the training entry point, its settings and
 * report, and the trait ids of the outputs.
 */
export {
  clvSettingsSchema,
  trainClv,
  type ClvReport,
  type ClvScore,
  type ClvSettings,
  type ClvTraining,
} from './clv-training.js'
export type { Purchase } from './customer-summary.js'
export {
  CLV_OUTPUTS,
  PREDICTION_NAME_PATTERN,
  predictionOfTraitId,
  predictionTraitId,
  type ClvOutput,
} from './prediction-traits.js'
