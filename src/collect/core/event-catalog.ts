/**
 * A source's event catalogue, summarised per micro-batch: which calls it sends (type and event
 * name), how many, first and last seen, and the top-level fields each carries (`properties.*`
 * for track/page/screen, `traits.*` for identify and group) with the JSON type of their values.
 * The store keeps running totals (collect/engine/event-catalog-repository.ts); the console's
 * source schema and the segment builder's suggestions read them. Pure: events in, rows out.
 * @module
 */

/** Fields kept per call and batch: a payload with thousands of keys is not a schema. */
export const MAX_FIELDS_PER_CALL = 100
/** Longest field name kept (longer ones are counted under no name at all). */
export const MAX_FIELD_NAME = 200

export type ValueType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null'

export interface CatalogEventRow {
  workspaceId: string
  sourceId: string
  type: string
  /** The track event's name, a page or screen's name; '' for the other calls. */
  event: string
  count: number
  firstSeen: string
  lastSeen: string
}

export interface CatalogFieldRow extends Omit<CatalogEventRow, 'count'> {
  /** `properties.<key>` or `traits.<key>`. */
  field: string
  valueType: ValueType
  count: number
}

export interface CatalogInput {
  workspaceId: string
  sourceId: string
  event: {
    type: string
    event?: unknown
    name?: unknown
    timestamp?: unknown
    properties?: unknown
    traits?: unknown
  }
}

export function valueType(v: unknown): ValueType {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'array'
  const t = typeof v
  if (t === 'string' || t === 'number' || t === 'boolean') return t
  return 'object'
}

function nameOf(e: CatalogInput['event']): string {
  if (e.type === 'track' && typeof e.event === 'string') return e.event.slice(0, 1024)
  if ((e.type === 'page' || e.type === 'screen') && typeof e.name === 'string')
    return e.name.slice(0, 1024)
  return ''
}

function bagOf(e: CatalogInput['event']): { prefix: string; bag: unknown } {
  if (e.type === 'identify' || e.type === 'group') return { prefix: 'traits.', bag: e.traits }
  return { prefix: 'properties.', bag: e.properties }
}

/** One row per (call) and per (call, field, value type), with counts and first/last times. */
export function summarizeCatalog(
  batch: readonly CatalogInput[],
  now: Date,
): { events: CatalogEventRow[]; fields: CatalogFieldRow[] } {
  const events = new Map<string, CatalogEventRow>()
  const fields = new Map<string, CatalogFieldRow>()
  const fallback = now.toISOString()
  for (const { workspaceId, sourceId, event: e } of batch) {
    const event = nameOf(e)
    const at =
      typeof e.timestamp === 'string' && !Number.isNaN(Date.parse(e.timestamp))
        ? new Date(e.timestamp).toISOString()
        : fallback
    const key = JSON.stringify([workspaceId, sourceId, e.type, event])
    const row = events.get(key)
    if (row) {
      row.count++
      if (at < row.firstSeen) row.firstSeen = at
      if (at > row.lastSeen) row.lastSeen = at
    } else {
      events.set(key, {
        workspaceId,
        sourceId,
        type: e.type,
        event,
        count: 1,
        firstSeen: at,
        lastSeen: at,
      })
    }
    const { prefix, bag } = bagOf(e)
    if (bag === null || typeof bag !== 'object' || Array.isArray(bag)) continue
    let n = 0
    for (const [k, v] of Object.entries(bag)) {
      if (n++ >= MAX_FIELDS_PER_CALL) break
      if (k.length === 0 || k.length > MAX_FIELD_NAME) continue
      const field = `${prefix}${k}`
      const vt = valueType(v)
      const fk = JSON.stringify([workspaceId, sourceId, e.type, event, field, vt])
      const f = fields.get(fk)
      if (f) {
        f.count++
        if (at < f.firstSeen) f.firstSeen = at
        if (at > f.lastSeen) f.lastSeen = at
      } else {
        fields.set(fk, {
          workspaceId,
          sourceId,
          type: e.type,
          event,
          field,
          valueType: vt,
          count: 1,
          firstSeen: at,
          lastSeen: at,
        })
      }
    }
  }
  return { events: [...events.values()], fields: [...fields.values()] }
}
