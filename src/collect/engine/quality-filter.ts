/**
 * The data-quality filter: the processor's first step after dedup, over the whole batch. Events
 * are checked against their source's tracking plan; violations are recorded (flag), and events in
 * quarantine are moved to `quarantined_events` in the batch transaction instead of being applied.
 * Set-based: at most six statements per batch, whatever its size.
 */
import type { Counter } from 'prom-client'
import type { Queryable } from '../../platform/store/db.js'
import type { PlanCache, Violation } from '../core/tracking-plan.js'
import type { ProcessedEvent, ProcessorFilter } from '../../platform/pipeline/processor.js'
import { loadCompiledPlans } from './tracking-plans.js'
import { scanJson } from '../../protocol/json-scan.js'
import { stringifyTotal } from '../../protocol/json-text.js'

export interface QuarantineRow {
  workspaceId: string
  sourceId: string
  messageId: string
  reason: 'plan' | 'poison'
  event: ProcessedEvent['event']
  violations: Violation[]
  error: string | null
  planVersion: number | null
}

/**
 * Keeps events aside. Their messageIds leave `event_ids` again, so that a replay (the same
 * messageId appended to the log) is applied once, and an SDK retry lands in quarantine, not twice.
 *
 * It cannot fail on content: the event is kept as JSON text of any depth (lone surrogates
 * escaped), and as jsonb only when the scanner says jsonb holds it; every text column is made
 * storable (no NUL, no lone surrogate) and the rows travel as text arrays, not one jsonb document.
 */
export async function quarantine(tx: Queryable, rows: QuarantineRow[], now: Date): Promise<void> {
  if (rows.length === 0) return
  const texts = rows.map((r) => stringifyTotal(r.event))
  await tx.query(
    `INSERT INTO quarantined_events AS q (workspace_id, source_id, message_id, reason, type, event,
       payload, payload_text, violations, error, plan_version, quarantined_at)
     SELECT workspace_id, source_id, message_id, reason, type, event,
       CASE WHEN as_jsonb THEN payload_text::jsonb END, payload_text, violations::jsonb, error,
       plan_version, $12::timestamptz
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
       $7::text[], $8::boolean[], $9::text[], $10::text[], $11::integer[])
       AS x(workspace_id, source_id, message_id, reason, type, event, payload_text, as_jsonb,
         violations, error, plan_version)
     ON CONFLICT (source_id, message_id) DO UPDATE SET
       reason = EXCLUDED.reason, payload = EXCLUDED.payload, payload_text = EXCLUDED.payload_text,
       violations = EXCLUDED.violations, error = EXCLUDED.error,
       plan_version = EXCLUDED.plan_version, attempts = q.attempts + 1, replayed_at = NULL`,
    [
      rows.map((r) => storableText(r.workspaceId)),
      rows.map((r) => storableText(r.sourceId)),
      rows.map((r) => storableText(r.messageId)),
      rows.map((r) => r.reason),
      rows.map((r) => storableText(typeof r.event.type === 'string' ? r.event.type : 'unknown')),
      rows.map((r) => {
        const name = r.event.event ?? r.event.name
        return typeof name === 'string' ? storableText(name) : null
      }),
      texts,
      texts.map((t) => scanJson(Buffer.from(t, 'utf8')) === undefined && !t.includes('\\u0000')),
      rows.map((r) => stringifyTotal(r.violations)),
      rows.map((r) => (r.error === null ? null : storableText(r.error))),
      rows.map((r) => r.planVersion),
      now.toISOString(),
    ],
  )
  await tx.query(
    `DELETE FROM event_ids e USING unnest($1::text[], $2::text[]) AS u(source_id, message_id)
     WHERE e.source_id = u.source_id AND e.message_id = u.message_id`,
    [rows.map((r) => storableText(r.sourceId)), rows.map((r) => storableText(r.messageId))],
  )
}

/** `s` without what Postgres text refuses: NUL and lone surrogates become U+FFFD. */
export function storableText(s: string): string {
  return s
    .replaceAll('\u0000', '\ufffd')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
}

/** A quarantined event as stored: the jsonb copy when there is one, else its JSON text. */
export function storedPayload(row: { payload: unknown; payload_text?: string | null }): unknown {
  if (row.payload !== null && row.payload !== undefined) return row.payload
  if (typeof row.payload_text !== 'string') return null
  try {
    return JSON.parse(row.payload_text) as unknown
  } catch {
    return row.payload_text
  }
}

export function createQualityFilter(deps: {
  plans: PlanCache
  violations: Counter<'source' | 'mode'>
  clock: () => Date
}): ProcessorFilter {
  return async (tx, batch) => {
    if (batch.length === 0) return batch
    const now = deps.clock()
    const sourceIds = [...new Set(batch.map((e) => e.sourceId))]
    const plans = await loadCompiledPlans(tx, deps.plans, sourceIds)
    if (plans.size === 0) return clearReplayed(tx, batch)
    const out: ProcessedEvent[] = []
    const flagged: Array<{ e: ProcessedEvent; action: string; version: number; v: Violation[] }> =
      []
    const aside: QuarantineRow[] = []
    for (const e of batch) {
      const plan = plans.get(e.sourceId)
      const verdict = plan ? plan.check(e.event) : { action: 'pass' as const }
      if (verdict.action === 'pass') {
        out.push(e)
        continue
      }
      const version = (plan as { version: number }).version
      deps.violations.inc({ source: e.sourceId, mode: verdict.action })
      flagged.push({ e, action: verdict.action, version, v: verdict.violations })
      if (verdict.action === 'flag') out.push(e)
      else {
        aside.push({
          workspaceId: e.workspaceId,
          sourceId: e.sourceId,
          messageId: e.event.messageId,
          reason: 'plan',
          event: e.event,
          violations: verdict.violations,
          error: null,
          planVersion: version,
        })
      }
    }
    if (flagged.length > 0) {
      await tx.query(
        `INSERT INTO event_violations AS v (workspace_id, source_id, message_id, type, event, action,
           plan_version, violations, seen_at)
         SELECT workspace_id, source_id, message_id, type, event, action, plan_version, violations,
           $2::timestamptz
         FROM jsonb_to_recordset($1::jsonb) AS x(workspace_id text, source_id text,
           message_id text, type text, event text, action text, plan_version integer,
           violations jsonb)
         ON CONFLICT (source_id, message_id) DO UPDATE SET action = EXCLUDED.action,
           plan_version = EXCLUDED.plan_version, violations = EXCLUDED.violations,
           seen_at = EXCLUDED.seen_at`,
        [
          JSON.stringify(
            flagged.map(({ e, action, version, v }) => ({
              workspace_id: e.workspaceId,
              source_id: e.sourceId,
              message_id: e.event.messageId,
              type: e.event.type,
              event: e.event.event ?? e.event.name ?? null,
              action,
              plan_version: version,
              violations: v,
            })),
          ),
          now.toISOString(),
        ],
      )
    }
    await quarantine(tx, aside, now)
    return clearReplayed(tx, out)
  }
}

/**
 * A replayed event that passes leaves quarantine in the transaction that applies it (one that
 * fails again was updated in place by the upsert above). The index on replays in
 * flight keeps this to one cheap probe per batch when nothing is being replayed.
 */
async function clearReplayed(tx: Queryable, batch: ProcessedEvent[]): Promise<ProcessedEvent[]> {
  if (batch.length === 0) return batch
  const any = await tx.query(
    'SELECT 1 FROM quarantined_events WHERE replayed_at IS NOT NULL LIMIT 1',
  )
  if (any.rows.length === 0) return batch
  await tx.query(
    `DELETE FROM quarantined_events q USING unnest($1::text[], $2::text[]) AS u(source_id, message_id)
     WHERE q.source_id = u.source_id AND q.message_id = u.message_id AND q.replayed_at IS NOT NULL`,
    [batch.map((e) => e.sourceId), batch.map((e) => e.event.messageId)],
  )
  return batch
}
