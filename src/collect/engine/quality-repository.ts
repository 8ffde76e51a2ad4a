/**
 * What the data-quality API reads of a source's violations (`event_violations`) and quarantine
 * (`quarantined_events`), and the quarantine replay's two steps. The quality filter writes both
 * tables in the processor's transaction (quality-filter.ts); this file only reads them, and marks
 * what a replay appended to the event log.
 */
import type { Queryable } from '../../platform/store/db.js'
import type { Violation } from '../core/tracking-plan.js'
import { storedPayload } from './quality-filter.js'

/** Violations seen in `[from, to)`, optionally of one event name. */
export interface ViolationWindow {
  from: Date
  to: Date
  event?: string | undefined
}

export interface ViolationSummary {
  /** Counts per event, type and action, largest first (at most 500 groups). */
  byEvent: Array<{ event: string | null; type: string; action: string; count: number }>
  /** Counts per event, property path and failed keyword, largest first (at most 500 groups). */
  byProperty: Array<{ event: string | null; path: string; keyword: string; count: number }>
  /** The latest violating events, newest first. */
  recent: Array<{
    messageId: string
    event: string | null
    type: string
    action: string
    planVersion: number
    violations: Violation[]
    seenAt: string
  }>
}

export type QuarantineReason = 'plan' | 'poison'

export interface QuarantinedEvent {
  messageId: string
  reason: QuarantineReason
  type: string
  event: string | null
  /** The event as stored (`storedPayload`): its JSON, or its text when jsonb could not hold it. */
  payload: unknown
  /** The event's JSON text as received, kept whatever its depth. */
  payloadText: string | null
  violations: Violation[]
  error: string | null
  planVersion: number | null
  attempts: number
  quarantinedAt: string
  replayedAt: string | null
}

/** Pages run newest first by `[quarantinedAt, messageId]`. */
export type QuarantineKey = readonly [quarantinedAt: string, messageId: string]

const iso = (v: Date | string): string => new Date(v).toISOString()

export const qualityRepository = {
  /** Violations of one source in a window: three aggregates over the same rows. */
  async violationSummary(
    db: Queryable,
    workspaceId: string,
    sourceId: string,
    window: ViolationWindow,
    recentLimit: number,
  ): Promise<ViolationSummary> {
    const params = [
      workspaceId,
      sourceId,
      window.from.toISOString(),
      window.to.toISOString(),
      window.event ?? null,
    ]
    const where = `workspace_id = $1 AND source_id = $2 AND seen_at >= $3 AND seen_at < $4
      AND ($5::text IS NULL OR event = $5)`
    const byEvent = await db.query<{
      event: string | null
      type: string
      action: string
      count: string
    }>(
      `SELECT event, type, action, count(*) AS count FROM event_violations WHERE ${where}
       GROUP BY event, type, action ORDER BY count(*) DESC, event LIMIT 500`,
      params,
    )
    const byProperty = await db.query<{
      event: string | null
      path: string
      keyword: string
      count: string
    }>(
      `SELECT event, v->>'path' AS path, v->>'keyword' AS keyword, count(*) AS count
       FROM event_violations, jsonb_array_elements(violations) AS v WHERE ${where}
       GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 1, 2, 3 LIMIT 500`,
      params,
    )
    const recent = await db.query<{
      message_id: string
      event: string | null
      type: string
      action: string
      plan_version: number
      violations: Violation[]
      seen_at: Date | string
    }>(
      `SELECT message_id, event, type, action, plan_version, violations, seen_at
       FROM event_violations WHERE ${where} ORDER BY seen_at DESC, message_id DESC LIMIT $6`,
      [...params, recentLimit],
    )
    return {
      byEvent: byEvent.rows.map((r) => ({
        event: r.event,
        type: r.type,
        action: r.action,
        count: Number(r.count),
      })),
      byProperty: byProperty.rows.map((r) => ({
        event: r.event,
        path: r.path,
        keyword: r.keyword,
        count: Number(r.count),
      })),
      recent: recent.rows.map((r) => ({
        messageId: r.message_id,
        event: r.event,
        type: r.type,
        action: r.action,
        planVersion: Number(r.plan_version),
        violations: r.violations,
        seenAt: iso(r.seen_at),
      })),
    }
  },

  /**
   * A page of one source's quarantine, newest first, after the key the previous page ended on;
   * `next` is the key this page ends on (null on the last page), `total` counts every page.
   */
  async quarantinePage(
    db: Queryable,
    workspaceId: string,
    sourceId: string,
    page: {
      reason?: QuarantineReason | undefined
      after?: QuarantineKey | undefined
      limit: number
    },
  ): Promise<{ data: QuarantinedEvent[]; total: number; next: QuarantineKey | null }> {
    const res = await db.query<{
      message_id: string
      reason: QuarantineReason
      type: string
      event: string | null
      payload: unknown
      payload_text: string | null
      violations: Violation[]
      error: string | null
      plan_version: number | null
      attempts: number
      quarantined_at: Date | string
      replayed_at: Date | string | null
    }>(
      `SELECT message_id, reason, type, event, payload, payload_text, violations, error,
         plan_version, attempts, quarantined_at, replayed_at
       FROM quarantined_events
       WHERE workspace_id = $1 AND source_id = $2 AND ($3::text IS NULL OR reason = $3)
         AND ($4::timestamptz IS NULL OR (quarantined_at, message_id) < ($4::timestamptz, $5::text))
       ORDER BY quarantined_at DESC, message_id DESC LIMIT $6`,
      [
        workspaceId,
        sourceId,
        page.reason ?? null,
        page.after?.[0] ?? null,
        page.after?.[1] ?? null,
        page.limit + 1,
      ],
    )
    const total = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM quarantined_events
       WHERE workspace_id = $1 AND source_id = $2 AND ($3::text IS NULL OR reason = $3)`,
      [workspaceId, sourceId, page.reason ?? null],
    )
    const rows = res.rows.slice(0, page.limit)
    const last = rows[rows.length - 1]
    return {
      data: rows.map((r) => ({
        messageId: r.message_id,
        reason: r.reason,
        type: r.type,
        event: r.event,
        payload: storedPayload(r),
        payloadText: r.payload_text,
        violations: r.violations,
        error: r.error,
        planVersion: r.plan_version === null ? null : Number(r.plan_version),
        attempts: Number(r.attempts),
        quarantinedAt: iso(r.quarantined_at),
        replayedAt: r.replayed_at === null ? null : iso(r.replayed_at),
      })),
      total: Number(total.rows[0]?.n ?? 0),
      next:
        res.rows.length > page.limit && last ? [iso(last.quarantined_at), last.message_id] : null,
    }
  },

  /**
   * Locks up to `limit` quarantined events of a source for a replay, oldest first: those of
   * `messageIds` when given. An event a replay marked less than ten minutes ago is passed over (its
   * append may still be on its way to the processor); after that it is offered again, in case
   * the append was lost. Run in the transaction that marks the replayed ones.
   */
  async pickForReplay(
    tx: Queryable,
    workspaceId: string,
    sourceId: string,
    pick: { messageIds?: readonly string[] | undefined; limit: number; now: Date },
  ): Promise<Array<{ messageId: string; payload: unknown }>> {
    const res = await tx.query<{
      message_id: string
      payload: unknown
      payload_text: string | null
    }>(
      `SELECT message_id, payload, payload_text FROM quarantined_events
       WHERE workspace_id = $1 AND source_id = $2
         AND ($3::text[] IS NULL OR message_id = ANY($3::text[]))
         AND (replayed_at IS NULL OR replayed_at < $4::timestamptz - interval '10 minutes')
       ORDER BY quarantined_at, message_id LIMIT $5 FOR UPDATE`,
      [workspaceId, sourceId, pick.messageIds ?? null, pick.now.toISOString(), pick.limit],
    )
    return res.rows.map((r) => ({ messageId: r.message_id, payload: storedPayload(r) }))
  },

  /**
   * Marks events as replayed (appended to the event log again); the processor removes each from
   * quarantine when it applies it. `(source_id, message_id)` is the table's key.
   */
  async markReplayed(
    tx: Queryable,
    sourceId: string,
    messageIds: readonly string[],
    now: Date,
  ): Promise<void> {
    await tx.query(
      `UPDATE quarantined_events SET replayed_at = $3
       WHERE source_id = $1 AND message_id = ANY($2::text[])`,
      [sourceId, messageIds, now.toISOString()],
    )
  },
}
