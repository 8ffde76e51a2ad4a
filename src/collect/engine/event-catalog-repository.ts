/**
 * The event catalogue in the store: a batch's summary added to the running totals (one upsert
 * per table per batch), a source's schema read back, the workspace's known names for the segment
 * builder, and a source's recent events for the debugger's history.
 * @module
 */
import type { Queryable } from '../../platform/store/db.js'
import type { CatalogEventRow, CatalogFieldRow, ValueType } from '../core/event-catalog.js'

export interface SourceSchemaEvent {
  type: string
  event: string
  count: number
  firstSeen: string
  lastSeen: string
  fields: Array<{ field: string; valueTypes: ValueType[]; count: number; lastSeen: string }>
}

export interface RecentEvent {
  seq: number
  messageId: string
  type: string
  event: string | null
  userId: string | null
  anonymousId: string | null
  profileId: string | null
  timestamp: string
  receivedAt: string
  payload: unknown
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v))

export const eventCatalogRepository = {
  async record(
    tx: Queryable,
    rows: { events: CatalogEventRow[]; fields: CatalogFieldRow[] },
  ): Promise<void> {
    if (rows.events.length > 0) {
      const e = rows.events
      await tx.query(
        `INSERT INTO event_catalog AS c (workspace_id, source_id, type, event, count, first_seen, last_seen)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                              $6::timestamptz[], $7::timestamptz[])
         ON CONFLICT (workspace_id, source_id, type, event) DO UPDATE SET
           count = c.count + EXCLUDED.count,
           first_seen = LEAST(c.first_seen, EXCLUDED.first_seen),
           last_seen = GREATEST(c.last_seen, EXCLUDED.last_seen)`,
        [
          e.map((r) => r.workspaceId),
          e.map((r) => r.sourceId),
          e.map((r) => r.type),
          e.map((r) => r.event),
          e.map((r) => r.count),
          e.map((r) => r.firstSeen),
          e.map((r) => r.lastSeen),
        ],
      )
    }
    if (rows.fields.length > 0) {
      const f = rows.fields
      await tx.query(
        `INSERT INTO event_catalog_fields AS c
           (workspace_id, source_id, type, event, field, value_type, count, first_seen, last_seen)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::bigint[], $8::timestamptz[], $9::timestamptz[])
         ON CONFLICT (workspace_id, source_id, type, event, field, value_type) DO UPDATE SET
           count = c.count + EXCLUDED.count,
           first_seen = LEAST(c.first_seen, EXCLUDED.first_seen),
           last_seen = GREATEST(c.last_seen, EXCLUDED.last_seen)`,
        [
          f.map((r) => r.workspaceId),
          f.map((r) => r.sourceId),
          f.map((r) => r.type),
          f.map((r) => r.event),
          f.map((r) => r.field),
          f.map((r) => r.valueType),
          f.map((r) => r.count),
          f.map((r) => r.firstSeen),
          f.map((r) => r.lastSeen),
        ],
      )
    }
  },

  /** A source's calls, most sent first, each with its fields (most common first). */
  async sourceSchema(
    db: Queryable,
    workspaceId: string,
    sourceId: string,
  ): Promise<SourceSchemaEvent[]> {
    const events = await db.query<{
      type: string
      event: string
      count: string
      first_seen: Date
      last_seen: Date
    }>(
      `SELECT type, event, count, first_seen, last_seen FROM event_catalog
       WHERE workspace_id = $1 AND source_id = $2 ORDER BY count DESC, type, event LIMIT 1000`,
      [workspaceId, sourceId],
    )
    const fields = await db.query<{
      type: string
      event: string
      field: string
      value_type: ValueType
      count: string
      last_seen: Date
    }>(
      `SELECT type, event, field, value_type, count, last_seen FROM event_catalog_fields
       WHERE workspace_id = $1 AND source_id = $2 ORDER BY count DESC, field LIMIT 20000`,
      [workspaceId, sourceId],
    )
    const byCall = new Map<string, SourceSchemaEvent>()
    for (const r of events.rows) {
      byCall.set(JSON.stringify([r.type, r.event]), {
        type: r.type,
        event: r.event,
        count: Number(r.count),
        firstSeen: iso(r.first_seen),
        lastSeen: iso(r.last_seen),
        fields: [],
      })
    }
    for (const r of fields.rows) {
      const call = byCall.get(JSON.stringify([r.type, r.event]))
      if (!call) continue
      const known = call.fields.find((f) => f.field === r.field)
      if (known) {
        known.valueTypes.push(r.value_type)
        known.count += Number(r.count)
        if (iso(r.last_seen) > known.lastSeen) known.lastSeen = iso(r.last_seen)
      } else
        call.fields.push({
          field: r.field,
          valueTypes: [r.value_type],
          count: Number(r.count),
          lastSeen: iso(r.last_seen),
        })
    }
    return [...byCall.values()]
  },

  /**
   * What the workspace's sources have sent, for suggestions: track event names, property names
   * per event and trait names, each with how often they were seen.
   */
  async workspaceNames(db: Queryable, workspaceId: string) {
    const events = await db.query<{ event: string; count: string }>(
      `SELECT event, sum(count)::bigint AS count FROM event_catalog
       WHERE workspace_id = $1 AND type = 'track' GROUP BY event ORDER BY 2 DESC, 1 LIMIT 2000`,
      [workspaceId],
    )
    const fields = await db.query<{ type: string; event: string; field: string; count: string }>(
      `SELECT type, event, field, sum(count)::bigint AS count FROM event_catalog_fields
       WHERE workspace_id = $1 GROUP BY type, event, field ORDER BY 4 DESC, 3 LIMIT 20000`,
      [workspaceId],
    )
    const properties: Record<string, string[]> = {}
    const traits = new Map<string, number>()
    for (const r of fields.rows) {
      if (r.field.startsWith('traits.')) {
        const name = r.field.slice('traits.'.length)
        traits.set(name, (traits.get(name) ?? 0) + Number(r.count))
      } else if (r.type === 'track' && r.field.startsWith('properties.')) {
        ;(properties[r.event] ??= []).push(r.field.slice('properties.'.length))
      }
    }
    return {
      events: events.rows.map((r) => ({ name: r.event, count: Number(r.count) })),
      properties,
      traits: [...traits.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([name, count]) => ({ name, count })),
    }
  },

  /**
   * A source's stored events, newest first, before `beforeSeq`; `q` matches a user id or
   * anonymous id exactly or an event name by prefix (case-insensitive). The scan walks the
   * source's sequence index backwards and stops after `scanLimit` rows, so a search over a huge
   * source answers quickly with what it found (and a cursor to look further).
   */
  async recent(
    db: Queryable,
    workspaceId: string,
    sourceId: string,
    o: {
      limit: number
      /** Events before this one (seq, message id): the previous page's cursor. */
      before?: readonly [number, string] | undefined
      q?: string | undefined
      type?: string | undefined
      scanLimit: number
    },
  ): Promise<{ events: RecentEvent[]; next: readonly [number, string] | null }> {
    const r = await db.query<{
      seq: string
      message_id: string
      type: string
      event: string | null
      user_id: string | null
      anonymous_id: string | null
      profile_id: string | null
      timestamp: Date
      received_at: Date
      payload: unknown
      hit: boolean
    }>(
      `WITH scanned AS (
         SELECT * FROM events
         WHERE source_id = $2 AND workspace_id = $1
           AND ($3::bigint IS NULL OR (seq, message_id) < ($3::bigint, $8::text))
         ORDER BY seq DESC, message_id DESC LIMIT $6
       )
       SELECT seq, message_id, type, event, user_id, anonymous_id, profile_id, "timestamp",
              received_at, payload,
              (($4::text IS NULL OR user_id = $4 OR anonymous_id = $4 OR profile_id = $4
                OR lower(event) LIKE lower($7) || '%' ESCAPE '\\')
               AND ($5::text IS NULL OR type = $5)) AS hit
       FROM scanned ORDER BY seq DESC, message_id DESC`,
      [
        workspaceId,
        sourceId,
        o.before?.[0] ?? null,
        o.q ?? null,
        o.type ?? null,
        o.scanLimit,
        (o.q ?? '').replace(/[\\%_]/g, (c) => `\\${c}`),
        o.before?.[1] ?? '',
      ],
    )
    const events: RecentEvent[] = []
    let last: readonly [number, string] | null = null
    for (const row of r.rows) {
      last = [Number(row.seq), row.message_id]
      if (!row.hit) continue
      events.push({
        seq: Number(row.seq),
        messageId: row.message_id,
        type: row.type,
        event: row.event,
        userId: row.user_id,
        anonymousId: row.anonymous_id,
        profileId: row.profile_id,
        timestamp: iso(row.timestamp),
        receivedAt: iso(row.received_at),
        payload: row.payload,
      })
      if (events.length >= o.limit) break
    }
    // More may be found further back only when the scan did not reach the source's first event.
    return {
      events,
      next: r.rows.length < o.scanLimit && events.length < o.limit ? null : last,
    }
  },
}
