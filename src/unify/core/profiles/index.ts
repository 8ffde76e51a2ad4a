/**
 * @module profiles
 * Golden-record profiles: survivorship settings, trait folding with provenance, merge and split.
 * (Computed traits live in `./computed/`.)
 */
export type { GoldenRecord, TraitRecord, TraitUpdate, TraitView } from './golden-record.js'
export {
  buildGoldenRecord,
  canonicalValue,
  describeTraits,
  emptyGoldenRecord,
  foldTraitUpdates,
  goldenRecordSchema,
  materializeTraits,
  MAX_TRAIT_KEY_LENGTH,
  mergeGoldenRecords,
  reapplySurvivorship,
} from './golden-record.js'
export type { MovedEvent } from './split.js'
export { recomputeSplitRecords } from './split.js'
export type {
  OriginKind,
  Provenance,
  SourceRankEntry,
  SurvivorshipSettings,
  SurvivorshipSettingsInput,
  SurvivorshipStrategy,
  ValueStat,
} from './survivorship.js'
export {
  chooseSurvivor,
  compareProvenance,
  DEFAULT_SURVIVORSHIP_SETTINGS,
  ORIGIN_KINDS,
  originOf,
  sourceKey,
  sourceRankEntrySchema,
  strategyFor,
  SURVIVORSHIP_STRATEGIES,
  survivorshipSettingsSchema,
  survivorshipStrategySchema,
} from './survivorship.js'
export type { TraitSourceEvent } from './trait-updates.js'
export { traitUpdateFromEvent, traitUpdateFromImport } from './trait-updates.js'
