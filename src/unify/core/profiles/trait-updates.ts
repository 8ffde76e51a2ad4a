/**
 * @module profiles/trait-updates
 * Turns a Segment-spec event into the trait update the golden record folds. Identify calls
 * contribute `traits`; every event (group included) contributes `context.traits`, which describe
 * the person; group `traits` describe the group and are not person traits. When both carry a
 * key, identify `traits` win (they are the explicit call).
 */
import type { TraitUpdate } from './golden-record.js'

export interface TraitSourceEvent {
  type?: string
  messageId?: string
  traits?: unknown
  context?: unknown
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

/**
 * @param origin.at epoch ms of the event (the processor's resolved timestamp)
 * @param origin.imported the event is a row of a file import: its observations have kind
 *   `import`, which survivorship can rank below first-party ones
 * @returns undefined when the event carries no person traits
 */
export function traitUpdateFromEvent(
  event: TraitSourceEvent,
  origin: { sourceId: string; messageId: string; at: number; imported?: boolean },
): TraitUpdate | undefined {
  const contextTraits = asRecord(asRecord(event.context)?.traits)
  const identifyTraits = event.type === 'identify' ? asRecord(event.traits) : undefined
  if (!contextTraits && !identifyTraits) return undefined
  const traits = { ...contextTraits, ...identifyTraits }
  if (Object.keys(traits).length === 0) return undefined
  return {
    sourceId: origin.sourceId,
    messageId: origin.messageId,
    at: origin.at,
    kind: origin.imported === true ? 'import' : identifyTraits ? 'identify' : 'context',
    traits,
  }
}

/** A row from a CSV/JSONL import or a table sync. */
export function traitUpdateFromImport(
  row: Record<string, unknown>,
  origin: { sourceId: string; rowId: string; at: number },
): TraitUpdate {
  return {
    sourceId: origin.sourceId,
    messageId: origin.rowId,
    at: origin.at,
    kind: 'import',
    traits: row,
  }
}
