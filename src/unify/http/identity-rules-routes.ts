/**
 * Identity rules over HTTP: which identifiers merge profiles, how values are normalised on the
 * way in, and which value of a trait wins.
 * - `GET/PUT /api/v1/identity/rules` `{ rules, survivorship }`; the answer adds
 *   `effectiveNormalization`, the normalisation rules with defaults applied (derived: a PUT may
 *   send it back, and it is ignored; `rules.normalization` is what is stored);
 * - `GET /api/v1/identity/normalization` the effective rules; `PUT` replaces `rules.normalization`
 *   alone (body: the normalisation rules, every field optional) and answers the effective rules.
 * @module
 */
import { z } from 'zod'
import { describeNormalization } from '../core/identity/index.js'
import type { IdentitySettingsCache } from '../engine/identity-settings.js'
import { updateIdentityRules } from '../engine/identity-rules.js'
import type { RouteModule } from '../../platform/http/app.js'
import { jsonBody } from '../../platform/http/http-helpers.js'

// Strict: a misspelt field is an error, not a silent no-op that rewrites the rules.
const rulesBody = z.strictObject({
  rules: z.unknown().optional(),
  survivorship: z.unknown().optional(),
  effectiveNormalization: z.unknown().optional(),
})
// Validated by the identity rules' own schema (IdentityError with the offending paths).
const normalizationBody = z.record(z.string(), z.unknown())

export function identityRulesRoutes(deps: {
  identitySettings: IdentitySettingsCache
}): RouteModule {
  const { identitySettings } = deps
  return (app, ctx, auth) => {
    app.get('/api/v1/identity/rules', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:identity')
      const s = await identitySettings.get(ctx.db, workspaceId)
      return {
        rules: s.rules,
        survivorship: s.survivorship,
        effectiveNormalization: describeNormalization(s.compiled.normalization),
      }
    })

    app.put('/api/v1/identity/rules', async (req) => {
      const { workspaceId } = await auth.admin(req, 'write:identity')
      const { rules, survivorship } = jsonBody(req, rulesBody)
      const saved = await updateIdentityRules(ctx.db, identitySettings, workspaceId, {
        rules,
        survivorship,
      })
      const s = await identitySettings.get(ctx.db, workspaceId)
      return { ...saved, effectiveNormalization: describeNormalization(s.compiled.normalization) }
    })

    app.get('/api/v1/identity/normalization', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:identity')
      const s = await identitySettings.get(ctx.db, workspaceId)
      return describeNormalization(s.compiled.normalization)
    })

    app.put('/api/v1/identity/normalization', async (req) => {
      const { workspaceId } = await auth.admin(req, 'write:identity')
      const normalization = jsonBody(req, normalizationBody)
      const current = await identitySettings.get(ctx.db, workspaceId)
      await updateIdentityRules(ctx.db, identitySettings, workspaceId, {
        rules: { ...current.rules, normalization },
      })
      const s = await identitySettings.get(ctx.db, workspaceId)
      return describeNormalization(s.compiled.normalization)
    })
  }
}
