/**
 * Consent settings per workspace (table consent_settings, migration 0420). Read per batch and per
 * dispatcher claim (one indexed row): a change through the API applies everywhere at once.
 */
import {
  consentSettingsSchema,
  defaultConsentSettings,
  type ConsentSettings,
} from '../../core/privacy/index.js'
import type { Queryable } from '../../../platform/store/db.js'

export async function loadConsentSettings(
  q: Queryable,
  workspaceId: string,
): Promise<ConsentSettings> {
  const r = await q.query<{ settings: unknown }>(
    'SELECT settings FROM consent_settings WHERE workspace_id = $1',
    [workspaceId],
  )
  const row = r.rows[0]
  if (!row) return defaultConsentSettings()
  const parsed = consentSettingsSchema.safeParse(row.settings)
  // Stored settings were validated on write; a row from a newer version falls back to defaults.
  return parsed.success ? parsed.data : defaultConsentSettings()
}

export async function saveConsentSettings(
  q: Queryable,
  workspaceId: string,
  settings: ConsentSettings,
  now: Date,
): Promise<void> {
  await q.query(
    `INSERT INTO consent_settings (workspace_id, settings, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (workspace_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = EXCLUDED.updated_at`,
    [workspaceId, JSON.stringify(settings), now.toISOString()],
  )
}

/**
 * Serialises settings writes of a workspace (a row lock on the workspace, until the caller's
 * transaction ends), so each write compares its settings against the one before it.
 */
export async function lockConsentSettings(tx: Queryable, workspaceId: string): Promise<void> {
  await tx.query('SELECT 1 FROM workspaces WHERE id = $1 FOR NO KEY UPDATE', [workspaceId])
}
