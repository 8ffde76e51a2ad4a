/**
 * @module profiles/split
 * Recomputes both golden records after an identity split, from the trait updates of the
 * original profile's events: the moved events feed the new profile, the rest the original.
 */
import type { GoldenRecord, TraitUpdate } from './golden-record.js'
import { buildGoldenRecord } from './golden-record.js'
import type { SurvivorshipSettings } from './survivorship.js'

export interface MovedEvent {
  messageId: string
  sourceId?: string
}

/**
 * @param updates every trait update of the profile before the split (events and import rows)
 * @param moved the split plan's `movedEvents`; an entry without `sourceId` matches any source
 */
export function recomputeSplitRecords(
  updates: readonly TraitUpdate[],
  moved: readonly MovedEvent[],
  settings: SurvivorshipSettings,
): { original: GoldenRecord; created: GoldenRecord } {
  const exact = new Set<string>()
  const anySource = new Set<string>()
  for (const event of moved) {
    if (event.sourceId === undefined) anySource.add(event.messageId)
    else exact.add(`${event.sourceId}/${event.messageId}`)
  }
  const original: TraitUpdate[] = []
  const created: TraitUpdate[] = []
  for (const update of updates) {
    const follows =
      anySource.has(update.messageId) || exact.has(`${update.sourceId}/${update.messageId}`)
    ;(follows ? created : original).push(update)
  }
  return {
    original: buildGoldenRecord(original, settings),
    created: buildGoldenRecord(created, settings),
  }
}
