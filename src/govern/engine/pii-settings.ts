/**
 * A workspace's PII settings (`workspaces.settings.pii`), read by ingest (through the tracking
 * routes' cache) and by the file importer, which protects events the same way before the log.
 */
import {
  effectivePolicy,
  piiSettingsSchema,
  sourcePiiSchema,
  type PiiPolicy,
  type PiiSettings,
} from '../core/pii.js'
import type { Queryable } from '../../platform/store/db.js'

export async function loadPiiSettings(db: Queryable, workspaceId: string): Promise<PiiSettings> {
  const res = await db.query<{ pii: unknown }>(
    `SELECT settings->'pii' AS pii FROM workspaces WHERE id = $1`,
    [workspaceId],
  )
  const parsed = piiSettingsSchema.safeParse(res.rows[0]?.pii ?? {})
  return parsed.success ? parsed.data : piiSettingsSchema.parse({})
}

/** The policy for one source's events (workspace settings merged with the source's own). */
export async function piiPolicyForSource(
  db: Queryable,
  source: { workspaceId: string; settings: Record<string, unknown> },
): Promise<PiiPolicy | undefined> {
  const sourcePii = sourcePiiSchema.safeParse(source.settings.pii ?? {})
  return effectivePolicy(
    await loadPiiSettings(db, source.workspaceId),
    sourcePii.success ? sourcePii.data : undefined,
  )
}
