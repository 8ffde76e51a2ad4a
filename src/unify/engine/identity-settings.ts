import {
  compileIdentityRules,
  DEFAULT_IDENTITY_RULES,
  parseIdentityRules,
  type CompiledIdentityRules,
  type IdentityRules,
} from '../core/identity/index.js'
import {
  DEFAULT_SURVIVORSHIP_SETTINGS,
  survivorshipSettingsSchema,
  type SurvivorshipSettings,
} from '../core/profiles/index.js'
import { ttlCache } from '../../platform/cache.js'
import type { Queryable } from '../../platform/store/db.js'

export interface WorkspaceIdentitySettings {
  rules: IdentityRules
  compiled: CompiledIdentityRules
  survivorship: SurvivorshipSettings
}

const defaults: WorkspaceIdentitySettings = {
  rules: DEFAULT_IDENTITY_RULES,
  compiled: compileIdentityRules(DEFAULT_IDENTITY_RULES),
  survivorship: DEFAULT_SURVIVORSHIP_SETTINGS,
}

/** Workspaces whose settings one node keeps; the rest are read again when next needed. */
export const IDENTITY_SETTINGS_CACHE_MAX = 10_000

/**
 * Per-workspace identity rules and survivorship, cached: the processor reads them every batch.
 * A change through the API invalidates this node's cache at once; other nodes within `ttlMs`.
 * At most `max` workspaces, least recently used out first; `ttlMs` 0 reads them every time
 * (reprocessing and matching runs want the settings as they are now).
 */
export function createIdentitySettingsCache(
  clock: () => number,
  ttlMs = 5_000,
  max = IDENTITY_SETTINGS_CACHE_MAX,
) {
  const cache =
    ttlMs > 0 ? ttlCache<string, WorkspaceIdentitySettings>({ max, ttlMs, clock }) : undefined
  return {
    async get(db: Queryable, workspaceId: string): Promise<WorkspaceIdentitySettings> {
      const hit = cache?.get(workspaceId)
      if (hit !== undefined) return hit
      const res = await db.query<{ rules: unknown; survivorship: unknown }>(
        'SELECT rules, survivorship FROM identity_settings WHERE workspace_id = $1',
        [workspaceId],
      )
      const row = res.rows[0]
      let value = defaults
      if (row) {
        const rules = parseIdentityRules(row.rules)
        value = {
          rules,
          compiled: compileIdentityRules(rules),
          survivorship: survivorshipSettingsSchema.parse(row.survivorship ?? {}),
        }
      }
      cache?.set(workspaceId, value)
      return value
    },
    invalidate(workspaceId?: string) {
      if (workspaceId === undefined) cache?.clear()
      else cache?.delete(workspaceId)
    },
  }
}

export type IdentitySettingsCache = ReturnType<typeof createIdentitySettingsCache>
