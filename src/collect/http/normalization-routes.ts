/**
 * The normalisation a source's tracking plan gets: `GET /api/v1/sources/:id/tracking-plan/normalization`
 * answers, for each trait the plan's identify schema names (`properties`), the rule its values are
 * normalised by before they reach the profile (trimmed, Unicode form, case, phones to E.164, dates
 * to ISO 8601), and the workspace's effective rules for everything else. The plan checks events as
 * sent; the profile keeps the normalised values (ADR 0012). Rules are changed through
 * `/api/v1/identity/normalization`.
 * @module
 */
import { describeNormalization, type TraitRule } from '../../unify/core/index.js'
import { createIdentitySettingsCache } from '../../unify/index.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import { notFound } from '../../platform/http/http-helpers.js'
import { getPlan } from '../engine/tracking-plans.js'

function plannedTraits(identify: unknown): string[] {
  if (typeof identify !== 'object' || identify === null) return []
  const properties = (identify as { properties?: unknown }).properties
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return []
  return Object.keys(properties).sort()
}

export function normalizationRoutes(): RouteModule {
  // Read each time: the answer is the rules as they are now.
  const identitySettings = createIdentitySettingsCache(() => 0, 0)
  return (app, ctx, auth) => {
    app.get<{ Params: { id: string } }>(
      '/api/v1/sources/:id/tracking-plan/normalization',
      async (req) => {
        const { workspaceId } = await auth.admin(req, 'read:tracking-plans')
        const source = await sourcesRepository.get(ctx.db, workspaceId, req.params.id)
        if (!source) throw notFound(`source ${req.params.id}`)
        const stored = await getPlan(ctx.db, workspaceId, req.params.id)
        const { compiled } = await identitySettings.get(ctx.db, workspaceId)
        const traits: Record<string, TraitRule> = {}
        for (const key of plannedTraits(stored?.plan.identify)) {
          traits[key] = compiled.normalization.trait(key)
        }
        return {
          sourceId: source.id,
          planVersion: stored?.version ?? 0,
          traits,
          normalization: describeNormalization(compiled.normalization),
        }
      },
    )
  }
}
