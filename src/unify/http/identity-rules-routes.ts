/**
 * Identity rules over HTTP: which identifiers merge profiles, and which value of a trait wins.
 * @module
 */
import { z } from 'zod'
import type { IdentitySettingsCache } from '../engine/identity-settings.js'
import { updateIdentityRules } from '../engine/identity-rules.js'
import type { RouteModule } from '../../platform/http/app.js'
import { jsonBody } from '../../platform/http/http-helpers.js'

// Strict: a misspelt field is an error, not a silent no-op that rewrites the rules.
const rulesBody = z.strictObject({
  rules: z.unknown().optional(),
  survivorship: z.unknown().optional(),
})

export function identityRulesRoutes(deps: {
  identitySettings: IdentitySettingsCache
}): RouteModule {
  const { identitySettings } = deps
  return (app, ctx, auth) => {
    app.get('/api/v1/identity/rules', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:identity')
      const s = await identitySettings.get(ctx.db, workspaceId)
      return { rules: s.rules, survivorship: s.survivorship }
    })

    app.put('/api/v1/identity/rules', async (req) => {
      const { workspaceId } = await auth.admin(req, 'write:identity')
      const body = jsonBody(req, rulesBody)
      return updateIdentityRules(ctx.db, identitySettings, workspaceId, body)
    })
  }
}
