/**
 * @module profiles/golden-record
 * The golden record: one value per trait, chosen by survivorship from every observation, with
 * provenance (source, time, event) for the survivor and the losing values kept as history.
 *
 * Folding is order-independent: a record keeps per-value statistics (count, first and last
 * observation, last observation per source) and the survivor is a pure function of them. So
 * folding events in any order, merging two records, or recomputing from the events after a split
 * all agree (as long as no trait exceeds `maxValuesPerTrait` distinct values).
 */
import { z } from 'zod'
import type { Provenance, SurvivorshipSettings, ValueStat } from './survivorship.js'
import { chooseSurvivor, compareProvenance, sourceKey, strategyFor } from './survivorship.js'
import type { SurvivorshipStrategy } from './survivorship.js'

/** One observation batch: the traits an event (or import row) set, and where they came from. */
export interface TraitUpdate {
  sourceId: string
  messageId: string
  /** Epoch milliseconds. */
  at: number
  kind?: string
  traits: Record<string, unknown>
}

export interface TraitRecord {
  /** The surviving value. */
  value: unknown
  /** The observation the survivor stands on. */
  provenance: Provenance
  /** Every remembered distinct value, the survivor included, most recently seen first. */
  values: ValueStat[]
  /** Losing values forgotten because of `maxValuesPerTrait`. */
  truncated: number
}

export interface GoldenRecord {
  traits: Record<string, TraitRecord>
}

const provenanceSchema = z.object({
  sourceId: z.string(),
  messageId: z.string(),
  at: z.number(),
  kind: z.string().optional(),
})
const valueStatSchema = z.object({
  value: z.unknown(),
  count: z.number().int().min(1),
  first: provenanceSchema,
  last: provenanceSchema,
  sources: z.record(z.string(), provenanceSchema),
})
/** For records read back from storage (jsonb). */
export const goldenRecordSchema = z.object({
  traits: z.record(
    z.string(),
    z.object({
      value: z.unknown(),
      provenance: provenanceSchema,
      values: z.array(valueStatSchema).min(1),
      truncated: z.number().int().min(0),
    }),
  ),
})

export const MAX_TRAIT_KEY_LENGTH = 200
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

export function emptyGoldenRecord(): GoldenRecord {
  return { traits: {} }
}

/** Canonical JSON (object keys sorted) so equal values compare equal whatever their key order. */
export function canonicalValue(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  )
}

function isUsableKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_TRAIT_KEY_LENGTH && !FORBIDDEN_KEYS.has(key)
}

function laterOf(a: Provenance, b: Provenance): Provenance {
  return compareProvenance(a, b) >= 0 ? a : b
}

function earlierOf(a: Provenance, b: Provenance): Provenance {
  return compareProvenance(a, b) <= 0 ? a : b
}

function mergeStats(into: ValueStat | undefined, stat: ValueStat): ValueStat {
  if (!into) return { ...stat, sources: { ...stat.sources } }
  const sources = { ...into.sources }
  for (const [sourceId, seen] of Object.entries(stat.sources)) {
    const existing = sources[sourceId]
    sources[sourceId] = existing ? laterOf(existing, seen) : seen
  }
  return {
    value: into.value,
    count: into.count + stat.count,
    first: earlierOf(into.first, stat.first),
    last: laterOf(into.last, stat.last),
    sources,
  }
}

function settle(
  trait: string,
  stats: Map<string, ValueStat>,
  truncated: number,
  settings: SurvivorshipSettings,
): TraitRecord {
  let values = [...stats.values()]
  const survivor = chooseSurvivor(values, trait, settings)
  values.sort((a, b) => compareProvenance(b.last, a.last))
  if (values.length > settings.maxValuesPerTrait) {
    const keep = values.filter((v) => v !== survivor.stat).slice(0, settings.maxValuesPerTrait - 1)
    truncated += values.length - keep.length - 1
    values = [survivor.stat, ...keep].sort((a, b) => compareProvenance(b.last, a.last))
  }
  return { value: survivor.stat.value, provenance: survivor.provenance, values, truncated }
}

function statsOf(record: TraitRecord | undefined): Map<string, ValueStat> {
  const stats = new Map<string, ValueStat>()
  for (const stat of record?.values ?? []) stats.set(canonicalValue(stat.value), stat)
  return stats
}

/**
 * Folds trait updates into a record (returns a new record; the input is not changed). Keys with
 * `undefined` values are skipped; `null` is a value (it clears the trait in `materializeTraits`).
 */
export function foldTraitUpdates(
  record: GoldenRecord | undefined,
  updates: readonly TraitUpdate[],
  settings: SurvivorshipSettings,
): GoldenRecord {
  const traits: Record<string, TraitRecord> = { ...(record?.traits ?? {}) }
  const pending = new Map<string, Map<string, ValueStat>>()
  for (const update of updates) {
    const provenance: Provenance = {
      sourceId: update.sourceId,
      messageId: update.messageId,
      at: update.at,
      ...(update.kind === undefined ? {} : { kind: update.kind }),
    }
    for (const [key, value] of Object.entries(update.traits)) {
      if (value === undefined || !isUsableKey(key)) continue
      let stats = pending.get(key)
      if (!stats) pending.set(key, (stats = statsOf(traits[key])))
      const canonical = canonicalValue(value)
      const observed: ValueStat = {
        value,
        count: 1,
        first: provenance,
        last: provenance,
        sources: { [sourceKey(provenance)]: provenance },
      }
      stats.set(canonical, mergeStats(stats.get(canonical), observed))
    }
  }
  for (const [key, stats] of pending) {
    traits[key] = settle(key, stats, traits[key]?.truncated ?? 0, settings)
  }
  return { traits }
}

/** Builds a record from scratch (e.g. both sides of a split, from their events). */
export function buildGoldenRecord(
  updates: readonly TraitUpdate[],
  settings: SurvivorshipSettings,
): GoldenRecord {
  return foldTraitUpdates(undefined, updates, settings)
}

/** Joins two records (profile merge): statistics add up, survivors are chosen again. */
export function mergeGoldenRecords(
  a: GoldenRecord,
  b: GoldenRecord,
  settings: SurvivorshipSettings,
): GoldenRecord {
  const traits: Record<string, TraitRecord> = {}
  for (const key of new Set([...Object.keys(a.traits), ...Object.keys(b.traits)])) {
    const left = a.traits[key]
    const right = b.traits[key]
    const stats = statsOf(left)
    for (const stat of right?.values ?? []) {
      const canonical = canonicalValue(stat.value)
      stats.set(canonical, mergeStats(stats.get(canonical), stat))
    }
    traits[key] = settle(key, stats, (left?.truncated ?? 0) + (right?.truncated ?? 0), settings)
  }
  return { traits }
}

/** Chooses survivors again under new settings; no replay needed. */
export function reapplySurvivorship(
  record: GoldenRecord,
  settings: SurvivorshipSettings,
): GoldenRecord {
  const traits: Record<string, TraitRecord> = {}
  for (const [key, trait] of Object.entries(record.traits)) {
    traits[key] = settle(key, statsOf(trait), trait.truncated, settings)
  }
  return { traits }
}

/** The plain trait object (profiles.traits): survivors only, `null` survivors left out. */
export function materializeTraits(record: GoldenRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(record.traits).sort()) {
    const value = record.traits[key]?.value
    if (value !== null && value !== undefined) out[key] = value
  }
  return out
}

export interface TraitView {
  key: string
  value: unknown
  strategy: SurvivorshipStrategy
  provenance: Provenance
  /** Losing values with their provenance, most recently seen first. */
  conflicts: Array<{ value: unknown; count: number; first: Provenance; last: Provenance }>
  truncated: number
}

/** What `GET /api/v1/profiles/:id/traits` shows: each trait with provenance and its conflicts. */
export function describeTraits(record: GoldenRecord, settings: SurvivorshipSettings): TraitView[] {
  return Object.keys(record.traits)
    .sort()
    .map((key) => {
      const trait = record.traits[key] as TraitRecord
      const winner = canonicalValue(trait.value)
      return {
        key,
        value: trait.value,
        strategy: strategyFor(settings, key),
        provenance: trait.provenance,
        conflicts: trait.values
          .filter((v) => canonicalValue(v.value) !== winner)
          .map(({ value, count, first, last }) => ({ value, count, first, last })),
        truncated: trait.truncated,
      }
    })
}
