/**
 * @module profiles/survivorship
 * Which observed value of a trait becomes the profile's value. Settings are per workspace, with
 * an override per trait. Strategies only read the per-value statistics a golden record keeps, so
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

const sourceListSchema = z.array(z.string().min(1).max(200)).max(100)

export const survivorshipSettingsSchema = z
  .object({
    /** Strategy for traits without their own setting. */
    default: survivorshipStrategySchema.default('most_recent'),
    /** Source ids, highest priority first, for `source_priority`; unlisted sources rank last. */
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
  /** How it arrived: `identify`, `context`, `import`, … (informational). */
  kind?: string
}

/** Everything remembered about one distinct value of a trait. */
export interface ValueStat {
  value: unknown
  count: number
  first: Provenance
  last: Provenance
  /** Latest observation per source id. */
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
  const rank = (sourceId: string): number => {
    const index = order.indexOf(sourceId)
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
          const r = rank(seen.sourceId)
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
