/**
 * @module profiles/survivorship
 * Which observed value of a trait becomes the profile's value. Settings are per workspace, with
 * an override per trait; a source order can rank origins (first-party before imports) as well as
 * source ids. Strategies only read the per-value statistics a golden record keeps, so
 * changing them needs no replay (`reapplySurvivorship`).
 */
import { z } from 'zod'

export const SURVIVORSHIP_STRATEGIES = [
  'most_recent',
  'first_seen',
  'source_priority',
  'most_frequent',
] as const
export type SurvivorshipStrategy = (typeof SURVIVORSHIP_STRATEGIES)[number]

export const survivorshipStrategySchema = z.enum(SURVIVORSHIP_STRATEGIES)

/**
 * How an observation arrived: `import` for rows of a file import (and, later, table syncs),
 * `first_party` for everything the workspace's own sites, apps and servers send.
 */
export const ORIGIN_KINDS = ['first_party', 'import'] as const
export type OriginKind = (typeof ORIGIN_KINDS)[number]

/** A place in a source order: a source id, or every source of one origin (`{ kind: 'first_party' }`). */
export const sourceRankEntrySchema = z.union([
  z.string().min(1).max(200),
  z.strictObject({ kind: z.enum(ORIGIN_KINDS) }),
])
export type SourceRankEntry = z.infer<typeof sourceRankEntrySchema>

const sourceListSchema = z.array(sourceRankEntrySchema).max(100)

export const survivorshipSettingsSchema = z
  .object({
    /** Strategy for traits without their own setting. */
    default: survivorshipStrategySchema.default('most_recent'),
    /**
     * For `source_priority`, highest first: source ids and origins (`{ kind: 'first_party' }`,
     * `{ kind: 'import' }`); an observation takes the first entry it matches, unlisted ones rank last.
     */
    sourcePriority: sourceListSchema.default([]),
    /** Per trait key: its strategy and, optionally, its own source order. */
    traits: z
      .record(
        z.string().min(1).max(200),
        z
          .object({
            strategy: survivorshipStrategySchema,
            sourcePriority: sourceListSchema.optional(),
          })
          .strict(),
      )
      .default({}),
    /**
     * Distinct values remembered per trait (the survivor and the conflicts). Beyond it the least
     * recently seen losing values are forgotten and counted in `truncated`.
     */
    maxValuesPerTrait: z.number().int().min(1).max(1000).default(50),
  })
  .strict()

export type SurvivorshipSettingsInput = z.input<typeof survivorshipSettingsSchema>
export type SurvivorshipSettings = z.output<typeof survivorshipSettingsSchema>

export const DEFAULT_SURVIVORSHIP_SETTINGS: SurvivorshipSettings = survivorshipSettingsSchema.parse(
  {},
)

/** Where one observation of a trait value came from. */
export interface Provenance {
  sourceId: string
  messageId: string
  /** Epoch milliseconds of the observation (the event's timestamp). */
  at: number
  /** How it arrived: `identify`, `context`, `import`, …; `import` is the import origin, the rest first-party. */
  kind?: string
}

export function originOf(provenance: Provenance): OriginKind {
  return provenance.kind === 'import' ? 'import' : 'first_party'
}

/**
 * Key of `ValueStat.sources`: the source id, with ` import` appended for imported observations, so
 * that a source that both tracks and imports keeps its latest first-party observation apart from
 * its latest import (records stored before origins were ranked key by source id alone).
 */
export function sourceKey(provenance: Provenance): string {
  return originOf(provenance) === 'import' ? `${provenance.sourceId} import` : provenance.sourceId
}

/** Everything remembered about one distinct value of a trait. */
export interface ValueStat {
  value: unknown
  count: number
  first: Provenance
  last: Provenance
  /** Latest observation per source and origin (`sourceKey`). */
  sources: Record<string, Provenance>
}

/** Total order on observations: time, then source id, then messageId. */
export function compareProvenance(a: Provenance, b: Provenance): number {
  if (a.at !== b.at) return a.at - b.at
  if (a.sourceId !== b.sourceId) return a.sourceId < b.sourceId ? -1 : 1
  if (a.messageId !== b.messageId) return a.messageId < b.messageId ? -1 : 1
  return 0
}

export function strategyFor(settings: SurvivorshipSettings, trait: string): SurvivorshipStrategy {
  return settings.traits[trait]?.strategy ?? settings.default
}

/**
 * Picks the surviving value among a trait's value statistics (non-empty) and the observation
 * that stands for it. Ties always break towards the more recent observation, so the result does
 * not depend on the order values were seen in.
 */
export function chooseSurvivor(
  values: readonly ValueStat[],
  trait: string,
  settings: SurvivorshipSettings,
): { stat: ValueStat; provenance: Provenance } {
  const strategy = strategyFor(settings, trait)
  let best: { stat: ValueStat; provenance: Provenance; key: number[] } | undefined
  const order = settings.traits[trait]?.sourcePriority ?? settings.sourcePriority
  const rank = (seen: Provenance): number => {
    const index = order.findIndex((entry) =>
      typeof entry === 'string' ? entry === seen.sourceId : entry.kind === originOf(seen),
    )
    return index === -1 ? order.length : index
  }
  for (const stat of values) {
    let provenance: Provenance
    // Bigger key wins; compared element by element, then by provenance.
    let key: number[]
    switch (strategy) {
      case 'most_recent':
        provenance = stat.last
        key = []
        break
      case 'first_seen':
        provenance = stat.first
        key = []
        break
      case 'most_frequent':
        provenance = stat.last
        key = [stat.count]
        break
      case 'source_priority': {
        let bestRank = Number.POSITIVE_INFINITY
        provenance = stat.last
        for (const seen of Object.values(stat.sources)) {
          const r = rank(seen)
          if (r < bestRank || (r === bestRank && compareProvenance(seen, provenance) > 0)) {
            bestRank = r
            provenance = seen
          }
        }
        key = [-bestRank]
        break
      }
    }
    if (!best || beats(key, provenance, best.key, best.provenance, strategy === 'first_seen')) {
      best = { stat, provenance, key }
    }
  }
  if (!best) throw new TypeError('chooseSurvivor needs at least one value')
  return { stat: best.stat, provenance: best.provenance }
}

function beats(
  key: number[],
  provenance: Provenance,
  bestKey: number[],
  bestProvenance: Provenance,
  earliestWins: boolean,
): boolean {
  for (let i = 0; i < key.length; i++) {
    const a = key[i] as number
    const b = bestKey[i] as number
    if (a !== b) return a > b
  }
  const byTime = compareProvenance(provenance, bestProvenance)
  return earliestWins ? byTime < 0 : byTime > 0
}
