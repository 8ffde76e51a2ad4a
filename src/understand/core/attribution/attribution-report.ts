/**
 * @module attribution/attribution-report
 * Every model side by side over the same paths, with percentile bootstrap intervals (Efron and
 * Tibshirani 1993, ch. 13): paths are resampled with replacement from a seeded source and every
 * model rerun on each resample. `shouldStop` is handed in so a caller can bound the time spent
 * (no clock here); the report says how many resamples it managed.
 */

import type { AttributionKey, ConversionPath, Credits } from './attribution-paths.js'
import { DEFAULT_HALF_LIFE_MS, heuristicCredits, type HeuristicModel } from './heuristic-models.js'
import { markovCredits } from './markov-model.js'
import { shapleyCredits } from './shapley-model.js'

export type AttributionModel = HeuristicModel | 'markov' | 'shapley'

export const ALL_MODELS: readonly AttributionModel[] = [
  'first-touch',
  'last-touch',
  'linear',
  'time-decay',
  'position-based',
  'markov',
  'shapley',
]

export interface ReportOptions {
  readonly key: AttributionKey
  readonly models?: readonly AttributionModel[]
  readonly halfLifeMs?: number
  readonly markovOrder?: number
  /** Resamples for the intervals (0 for none). */
  readonly bootstrap?: number
  readonly confidence?: number
  readonly random: () => number
  readonly shouldStop?: () => boolean
}

export interface ModelRow {
  readonly key: string
  readonly conversions: number
  readonly revenue: number
  readonly conversionsInterval: readonly [number, number] | null
  readonly revenueInterval: readonly [number, number] | null
}

export interface AttributionReport {
  readonly totals: {
    readonly conversions: number
    readonly revenue: number
    readonly paths: number
  }
  readonly models: Record<string, ModelRow[]>
  readonly bootstrap: {
    readonly requested: number
    readonly completed: number
    readonly confidence: number
  }
  readonly shapley: {
    readonly method: 'exact' | 'sampled'
    readonly standardErrors: Record<string, number>
  } | null
  readonly markov: {
    readonly order: number
    readonly states: number
    readonly removalEffects: Record<string, number>
  } | null
}

function runModel(
  model: AttributionModel,
  paths: readonly ConversionPath[],
  o: ReportOptions,
): Credits {
  if (model === 'markov')
    return markovCredits(paths, { order: o.markovOrder ?? 1, key: o.key }).credits
  if (model === 'shapley') return shapleyCredits(paths, { key: o.key, random: o.random }).credits
  return heuristicCredits(model, paths, {
    key: o.key,
    halfLifeMs: o.halfLifeMs ?? DEFAULT_HALF_LIFE_MS,
  })
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

export function attributionReport(
  paths: readonly ConversionPath[],
  options: ReportOptions,
): AttributionReport {
  const models = options.models ?? ALL_MODELS
  const confidence = options.confidence ?? 0.95
  const converted = paths.filter((p) => p.converted)
  const totals = {
    conversions: converted.length,
    revenue: converted.reduce((s, p) => s + p.revenue, 0),
    paths: paths.length,
  }
  let shapley: AttributionReport['shapley'] = null
  let markov: AttributionReport['markov'] = null
  const point = new Map<AttributionModel, Credits>()
  for (const m of models) {
    if (m === 'shapley') {
      const r = shapleyCredits(paths, { key: options.key, random: options.random })
      shapley = { method: r.method, standardErrors: Object.fromEntries(r.standardErrors) }
      point.set(m, r.credits)
    } else if (m === 'markov') {
      const order = options.markovOrder ?? 1
      const r = markovCredits(paths, { order, key: options.key })
      markov = { order, states: r.states, removalEffects: Object.fromEntries(r.removalEffects) }
      point.set(m, r.credits)
    } else point.set(m, runModel(m, paths, options))
  }
  // samples[model][key] = conversions and revenue per resample
  const samples = new Map(models.map((m) => [m, new Map<string, { c: number[]; r: number[] }>()]))
  const requested = options.bootstrap ?? 0
  let completed = 0
  const resample: ConversionPath[] = new Array<ConversionPath>(paths.length)
  for (let b = 0; b < requested; b++) {
    if (options.shouldStop?.()) break
    for (let i = 0; i < paths.length; i++)
      resample[i] = paths[Math.floor(options.random() * paths.length)]!
    for (const m of models) {
      const credits = runModel(m, resample, options)
      const byKey = samples.get(m)!
      for (const k of point.get(m)!.keys()) {
        const s = byKey.get(k) ?? { c: [], r: [] }
        const v = credits.get(k)
        s.c.push(v?.conversions ?? 0)
        s.r.push(v?.revenue ?? 0)
        byKey.set(k, s)
      }
    }
    completed++
  }
  const lo = (1 - confidence) / 2
  const out: Record<string, ModelRow[]> = {}
  for (const m of models) {
    const rows: ModelRow[] = []
    for (const [k, v] of point.get(m)!) {
      const s = samples.get(m)!.get(k)
      const interval = (xs: number[] | undefined): readonly [number, number] | null => {
        if (!xs || xs.length < 2) return null
        const sorted = [...xs].sort((a, b) => a - b)
        return [quantile(sorted, lo), quantile(sorted, 1 - lo)]
      }
      rows.push({
        key: k,
        conversions: v.conversions,
        revenue: v.revenue,
        conversionsInterval: interval(s?.c),
        revenueInterval: interval(s?.r),
      })
    }
    rows.sort((a, b) => b.conversions - a.conversions || a.key.localeCompare(b.key))
    out[m] = rows
  }
  return { totals, models: out, bootstrap: { requested, completed, confidence }, shapley, markov }
}
