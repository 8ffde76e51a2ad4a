/**
 * Changing a workspace's identity rules and survivorship: validated with the core's parsers,
 * stored in `identity_settings`, and this node's cache dropped so the next batch uses them.
 * @module
 */
import { parseIdentityRules, type IdentityRules } from '../core/identity/index.js'
import { survivorshipSettingsSchema, type SurvivorshipSettings } from '../core/profiles/index.js'
import type { Queryable } from '../../platform/store/db.js'
import type { IdentitySettingsCache } from './identity-settings.js'

export interface IdentityRulesChange {
  /** Unparsed; left out keeps the current rules. */
  rules?: unknown
  /** Unparsed; left out keeps the current survivorship. */
  survivorship?: unknown
}

export async function updateIdentityRules(
  db: Queryable,
  cache: IdentitySettingsCache,
  workspaceId: string,
  change: IdentityRulesChange,
): Promise<{ rules: IdentityRules; survivorship: SurvivorshipSettings }> {
  const current = await cache.get(db, workspaceId)
  const rules = change.rules === undefined ? current.rules : parseIdentityRules(change.rules)
  const survivorship =
    change.survivorship === undefined
      ? current.survivorship
      : survivorshipSettingsSchema.parse(change.survivorship)
  await db.query(
    `INSERT INTO identity_settings (workspace_id, rules, survivorship, updated_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (workspace_id) DO UPDATE SET rules = EXCLUDED.rules, survivorship = EXCLUDED.survivorship, updated_at = now()`,
    [workspaceId, JSON.stringify(rules), JSON.stringify(survivorship)],
  )
  cache.invalidate(workspaceId)
  return { rules, survivorship }
}
