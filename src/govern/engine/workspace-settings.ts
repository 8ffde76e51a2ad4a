/**
 * A workspace's general settings, kept in `workspaces.settings` beside the PII and consent
 * settings their own modules own: its time zone, which insights bucket days, weeks and months in
 * (src/understand/engine/insights/insights-service.ts reads `settings.timeZone`), and the
 * destination that receives the workspace's delivery alerts (a Slack channel, a webhook: the
 * dispatcher sends it a `Destination Alert` event when another destination dead-letters
 * deliveries or turns degraded).
 * @module
 */
import type { Queryable } from '../../platform/store/db.js'

export interface WorkspaceSettings {
  /** IANA zone name; UTC until set. */
  timeZone: string
  /** The destination delivery alerts are sent to; null: none. */
  alertDestinationId: string | null
}

export const DEFAULT_WORKSPACE_SETTINGS: WorkspaceSettings = {
  timeZone: 'UTC',
  alertDestinationId: null,
}

/** The settings, undefined when the workspace does not exist. */
export async function readWorkspaceSettings(
  q: Queryable,
  workspaceId: string,
): Promise<WorkspaceSettings | undefined> {
  const { rows } = await q.query<{ tz: string | null; alert: string | null }>(
    `SELECT settings->>'timeZone' AS tz, settings->>'alertDestinationId' AS alert
     FROM workspaces WHERE id = $1`,
    [workspaceId],
  )
  const row = rows[0]
  if (row === undefined) return undefined
  return { timeZone: row.tz ?? DEFAULT_WORKSPACE_SETTINGS.timeZone, alertDestinationId: row.alert }
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
    [
      workspaceId,
      JSON.stringify({
        timeZone: settings.timeZone,
        alertDestinationId: settings.alertDestinationId,
      }),
    ],
  )
}

/** Whether the workspace has this destination (an alert destination must be one of its own). */
export async function workspaceHasDestination(
  q: Queryable,
  workspaceId: string,
  destinationId: string,
): Promise<boolean> {
  const r = await q.query('SELECT 1 FROM destinations WHERE workspace_id = $1 AND id = $2', [
    workspaceId,
    destinationId,
  ])
  return r.rows.length > 0
}
