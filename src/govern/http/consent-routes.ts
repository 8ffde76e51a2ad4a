/**
 * Consent API: a profile's consent (state per purpose with its source, and history), decisions
 * through the API (`PUT`, recorded with the caller as proof, in one transaction with their
 * effects), and the workspace's consent settings.
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import {
  allowed,
  consentSettingsSchema,
  consentStatusSchema,
  type ConsentSettings,
  type ConsentSource,
  type ConsentStatus,
} from '../core/privacy/index.js'
import { KindredError } from '../../protocol/index.js'
import type { Queryable } from '../../platform/store/db.js'
import { newId } from '../../platform/store/ids.js'
import { recordConsentDecisions } from '../engine/consent/decisions.js'
import type { ProfileHooks } from '../../platform/module-contract.js'
import {
  loadConsentSettings,
  lockConsentSettings,
  saveConsentSettings,
} from '../engine/consent/consent-settings-repository.js'
import {
  findConsentProfile,
  readConsentRecords,
  type ConsentHistoryEntry,
} from '../engine/consent/consent-views-repository.js'
import { queueSettingsReevaluation } from '../engine/consent/reevaluation.js'
import type { GovernDeliveries } from '../engine/delivery-port.js'
import { annotateAudit } from '../../platform/http/audit.js'
import type { Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'

const READ = 'read:consent'

const putSchema = z.object({
  purposes: z
    .record(z.string().min(1).max(64), consentStatusSchema)
    .refine((p) => Object.keys(p).length > 0, 'name at least one purpose')
    .refine((p) => Object.keys(p).length <= 50, 'at most 50 purposes'),
  /** What the caller holds as proof (a form submission id, a signed document…). */
  proof: z.string().min(1).max(1000).optional(),
})

const historyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  purpose: z.string().max(64).optional(),
})

export interface ConsentRoutesOptions {
  /** Where the audience changes of a decision or a settings change go (see delivery-port.ts). */
  deliveries: GovernDeliveries
  /** After a settings change (caches of this node). */
  onSettingsChange?: (workspaceId: string) => void
  /** A settings change queued an audience re-evaluation: run it now rather than at the next poll. */
  onReevaluationQueued?: () => void
  /** What follows a consent decision (segments): see ProfileHooks. */
  profileHooks?: readonly ProfileHooks[]
}

/** `GET /api/v1/profiles/:id/consent`: the state per configured purpose and recent decisions. */
export interface ProfileConsentView {
  profileId: string
  purposes: Array<{
    purpose: string
    status: ConsentStatus | 'unknown'
    /** Whether destinations of this purpose may receive this person (the default decides unknown). */
    allowed: boolean
    updatedAt: string | null
    source: ConsentSource | null
    sourceId: string | null
    proof: string | null
  }>
  history: ConsentHistoryEntry[]
}

export function consentRoutes(options: ConsentRoutesOptions) {
  return (app: FastifyInstance, ctx: AppContext, auth: Auth): void =>
    registerConsentRoutes(app, ctx, auth, options)
}

function registerConsentRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  auth: Auth,
  options: ConsentRoutesOptions,
): void {
  const { db } = ctx

  /** The profile (a merged-away one has `mergedInto`: the caller answers 308). */
  async function profileRow(q: Queryable, workspaceId: string, id: string) {
    const row = await findConsentProfile(q, workspaceId, id)
    if (!row) throw notFound(`profile ${id}`)
    return row
  }

  async function consentView(
    q: Queryable,
    workspaceId: string,
    profileId: string,
    settings: ConsentSettings,
    query: z.infer<typeof historyQuery>,
  ): Promise<ProfileConsentView> {
    const records = await readConsentRecords(q, workspaceId, profileId, query)
    const current = new Map(records.current.map((r) => [r.purpose, r]))
    const sources = new Map(records.sources.map((r) => [r.purpose, r]))
    const purposes = [...new Set([...settings.purposes, ...current.keys()])]
    return {
      profileId,
      purposes: purposes.map((purpose) => {
        const c = current.get(purpose)
        const s = sources.get(purpose)
        return {
          purpose,
          status: c?.status ?? 'unknown',
          allowed: allowed(c ? { [purpose]: { status: c.status } } : {}, purpose, settings),
          updatedAt: c ? c.updatedAt : null,
          source: s?.source ?? null,
          sourceId: s?.sourceId ?? null,
          proof: s?.proof ?? null,
        }
      }),
      history: records.history,
    }
  }

  app.get<{ Params: { id: string } }>('/api/v1/profiles/:id/consent', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const query = parseQuery(historyQuery, req.query)
    const row = await profileRow(db, workspaceId, req.params.id)
    if (row.mergedInto !== null) {
      const location = `/api/v1/profiles/${encodeURIComponent(row.mergedInto)}/consent`
      return reply
        .code(308)
        .header('Location', location)
        .send({ mergedInto: row.mergedInto, location })
    }
    const settings = await loadConsentSettings(db, workspaceId)
    return consentView(db, workspaceId, row.id, settings, query)
  })

  app.put<{ Params: { id: string } }>('/api/v1/profiles/:id/consent', async (req, reply) => {
    const { workspaceId, key } = await auth.admin(req, 'write:consent')
    const body = jsonBody(req, putSchema)
    const requestId = newId('consentRequest')
    const at = ctx.clock()
    const out = await db.transaction(async (tx) => {
      const row = await profileRow(tx, workspaceId, req.params.id)
      if (row.mergedInto !== null) return { mergedInto: row.mergedInto, view: undefined }
      const settings = await loadConsentSettings(tx, workspaceId)
      const unknown = Object.keys(body.purposes).filter((p) => !settings.purposes.includes(p))
      if (unknown.length > 0) {
        throw new KindredError(
          'VALIDATION_FAILED',
          `unknown purpose(s) ${unknown.join(', ')}: configure them in /api/v1/consent/settings first`,
          { details: { unknown, purposes: settings.purposes } },
        )
      }
      const result = await recordConsentDecisions(
        tx,
        {
          workspaceId,
          profileId: row.id,
          purposes: body.purposes,
          source: 'api',
          actor: key.id,
          proof: requestId,
          details: {
            ...(body.proof === undefined ? {} : { proof: body.proof }),
            actorName: key.name,
          },
          at,
        },
        options.deliveries,
        options.profileHooks,
      )
      const view = await consentView(tx, workspaceId, row.id, settings, { limit: 200 })
      return { view, result, mergedInto: undefined }
    })
    if (out.mergedInto !== undefined) {
      const location = `/api/v1/profiles/${encodeURIComponent(out.mergedInto)}/consent`
      return reply
        .code(308)
        .header('Location', location)
        .send({ mergedInto: out.mergedInto, location })
    }
    return {
      ...out.view,
      requestId,
      changed: out.result.transitions.map((t) => ({
        purpose: t.purpose,
        from: t.before ?? 'unknown',
        to: t.after,
      })),
      audienceJobs: out.result.audienceJobs,
    }
  })

  app.get('/api/v1/consent/settings', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    return loadConsentSettings(db, workspaceId)
  })

  app.put('/api/v1/consent/settings', async (req) => {
    const { workspaceId, key } = await auth.admin(req, 'write:consent')
    const settings = jsonBody(req, consentSettingsSchema)
    const now = ctx.clock()
    const { before, reevaluation } = await db.transaction(async (tx) => {
      // One settings write per workspace at a time, so each compares against the one before it.
      await lockConsentSettings(tx, workspaceId)
      const before = await loadConsentSettings(tx, workspaceId)
      await saveConsentSettings(tx, workspaceId, settings, now)
      // A flipped default owes audience removals / re-adds: queued with the write (durable job).
      const reevaluation = await queueSettingsReevaluation(
        tx,
        { workspaceId, before, after: settings, actor: key.id, now },
        options.deliveries,
      )
      return { before, reevaluation }
    })
    annotateAudit(req, { before })
    options.onSettingsChange?.(workspaceId)
    if (reevaluation) options.onReevaluationQueued?.()
    return {
      ...settings,
      // Purposes whose default flipped: audiences of their destinations lose (`remove`) or
      // regain (`add`) the members that never answered, queued in the background.
      reevaluation: reevaluation ? { id: reevaluation.id, flips: reevaluation.flips } : null,
    }
  })
}
