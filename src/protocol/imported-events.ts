/**
 * How an event says it is a row of a file import, shared by imports (which write the mark) and
 * the processor and Profile API (which read it). An imported row is not activity: it is what a
 * CRM or spreadsheet said about a person, at the row's own time when the file had a time column
 * and at the import's time otherwise. Golden records rank its traits as origin `import`, and only
 * event rows with their own time move a profile's first and last seen.
 *
 * The mark is `context.library.name = "kindred-import"` with `context.import.time` = `row` | `import`.
 * Anyone can write it through the tracking API; doing so only lowers their own events' weight.
 * @module
 */

export const IMPORT_LIBRARY_NAME = 'kindred-import'

/** Where an imported event's timestamp came from: a column of the row, or the import's fixed time. */
export type ImportedTime = 'row' | 'import'

export interface ImportOrigin {
  time: ImportedTime
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

/** The context fields an import writes on each of its events. */
export function importContext(time: ImportedTime): Record<string, unknown> {
  return { library: { name: IMPORT_LIBRARY_NAME }, import: { time } }
}

/**
 * The import origin of an event, or undefined for a tracked one. Events imported before the
 * `import.time` mark existed carry the import's time as both `timestamp` and `receivedAt`.
 */
export function importOrigin(event: {
  context?: unknown
  timestamp?: unknown
  receivedAt?: unknown
}): ImportOrigin | undefined {
  const context = asRecord(event.context)
  if (asRecord(context?.library)?.name !== IMPORT_LIBRARY_NAME) return undefined
  const time = asRecord(context?.import)?.time
  if (time === 'row' || time === 'import') return { time }
  return { time: event.timestamp === event.receivedAt ? 'import' : 'row' }
}

/**
 * Whether an event tells when the person was active: tracked events do; imported profile rows
 * never (a CRM row is no visit); imported event rows (orders, say) only at their own time.
 */
export function isActivity(event: {
  type?: unknown
  context?: unknown
  timestamp?: unknown
  receivedAt?: unknown
}): boolean {
  const origin = importOrigin(event)
  return origin === undefined || (origin.time === 'row' && event.type !== 'identify')
}
