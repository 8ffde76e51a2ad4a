/**
 * The linkage pipeline, pure and in memory: prepare fields → block → compare → estimate (EM) →
 * score (with term-frequency adjustment) → cluster (dedupe) or list pairs (link).
 *
 * @module
 */
import { clusterPairs } from './clustering.js'
import { DomainError } from '../../../../protocol/errors.js'
import { dedupeCandidatePairs, linkCandidatePairs, type CandidatePairs } from './blocking.js'
import {
  aggregatePatterns,
  boundMismatches,
  expectationMaximisation,
  initialM,
  initialU,
  levelFrequencies,
  levelWeights,
  priorWeight,
  probabilityFromWeight,
  type FsParameters,
} from './fellegi-sunter.js'
import {
  blockingKeyIds,
  columnDictionary,
  prepareFields,
  resolveFieldConfig,
  type ColumnDictionary,
  type LinkageRecord,
  type PreparedField,
} from './features.js'
import { defaultBlockingRules, detectFields, isIdentifierKind } from './fields.js'
import {
  parseModelConfig,
  type BlockingRule,
  type FieldConfig,
  type ModelConfig,
  type ModelConfigInput,
  type TrainedParameters,
} from './model-config.js'

/** Default match-probability threshold for both dedupe and link. */
export const DEFAULT_THRESHOLD = 0.9

export type LinkageErrorCode =
  | 'LINKAGE_NO_FIELDS'
  | 'LINKAGE_NO_BLOCKING_RULES'
  | 'LINKAGE_UNKNOWN_COLUMN'
  | 'LINKAGE_BAD_PARAMETERS'
  | 'LINKAGE_UNKNOWN_LABEL_ID'

/** A linkage failure with a stable code and a message saying what to change. */
export class LinkageError extends DomainError<LinkageErrorCode> {
  constructor(code: LinkageErrorCode, message: string, details?: unknown) {
    super('invalid_input', code, message, { details })
  }
}

/** A deterministic pseudo-random source in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface LinkageOptions {
  /** The model config (contents of `model.json`); parsed and validated here. */
  readonly config?: ModelConfigInput | ModelConfig
  /** The id column: never compared; used to resolve labelled pairs. */
  readonly idColumn?: string
  /** Column names; defaults to the keys of the first record. */
  readonly columns?: readonly string[]
  /** Match-probability threshold; defaults to the config's, else 0.9. */
  readonly threshold?: number
  /** Random source for sampling random pairs (u estimation); seeded from the config if absent. */
  readonly random?: () => number
}

/** The result shared by dedupe and link. Pair `k` is (`pairs.left[k]`, `pairs.right[k]`). */
export interface LinkageRun {
  readonly mode: 'dedupe' | 'link'
  readonly fields: readonly PreparedField[]
  readonly blockingRules: readonly BlockingRule[]
  readonly pairs: CandidatePairs
  /** `pairs.count × fields.length` comparison levels. */
  readonly gamma: Uint8Array
  /** Match weight (log2 odds, prior included) per pair. */
  readonly weights: Float64Array
  readonly probabilities: Float64Array
  readonly params: FsParameters
  readonly levelWeights: readonly Float64Array[]
  /** Per field, per dictionary id: log2 term-frequency adjustment of an exact match. */
  readonly tfAdjustments: readonly (Float64Array | null)[]
  readonly prior: number
  readonly threshold: number
  readonly em: { readonly iterations: number; readonly converged: boolean } | null
  readonly config: ModelConfig
  /** Per pair: 1 when its given name and surname were compared swapped; null when off. */
  readonly nameSwapped: Uint8Array | null
}

export interface DedupeResult extends LinkageRun {
  /** Per record: the index of the first record of its cluster. */
  readonly clusters: Int32Array
  readonly clusterCount: number
}

export type LinkResult = LinkageRun

/** One field's contribution to a pair's match weight. */
export interface FieldContribution {
  readonly field: string
  readonly level: string
  readonly levelIndex: number
  readonly left: string | null
  readonly right: string | null
  /** log2(m/u) of the level. */
  readonly weight: number
  /** Extra log2 weight for how rare (positive) or common (negative) the agreed value is. */
  readonly tfAdjustment: number
}

export interface PairExplanation {
  readonly left: number
  readonly right: number
  readonly prior: number
  readonly weight: number
  readonly probability: number
  readonly fields: readonly FieldContribution[]
}

/** Resolves which fields are compared: the config's, else detected from the column names. */
export function resolveFields(
  config: ModelConfig,
  columns: readonly string[],
  idColumn: string | undefined,
): FieldConfig[] {
  const fields = config.fields ?? detectFields(columns, idColumn, config.exclude)
  for (const f of fields) {
    if (!columns.includes(f.column)) {
      throw new LinkageError(
        'LINKAGE_UNKNOWN_COLUMN',
        `Field column "${f.column}" is not in the input (columns: ${columns.join(', ')}); fix the config.`,
      )
    }
  }
  if (fields.length === 0) {
    throw new LinkageError(
      'LINKAGE_NO_FIELDS',
      `No column to compare: none of ${columns.join(', ')} was recognised; list the fields in the config.`,
    )
  }
  return fields.map(resolveFieldConfig)
}

function resolveRules(
  config: ModelConfig,
  fields: readonly FieldConfig[],
  columns: readonly string[],
): BlockingRule[] {
  const rules = config.blocking ?? defaultBlockingRules(fields)
  for (const r of rules) {
    for (const k of r.keys) {
      for (const c of [k.column, ...(k.with ? [k.with] : [])]) {
        if (!columns.includes(c)) {
          throw new LinkageError(
            'LINKAGE_UNKNOWN_COLUMN',
            `Blocking column "${c}" is not in the input; fix the config's blocking rules.`,
          )
        }
      }
    }
  }
  if (rules.length === 0) {
    throw new LinkageError(
      'LINKAGE_NO_BLOCKING_RULES',
      'No blocking rule applies to these columns; add "blocking" rules to the config.',
    )
  }
  return rules
}

function columnsOf(
  options: LinkageOptions,
  sides: readonly (readonly LinkageRecord[])[],
): string[] {
  if (options.columns) return [...options.columns]
  const first = sides.find((s) => s.length > 0)?.[0]
  return first ? Object.keys(first) : []
}

/** Comparison levels of the given pairs, field-major loop for locality. */
export function computeGamma(
  fields: readonly PreparedField[],
  leftSide: number,
  rightSide: number,
  left: Uint32Array,
  right: Uint32Array,
  count: number,
): Uint8Array {
  const f = fields.length
  const gamma = new Uint8Array(count * f)
  for (let k = 0; k < f; k++) {
    const field = fields[k]!
    const a = field.ids[leftSide]!
    const b = field.ids[rightSide]!
    const compare = field.compare
    for (let p = 0; p < count; p++) {
      const ia = a[left[p]!]!
      const ib = b[right[p]!]!
      gamma[p * f + k] = ia < 0 || ib < 0 ? 0 : compare(ia, ib)
    }
  }
  return gamma
}

function termFrequencyAdjustments(
  fields: readonly PreparedField[],
  config: ModelConfig,
): (Float64Array | null)[] {
  return fields.map((field) => {
    if (!config.termFrequency.enabled || !field.termFrequency) return null
    if (field.levels[0]?.type !== 'exact') return null
    // u of an exact match over all record pairs ≈ Σ f², the chance two random values agree.
    let uExact = 0
    for (const x of field.frequency) uExact += x * x
    const adj = new Float64Array(field.frequency.length)
    for (let v = 0; v < adj.length; v++) {
      adj[v] = Math.log2(uExact / Math.max(field.frequency[v]!, config.termFrequency.minFrequency))
    }
    return adj
  })
}

function sampleRandomPairs(
  sizes: readonly [number, number],
  same: boolean,
  sampleSize: number,
  random: () => number,
): { left: Uint32Array; right: Uint32Array; count: number } {
  const [nl, nr] = sizes
  const possible = same ? (nl * (nl - 1)) / 2 : nl * nr
  const count = Math.max(0, Math.min(sampleSize, possible))
  const left = new Uint32Array(count)
  const right = new Uint32Array(count)
  let k = 0
  while (k < count) {
    const i = Math.floor(random() * nl)
    const j = Math.floor(random() * nr)
    if (same && i === j) continue
    left[k] = i
    right[k] = j
    k++
  }
  return { left, right, count }
}

function parametersFromConfig(
  trained: TrainedParameters,
  fields: readonly PreparedField[],
): FsParameters {
  const m: Float64Array[] = []
  const u: Float64Array[] = []
  for (const f of fields) {
    const p = trained.fields[f.name]
    if (!p || p.m.length !== f.levelCount - 1 || p.u.length !== f.levelCount - 1) {
      throw new LinkageError(
        'LINKAGE_BAD_PARAMETERS',
        `Trained parameters for field "${f.name}" are missing or have the wrong number of levels (need ${f.levelCount - 1}); retrain or remove "parameters".`,
      )
    }
    m.push(Float64Array.from([0, ...p.m]))
    u.push(Float64Array.from([0, ...p.u]))
  }
  return { lambda: trained.lambda, m, u }
}

/** The trained parameters of a run, in the `model.json` "parameters" format. */
export function exportParameters(run: LinkageRun): TrainedParameters {
  const fields: TrainedParameters['fields'] = {}
  run.fields.forEach((f, k) => {
    fields[f.name] = {
      m: Array.from(run.params.m[k]!.subarray(1)),
      u: Array.from(run.params.u[k]!.subarray(1)),
    }
  })
  return { lambda: run.params.lambda, fields }
}

function runLinkage(
  mode: 'dedupe' | 'link',
  sides: readonly (readonly LinkageRecord[])[],
  options: LinkageOptions,
): LinkageRun {
  const config = parseModelConfig(options.config ?? {})
  const columns = columnsOf(options, sides)
  const fieldConfigs = resolveFields(config, columns, options.idColumn)
  const rules = resolveRules(config, fieldConfigs, columns)
  const gi = fieldConfigs.findIndex((f) => f.kind === 'givenName')
  const si = fieldConfigs.findIndex((f) => f.kind === 'surname')
  const swap = config.nameSwap && gi >= 0 && si >= 0 ? { given: gi, surname: si } : null
  const fields = fieldConfigs.map((f) => (swap ? null : prepareFields([f], sides)[0]!))
  if (swap) {
    const [given, surname] = prepareFields([fieldConfigs[gi]!, fieldConfigs[si]!], sides)
    fieldConfigs.forEach((f, k) => {
      fields[k] = k === gi ? given! : k === si ? surname! : prepareFields([f], sides)[0]!
    })
  }
  return runPrepared(mode, sides, options, config, rules, fields as PreparedField[], swap)
}

/** Given-name and surname field indexes whose swapped values are recognised. */
interface NameSwap {
  readonly given: number
  readonly surname: number
}

/**
 * Re-grades pairs whose given name and surname are swapped: when both cross comparisons reach
 * the first two levels (exact or the first fuzzy level) while the direct ones do worse, the two
 * fields take the cross levels. Returns a flag per pair (1 = swapped).
 */
export function applyNameSwap(
  gamma: Uint8Array,
  fields: readonly PreparedField[],
  swap: NameSwap,
  leftSide: number,
  rightSide: number,
  left: Uint32Array,
  right: Uint32Array,
  count: number,
): Uint8Array {
  const f = fields.length
  const g = fields[swap.given]!
  const s = fields[swap.surname]!
  const flags = new Uint8Array(count)
  const gl = g.ids[leftSide]!
  const sl = s.ids[leftSide]!
  const gr = g.ids[rightSide]!
  const sr = s.ids[rightSide]!
  for (let p = 0; p < count; p++) {
    const lg = gamma[p * f + swap.given]!
    const ls = gamma[p * f + swap.surname]!
    if (lg === 0 || ls === 0 || (lg <= 2 && ls <= 2)) continue
    const i = left[p]!
    const j = right[p]!
    const cg = g.compare(gl[i]!, sr[j]!)
    if (cg > 2 || cg >= lg) continue
    const cs = s.compare(sl[i]!, gr[j]!)
    if (cs > 2 || cs >= ls) continue
    gamma[p * f + swap.given] = cg
    gamma[p * f + swap.surname] = cs
    flags[p] = 1
  }
  return flags
}

function runPrepared(
  mode: 'dedupe' | 'link',
  sides: readonly (readonly LinkageRecord[])[],
  options: LinkageOptions,
  config: ModelConfig,
  rules: BlockingRule[],
  fields: PreparedField[],
  swap: NameSwap | null,
): LinkageRun {
  const dictionaries = new Map<string, ColumnDictionary>(fields.map((f) => [f.column, f]))
  const dictionaryOf = (column: string): ColumnDictionary => {
    let d = dictionaries.get(column)
    if (!d) dictionaries.set(column, (d = columnDictionary(column, sides)))
    return d
  }
  const keys = rules.map((r) => blockingKeyIds(r, sides, dictionaryOf))
  const maxBlock = config.maxBlockSize ?? Number.POSITIVE_INFINITY
  const leftSide = 0
  const rightSide = mode === 'dedupe' ? 0 : 1
  const pairs =
    mode === 'dedupe'
      ? dedupeCandidatePairs(
          keys.map((k) => k[0]!),
          maxBlock,
        )
      : linkCandidatePairs(
          keys.map((k) => k[0]!),
          keys.map((k) => k[1]!),
          maxBlock,
        )
  const gamma = computeGamma(fields, leftSide, rightSide, pairs.left, pairs.right, pairs.count)
  const swapped = swap
    ? applyNameSwap(gamma, fields, swap, leftSide, rightSide, pairs.left, pairs.right, pairs.count)
    : null
  const levelCounts = fields.map((f) => f.levelCount)

  // Identifier fields: a disagreement is evidence against, whatever EM made of it (EM puts m ≈ u
  // there when identity resolution has joined every pair that agreed before matching runs).
  const maxMismatchM = fields.map((f) =>
    isIdentifierKind(f.kind) ? config.identifierDisagreement : null,
  )
  let params: FsParameters
  let em: LinkageRun['em'] = null
  if (config.parameters) {
    // Kept models trained before the bound (or edited by hand) obey it too.
    params = parametersFromConfig(config.parameters, fields)
    boundMismatches(params, maxMismatchM)
  } else {
    const random = options.random ?? seededRandom(config.seed)
    const sizes: [number, number] = [sides[0]!.length, sides[rightSide]!.length]
    // u only seeds EM (which re-estimates it unless fixU), so small inputs need few pairs.
    const sampleSize = config.em.fixU
      ? config.em.uSampleSize
      : Math.min(config.em.uSampleSize, 10 * (sizes[0] + sizes[1]))
    const sample = sampleRandomPairs(sizes, mode === 'dedupe', sampleSize, random)
    const sampleGamma = computeGamma(
      fields,
      leftSide,
      rightSide,
      sample.left,
      sample.right,
      sample.count,
    )
    const u =
      sample.count > 0
        ? levelFrequencies(sampleGamma, sample.count, levelCounts)
        : levelCounts.map(initialU)
    const init: FsParameters = {
      lambda: config.em.initialLambda,
      m: levelCounts.map(initialM),
      u,
    }
    const labelled = labelledGamma(config, fields, sides, options.idColumn, mode, swap)
    const result = expectationMaximisation(
      aggregatePatterns(gamma, pairs.count, levelCounts),
      init,
      {
        maxIterations: config.em.maxIterations,
        tolerance: config.em.tolerance,
        fixU: config.em.fixU,
        ...(labelled ? { labelled } : {}),
      },
    )
    // After EM, not inside it: bounded during EM, a field on which true duplicates often
    // disagree (a CRM row with another phone) pulls the "match" class onto the pairs that agree
    // on it, and the duplicates with another phone lose the evidence of all their other fields.
    params = result.params
    boundMismatches(params, maxMismatchM)
    em = { iterations: result.iterations, converged: result.converged }
  }

  const lw = levelWeights(params)
  const tf = termFrequencyAdjustments(fields, config)
  const prior = priorWeight(params.lambda)
  const weights = new Float64Array(pairs.count)
  const probabilities = new Float64Array(pairs.count)
  const f = fields.length
  weights.fill(prior)
  for (let k = 0; k < f; k++) {
    const w = lw[k]!
    const adj = tf[k]
    const ids = fields[k]!.ids[leftSide]!
    const swappable = swapped !== null && (k === swap?.given || k === swap?.surname)
    for (let p = 0; p < pairs.count; p++) {
      const l = gamma[p * f + k]!
      let x = w[l]!
      // A swapped name's frequency belongs to the other column: no TF adjustment then.
      if (l === 1 && adj && !(swappable && swapped[p] === 1)) x += adj[ids[pairs.left[p]!]!]!
      weights[p]! += x
    }
  }
  for (let p = 0; p < pairs.count; p++) probabilities[p] = probabilityFromWeight(weights[p]!)
  return {
    mode,
    fields,
    blockingRules: rules,
    pairs,
    gamma,
    weights,
    probabilities,
    params,
    levelWeights: lw,
    tfAdjustments: tf,
    prior,
    threshold: options.threshold ?? config.threshold ?? DEFAULT_THRESHOLD,
    em,
    config,
    nameSwapped: swapped,
  }
}

function labelledGamma(
  config: ModelConfig,
  fields: readonly PreparedField[],
  sides: readonly (readonly LinkageRecord[])[],
  idColumn: string | undefined,
  mode: 'dedupe' | 'link',
  swap: NameSwap | null,
): { levels: Uint8Array; match: Uint8Array } | undefined {
  if (config.labels.length === 0) return undefined
  if (!idColumn) {
    throw new LinkageError(
      'LINKAGE_UNKNOWN_LABEL_ID',
      'Labelled pairs need the id column; pass idColumn.',
    )
  }
  const index = (side: readonly LinkageRecord[]): Map<string, number> => {
    const m = new Map<string, number>()
    side.forEach((r, i) => {
      const id = r[idColumn]
      if (id !== null && id !== undefined) m.set(id, i)
    })
    return m
  }
  const li = index(sides[0]!)
  const ri = mode === 'dedupe' ? li : index(sides[1]!)
  const left = new Uint32Array(config.labels.length)
  const right = new Uint32Array(config.labels.length)
  const match = new Uint8Array(config.labels.length)
  config.labels.forEach((l, q) => {
    const a = li.get(l.left)
    const b = ri.get(l.right)
    if (a === undefined || b === undefined) {
      throw new LinkageError(
        'LINKAGE_UNKNOWN_LABEL_ID',
        `Labelled pair (${l.left}, ${l.right}) names a record id that is not in the input; fix or remove it.`,
      )
    }
    left[q] = a
    right[q] = b
    match[q] = l.match ? 1 : 0
  })
  const rightSide = mode === 'dedupe' ? 0 : 1
  const levels = computeGamma(fields, 0, rightSide, left, right, left.length)
  if (swap) applyNameSwap(levels, fields, swap, 0, rightSide, left, right, left.length)
  return { levels, match }
}

/**
 * Finds duplicate records within one dataset and groups them into clusters.
 * @example
 * const result = dedupeRecords(rows, { idColumn: 'rec_id' })
 * rows.map((r, i) => rows[result.clusters[i]!]!.rec_id) // cluster id per row
 */
export function dedupeRecords(
  records: readonly LinkageRecord[],
  options: LinkageOptions = {},
): DedupeResult {
  const run = runLinkage('dedupe', [records], options)
  const clusters = clusterPairs(
    records.length,
    run.pairs.left,
    run.pairs.right,
    run.probabilities,
    run.pairs.count,
    run.threshold,
    run.config.clustering,
  )
  let clusterCount = 0
  for (let i = 0; i < clusters.length; i++) if (clusters[i] === i) clusterCount++
  return { ...run, clusters, clusterCount }
}

/** Scores candidate pairs between two datasets (`pairs.left` indexes `left`, `pairs.right` `right`). */
export function linkRecords(
  left: readonly LinkageRecord[],
  right: readonly LinkageRecord[],
  options: LinkageOptions = {},
): LinkResult {
  return runLinkage('link', [left, right], options)
}

/** Indexes of the pairs whose probability is at or above the run's threshold (or `threshold`). */
export function pairsAbove(run: LinkageRun, threshold = run.threshold): number[] {
  const out: number[] = []
  for (let p = 0; p < run.pairs.count; p++) if (run.probabilities[p]! >= threshold) out.push(p)
  return out
}

/** Explains the score of candidate pair `k`: prior, then each field's level and weight. */
export function explainPair(run: LinkageRun, k: number): PairExplanation {
  const f = run.fields.length
  const left = run.pairs.left[k]!
  const right = run.pairs.right[k]!
  const rightSide = run.mode === 'dedupe' ? 0 : 1
  const fields = run.fields.map((field, q): FieldContribution => {
    const l = run.gamma[k * f + q]!
    const a = field.ids[0]![left]!
    const b = field.ids[rightSide]![right]!
    const adj = run.tfAdjustments[q]
    const swapped =
      run.nameSwapped?.[k] === 1 &&
      (field.kind === 'givenName' || field.kind === 'surname') &&
      run.config.nameSwap
    // When swapped, the right-hand value compared is the other name column's.
    const other = swapped
      ? run.fields.find((x) => x.kind === (field.kind === 'givenName' ? 'surname' : 'givenName'))
      : undefined
    const rb = other ? other.ids[rightSide]![right]! : b
    return {
      field: field.name,
      level: swapped ? `${field.levelLabels[l]!} (names swapped)` : field.levelLabels[l]!,
      levelIndex: l,
      left: a >= 0 ? field.values[a]! : null,
      right: rb >= 0 ? field.values[rb]! : null,
      weight: run.levelWeights[q]![l]!,
      tfAdjustment: l === 1 && adj && !swapped ? adj[a]! : 0,
    }
  })
  return {
    left,
    right,
    prior: run.prior,
    weight: run.weights[k]!,
    probability: run.probabilities[k]!,
    fields,
  }
}
