/**
 * Data quality and PII API: tracking plans per source, their
 * violations, the quarantine and its replay, and the workspace's PII settings.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { MAX_JSON_DEPTH, nestsDeeperThan, stringifyTotal } from '../../protocol/index.js'
import { cursorCodec, cursorField } from '../../protocol/cursor.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import { piiSettingsSchema } from '../../govern/core/index.js'
import { compilePlan, trackingPlanSchema, type Violation } from '../core/tracking-plan.js'
import { deletePlan, getPlan, savePlan } from '../engine/tracking-plans.js'
import { storedPayload } from '../engine/quality-filter.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import { savePiiSettings } from '../../govern/index.js'
import { loadPiiSettings, piiPoliciesFor } from '../../govern/index.js'

const DAY_MS = 86_400_000
/** Events appended to the log per replay record (the log's own batch limit). */
const REPLAY_CHUNK = 500

const violationsQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  event: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
})
const quarantineQuery = z.object({
  cursor: z.string().max(2000).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  reason: z.enum(['plan', 'poison']).optional(),
})
const replayBody = z.object({
  messageIds: z.array(z.string().min(1).max(1024)).min(1).max(5_000).optional(),
  limit: z.number().int().min(1).max(5_000).default(1_000),
})
// Strict: a misspelt key must be a 400, not a silent reset of the settings to their defaults.
const putPiiBody = z.strictObject({
  ...piiSettingsSchema.shape,
  // Write-only: omitted keeps the stored salt, null removes it.
  hashSalt: z.string().min(8).max(200).nullable().optional(),
})

/** Quarantine pages are ordered by `[quarantinedAt, messageId]`. */
const cursor = cursorCodec(cursorField.timestamp(), cursorField.text(2000))

function registerQualityRoutes(app: FastifyInstance, ctx: AppContext, auth: Auth): void {
  async function sourceOf(workspaceId: string, id: string) {
    const source = await sourcesRepository.get(ctx.db, workspaceId, id)
    if (!source) throw notFound(`source ${id}`)
    return source
  }

  app.get<{ Params: { id: string } }>('/api/v1/sources/:id/tracking-plan', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
    await sourceOf(workspaceId, req.params.id)
    const stored = await getPlan(ctx.db, workspaceId, req.params.id)
    // No plan yet: version 0, checks nothing, so the console can start from it.
    return (
      stored ?? {
        sourceId: req.params.id,
        version: 0,
        plan: trackingPlanSchema.parse({ mode: 'allow' }),
        updatedAt: null,
      }
    )
  })

  app.put<{ Params: { id: string } }>('/api/v1/sources/:id/tracking-plan', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:tracking-plans')
    const plan = jsonBody(req, trackingPlanSchema)
    await sourceOf(workspaceId, req.params.id)
    // A schema that is not JSON Schema is refused here (PlanSchemaError), not at ingest.
    compilePlan(plan, 0)
    return savePlan(ctx.db, workspaceId, req.params.id, plan, ctx.clock())
  })

  app.delete<{ Params: { id: string } }>(
    '/api/v1/sources/:id/tracking-plan',
    async (req, reply) => {
      const { workspaceId } = await auth.admin(req, 'write:tracking-plans')
      await sourceOf(workspaceId, req.params.id)
      if (!(await deletePlan(ctx.db, workspaceId, req.params.id))) {
        throw notFound(`tracking plan of source ${req.params.id}`)
      }
      return reply.code(204).send()
    },
  )

  app.get<{ Params: { id: string } }>('/api/v1/sources/:id/violations', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
    const q = parseQuery(violationsQuery, req.query)
    await sourceOf(workspaceId, req.params.id)
    const to = q.to ? new Date(q.to) : ctx.clock()
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 7 * DAY_MS)
    const params = [
      workspaceId,
      req.params.id,
      from.toISOString(),
      to.toISOString(),
      q.event ?? null,
    ]
    const where = `workspace_id = $1 AND source_id = $2 AND seen_at >= $3 AND seen_at < $4
      AND ($5::text IS NULL OR event = $5)`
    const byEvent = await ctx.db.query<{
      event: string | null
      type: string
      action: string
      count: string
    }>(
      `SELECT event, type, action, count(*) AS count FROM event_violations WHERE ${where}
       GROUP BY event, type, action ORDER BY count(*) DESC, event LIMIT 500`,
      params,
    )
    const byProperty = await ctx.db.query<{
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
    const recent = await ctx.db.query<{
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
      [...params, q.limit],
    )
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      total: byEvent.rows.reduce((n, r) => n + Number(r.count), 0),
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
        seenAt: new Date(r.seen_at).toISOString(),
      })),
    }
  })

  app.get<{ Params: { id: string } }>('/api/v1/sources/:id/quarantine', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
    const q = parseQuery(quarantineQuery, req.query)
    const after = cursor.decode(q.cursor)
    await sourceOf(workspaceId, req.params.id)
    const res = await ctx.db.query<{
      message_id: string
      reason: string
      type: string
      event: string | null
      payload: KindredEvent | null
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
        req.params.id,
        q.reason ?? null,
        after?.[0] ?? null,
        after?.[1] ?? null,
        q.limit + 1,
      ],
    )
    const total = await ctx.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM quarantined_events
       WHERE workspace_id = $1 AND source_id = $2 AND ($3::text IS NULL OR reason = $3)`,
      [workspaceId, req.params.id, q.reason ?? null],
    )
    const rows = res.rows.slice(0, q.limit)
    const last = rows[rows.length - 1]
    return {
      data: rows.map((r) => ({
        messageId: r.message_id,
        reason: r.reason,
        type: r.type,
        event: r.event,
        payload: shownPayload(r),
        violations: r.violations,
        error: r.error,
        planVersion: r.plan_version === null ? null : Number(r.plan_version),
        attempts: Number(r.attempts),
        quarantinedAt: new Date(r.quarantined_at).toISOString(),
        replayedAt: r.replayed_at === null ? null : new Date(r.replayed_at).toISOString(),
      })),
      total: Number(total.rows[0]?.n ?? 0),
      nextCursor:
        res.rows.length > q.limit && last
          ? cursor.encode([new Date(last.quarantined_at).toISOString(), last.message_id])
          : null,
    }
  })

  /**
   * Re-validates quarantined events against the current plan and appends those that pass to the
   * event log with their messageId. The processor removes each from quarantine in the
   * transaction that applies it, so a replay is applied once even if it is asked for twice. A
   * replay whose append was lost (crash) is offered again after ten minutes.
   */
  app.post<{ Params: { id: string } }>('/api/v1/sources/:id/quarantine/replay', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:tracking-plans')
    const body = jsonBody(req, replayBody)
    const source = await sourceOf(workspaceId, req.params.id)
    const now = ctx.clock()
    const stored = await getPlan(ctx.db, workspaceId, source.id)
    const compiled = stored ? compilePlan(stored.plan, stored.version) : undefined
    const picked = await ctx.db.transaction(async (tx) => {
      const res = await tx.query<{
        message_id: string
        payload: KindredEvent | null
        payload_text: string | null
      }>(
        `SELECT message_id, payload, payload_text FROM quarantined_events
         WHERE workspace_id = $1 AND source_id = $2
           AND ($3::text[] IS NULL OR message_id = ANY($3::text[]))
           AND (replayed_at IS NULL OR replayed_at < $4::timestamptz - interval '10 minutes')
         ORDER BY quarantined_at, message_id LIMIT $5 FOR UPDATE`,
        [workspaceId, source.id, body.messageIds ?? null, now.toISOString(), body.limit],
      )
      const passing: KindredEvent[] = []
      const failing: Array<{ messageId: string; violations: Violation[] }> = []
      for (const r of res.rows) {
        const payload = storedPayload(r) as KindredEvent
        const verdict = compiled ? compiled.check(payload) : { action: 'pass' as const }
        if (verdict.action === 'quarantine') {
          failing.push({ messageId: r.message_id, violations: verdict.violations })
        } else passing.push(payload)
      }
      if (passing.length > 0) {
        await tx.query(
          `UPDATE quarantined_events SET replayed_at = $3
           WHERE source_id = $1 AND message_id = ANY($2::text[])`,
          [source.id, passing.map((e) => e.messageId), now.toISOString()],
        )
      }
      return { passing, failing }
    })
    for (let i = 0; i < picked.passing.length; i += REPLAY_CHUNK) {
      const events = picked.passing.slice(i, i + REPLAY_CHUNK)
      await ctx.eventLog.append({
        workspaceId,
        sourceId: source.id,
        receivedAt: now.toISOString(),
        events,
        eventsJson: stringifyTotal(events),
      })
    }
    return {
      replayed: picked.passing.length,
      stillFailing: picked.failing.length,
      failures: picked.failing.slice(0, 50),
      planVersion: compiled?.version ?? 0,
    }
  })

  app.get('/api/v1/privacy/pii', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
    const { hashSalt, ...rest } = await loadPiiSettings(ctx.db, workspaceId)
    return { ...rest, hasHashSalt: hashSalt !== undefined }
  })

  // Admins only (not editors, who maintain tracking plans): a short retention deletes the
  // workspace's older events, and hashing changes how identities link.
  app.put('/api/v1/privacy/pii', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:privacy')
    const body = jsonBody(req, putPiiBody)
    const saved = await savePiiSettings(ctx.db, workspaceId, body)
    piiPoliciesFor(ctx).invalidate(workspaceId)
    const { hashSalt, ...rest } = saved
    return { ...rest, hasHashSalt: hashSalt !== undefined }
  })
}

/**
 * The payload as the API shows it: the event, or its JSON text when it nests too deep to be
 * answered as JSON (a poison event kept aside from an old log).
 */
function shownPayload(row: { payload: unknown; payload_text: string | null }): unknown {
  const payload = storedPayload(row)
  return nestsDeeperThan(payload, MAX_JSON_DEPTH) ? row.payload_text : payload
}

export function qualityRoutes(): RouteModule {
  return registerQualityRoutes
}
