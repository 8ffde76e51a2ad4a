/**
 * The delivery log: one `delivery_attempts` row per request (or SQL statement, or file) sent,
 * with the redacted request, what came back and how long it took, written with the claim's
 * settlement and read back page by page for the destinations API; and the dispatcher's
 * Prometheus metrics, counted as the rows are made.
 */
import { Counter, Histogram, type Registry } from 'prom-client'
import type { Queryable } from '../../../platform/store/db.js'
import { redactEffectForLog, type Effect } from '../../core/index.js'
import { attemptStatus, type AttemptStatus } from '../../core/delivery-policy.js'
import type { GroupResult } from '../executors/index.js'

export interface LogRow {
  job_ids: string[]
  attempt: number
  status: AttemptStatus
  request: Record<string, unknown>
  response_status: number | null
  response_excerpt: string | null
  latency_ms: number | null
  error: string | null
  at: string
}

export interface DispatcherMetrics {
  requests: Counter<'destination_type' | 'outcome'>
  requestDuration: Histogram<'destination_type'>
  jobs: Counter<'destination_type' | 'outcome'>
}

const metricsByRegistry = new WeakMap<Registry, DispatcherMetrics>()

/** Dispatcher metrics, registered once per registry. */
export function dispatcherMetrics(registry: Registry): DispatcherMetrics {
  let m = metricsByRegistry.get(registry)
  if (!m) {
    m = {
      requests: new Counter({
        name: 'kindred_delivery_requests_total',
        help: 'Requests (or SQL statements, files) sent to destinations, by outcome',
        labelNames: ['destination_type', 'outcome'] as const,
        registers: [registry],
      }),
      requestDuration: new Histogram({
        name: 'kindred_delivery_request_duration_seconds',
        help: 'Latency of destination requests',
        labelNames: ['destination_type'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
      jobs: new Counter({
        name: 'kindred_delivery_jobs_total',
        help: 'Delivery jobs settled, by outcome (succeeded, skipped, retried, dead)',
        labelNames: ['destination_type', 'outcome'] as const,
        registers: [registry],
      }),
    }
    metricsByRegistry.set(registry, m)
  }
  return m
}

/** The log rows of one executed group (a chain gives one row per step it sent). */
export function logRowsOf(
  result: GroupResult,
  group: readonly Effect[],
  meta: { ids: string[]; attempt: number; at: string; secrets: string[] },
): LogRow[] {
  const rows: LogRow[] = []
  const push = (row: Omit<LogRow, 'job_ids' | 'attempt' | 'at'>) =>
    rows.push({ job_ids: meta.ids, attempt: meta.attempt, at: meta.at, ...row })
  const message = (c: { outcome: string; message?: string }) =>
    c.outcome === 'success' ? null : (c.message ?? null)
  if (result.type === 'http') {
    for (const step of result.steps) {
      if (step.skipped) continue
      const ex = step.execution
      const c = step.classification
      push({
        status: attemptStatus(c.outcome),
        request: redactEffectForLog(step.effect, meta.secrets),
        response_status: ex && ex.ok ? ex.status : null,
        response_excerpt: ex && ex.ok ? ex.bodyExcerpt : null,
        latency_ms: ex ? ex.latencyMs : null,
        error:
          c.outcome === 'partial'
            ? c.failed
                .map((f) => `${f.itemId}: ${f.message}`)
                .join('; ')
                .slice(0, 2000)
            : (message(c as { outcome: string; message?: string }) ??
              (ex && !ex.ok ? ex.error.message : null)),
      })
    }
  } else {
    const ex = result.execution
    push({
      status: attemptStatus(result.classification.outcome),
      request: redactEffectForLog(group[0] as Effect, meta.secrets),
      response_status: null,
      response_excerpt: !ex.ok
        ? null
        : 'rowCount' in ex
          ? `${ex.rowCount} rows`
          : 'published' in ex
            ? `${ex.published} messages confirmed`
            : 'written',
      latency_ms: ex.latencyMs,
      error: ex.ok ? null : ex.error.message,
    })
  }
  return rows
}

/** Counts the rows in the request metrics. */
export function countRequests(
  metrics: DispatcherMetrics | undefined,
  destinationType: string,
  rows: readonly LogRow[],
): void {
  if (!metrics) return
  for (const row of rows) {
    metrics.requests.inc({ destination_type: destinationType, outcome: row.status })
    if (row.latency_ms !== null)
      metrics.requestDuration.observe({ destination_type: destinationType }, row.latency_ms / 1000)
  }
}

/** Writes the claim's log rows (one statement). */
export async function insertDeliveryLog(
  tx: Queryable,
  destination: { workspaceId: string; id: string },
  rows: readonly LogRow[],
): Promise<void> {
  if (rows.length === 0) return
  await tx.query(
    `INSERT INTO delivery_attempts (workspace_id, destination_id, job_ids, attempt, status,
       request, response_status, response_excerpt, latency_ms, error, at)
     SELECT $2, $3, ARRAY(SELECT jsonb_array_elements_text(x.job_ids))::bigint[], x.attempt,
       x.status, x.request, x.response_status, x.response_excerpt, x.latency_ms, x.error, x.at
     FROM jsonb_to_recordset($1::jsonb) AS x(job_ids jsonb, attempt int, status text,
       request jsonb, response_status int, response_excerpt text, latency_ms float8,
       error text, at timestamptz)`,
    [JSON.stringify(rows), destination.workspaceId, destination.id],
  )
}

/** One delivery-log row as the destinations API reads it (the request as logged: redacted). */
export interface DeliveryAttempt {
  id: string
  at: string
  status: AttemptStatus
  attempt: number
  jobIds: string[]
  request: Record<string, unknown>
  responseStatus: number | null
  responseExcerpt: string | null
  latencyMs: number | null
  error: string | null
}

/**
 * A page of a destination's delivery log, newest first, optionally of one status. `before` is the
 * id the previous page ended on; `next` is the one this page ends on, null on the last page.
 */
export async function readDeliveryLog(
  db: Queryable,
  workspaceId: string,
  destinationId: string,
  page: { before?: string | undefined; status?: AttemptStatus | undefined; limit: number },
): Promise<{ data: DeliveryAttempt[]; next: string | null }> {
  const r = await db.query<{
    id: string | number
    at: Date | string
    status: AttemptStatus
    attempt: number
    job_ids: (string | number)[]
    request: Record<string, unknown>
    response_status: number | null
    response_excerpt: string | null
    latency_ms: number | string | null
    error: string | null
  }>(
    `SELECT id, at, status, attempt, job_ids, request, response_status, response_excerpt,
       latency_ms, error
     FROM delivery_attempts WHERE workspace_id = $1 AND destination_id = $2
       AND ($3::bigint IS NULL OR id < $3::bigint) AND ($4::text IS NULL OR status = $4)
     ORDER BY id DESC LIMIT $5`,
    [workspaceId, destinationId, page.before ?? null, page.status ?? null, page.limit + 1],
  )
  const rows = r.rows.slice(0, page.limit)
  return {
    data: rows.map((x) => ({
      id: String(x.id),
      at: new Date(x.at).toISOString(),
      status: x.status,
      attempt: x.attempt,
      jobIds: x.job_ids.map(String),
      request: x.request,
      responseStatus: x.response_status,
      responseExcerpt: x.response_excerpt,
      latencyMs: x.latency_ms === null ? null : Number(x.latency_ms),
      error: x.error,
    })),
    next: r.rows.length > page.limit ? String(rows[rows.length - 1]?.id) : null,
  }
}
