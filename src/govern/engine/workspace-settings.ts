/**
 * A workspace's general settings, kept in `workspaces.settings` beside the PII and consent
 * settings their own modules own: for now its time zone, which insights bucket days, weeks and
 * months in (src/understand/engine/insights/insights-service.ts reads `settings.timeZone`).
 * @module
 */
import type { Queryable } from '../../platform/store/db.js'

export interface WorkspaceSettings {
  /** IANA zone name; UTC until set. */
  timeZone: string
}

export const DEFAULT_WORKSPACE_SETTINGS: WorkspaceSettings = { timeZone: 'UTC' }

/** The settings, undefined when the workspace does not exist. */
export async function readWorkspaceSettings(
  q: Queryable,
  workspaceId: string,
): Promise<WorkspaceSettings | undefined> {
  const { rows } = await q.query<{ tz: string | null }>(
    `SELECT settings->>'timeZone' AS tz FROM workspaces WHERE id = $1`,
    [workspaceId],
  )
  const row = rows[0]
  if (row === undefined) return undefined
  return { timeZone: row.tz ?? DEFAULT_WORKSPACE_SETTINGS.timeZone }
}

/**
 * Writes the given settings into `workspaces.settings`, leaving its other keys (PII, …) as they
 * are; locks the workspace row, so concurrent writers apply one after the other.
 */
export async function saveWorkspaceSettings(
  q: Queryable,
  workspaceId: string,
  settings: WorkspaceSettings,
): Promise<void> {
  await q.query(
    `UPDATE workspaces SET settings = coalesce(settings, '{}'::jsonb) || $2::jsonb WHERE id = $1`,
    [workspaceId, JSON.stringify({ timeZone: settings.timeZone })],
  )
}
