/**
 * @module identity
 * Identity resolution, pure: identifier extraction and normalisation (of traits too), per-workspace rules, merge
 * planning for a micro-batch, split planning, and an in-memory graph that applies plans.
 * (Fuzzy matching lives in `./linkage/`.)
 */
export type { IdentityErrorCode } from './identity-errors.js'
export { IDENTITY_ERROR_CODES, IdentityError } from './identity-errors.js'
export type {
  ExtractedIdentifiers,
  IdentifierHints,
  Identifier,
  IdentitySourceEvent,
  NormalizeResult,
  RejectedIdentifier,
  RejectionReason,
} from './identifiers.js'
export {
  extractIdentifiers,
  identifierKey,
  normalizeIdentifier,
  normalizeIdentifierType,
  parseIdentifierKey,
} from './identifiers.js'
export type { GraphProfile, GraphState } from './identity-graph.js'
export { IdentityGraph } from './identity-graph.js'
export type {
  Attachment,
  CapHit,
  DroppedIdentifier,
  DropReason,
  EventResolution,
  GraphSnapshot,
  IdentityPlan,
  MergeRecord,
  MergeRule,
  NewProfile,
  PlanInput,
  PlannerEvent,
  ProfileState,
  SnapshotProfile,
} from './merge-planner.js'
export { identifiersToLookup, planIdentity } from './merge-planner.js'
export type { ProfileIdGenerator, ProfileIdSeed } from './profile-ids.js'
export { deterministicProfileIds } from './profile-ids.js'
export type {
  BuiltinIdentifierType,
  CompiledIdentityRules,
  IdentityRules,
  IdentityRulesInput,
} from './rules.js'
export {
  BUILTIN_IDENTIFIER_TYPES,
  compileIdentityRules,
  CUSTOM_TYPES_SLOT,
  DEFAULT_BLOCKED_VALUES,
  DEFAULT_CAPS,
  DEFAULT_IDENTITY_RULES,
  DEFAULT_LIMITS,
  DEFAULT_MAX_IDENTIFIER_LENGTH,
  DEFAULT_PRIORITY,
  identifierTypeSchema,
  identityRulesSchema,
  parseIdentityRules,
} from './rules.js'
export type {
  CompiledNormalization,
  DateOrder,
  NormalizationRules,
  NormalizationRulesInput,
  NormalizationView,
  TextCase,
  TextRule,
  TraitRule,
  UnicodeForm,
  ValueKind,
} from './normalization-rules.js'
export {
  compileNormalization,
  DATE_ORDERS,
  DEFAULT_IDENTIFIER_RULES,
  DEFAULT_TEXT_RULE,
  DEFAULT_TRAIT_RULES,
  describeNormalization,
  normalizationRulesSchema,
  TEXT_CASES,
  UNICODE_FORMS,
  VALUE_KINDS,
} from './normalization-rules.js'
export type { TraitNormalizationHints, ValueContext } from './value-normalizer.js'
export {
  countryCode,
  countryFromTraits,
  dateToIso,
  normalizeText,
  normalizeTraits,
  normalizeValue,
  phoneCountryFor,
  phoneToE164,
} from './value-normalizer.js'
export type { SplitEvent, SplitInput, SplitPlan, SplitRecord } from './split-planner.js'
export { planSplit } from './split-planner.js'
export type { GraphDiff } from './graph-diff.js'
export { diffGraphs } from './graph-diff.js'
export type {
  MatchPlan,
  MatchPlanInput,
  MatchProfile,
  PlannedMerge,
  QueueReason,
  QueuedPair,
  ScoredPair,
} from './match-planner.js'
export { pairKey, planMatches } from './match-planner.js'
export type { ExclusiveValues, IdentifierConflict } from './match-evidence.js'
export {
  describeConflicts,
  exclusiveIdentifierTypes,
  exclusiveKey,
  exclusiveValues,
  identifierConflicts,
  unionValues,
} from './match-evidence.js'
