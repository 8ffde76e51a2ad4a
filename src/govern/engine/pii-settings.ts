/**
 * A workspace's PII settings (`workspaces.settings.pii`), read by ingest (through the tracking
 * routes' cache) and by the file importer, which protects events the same way before the log;
 * written through `savePiiSettings` by the PII API.
 */
import {
  effectivePolicy,
  piiSettingsSchema,
  sourcePiiSchema,
  type PiiPolicy,
  type PiiSettings,
} from '../core/pii.js'
import { KindredError } from '../../protocol/errors.js'
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

/**
 * Replaces a workspace's PII settings. The hash salt is write-only: `undefined` keeps the stored
 * one, `null` removes it. Callers drop their cached policies afterwards (ingest reads them hot).
 */
export async function savePiiSettings(
  db: Queryable,
  workspaceId: string,
  change: Omit<PiiSettings, 'hashSalt'> & { hashSalt?: string | null | undefined },
): Promise<PiiSettings> {
  const current = await loadPiiSettings(db, workspaceId)
  const salt = change.hashSalt === undefined ? current.hashSalt : (change.hashSalt ?? undefined)
  const next = { ...change, ...(salt === undefined ? {} : { hashSalt: salt }) }
  if (salt === undefined) delete next.hashSalt
  const res = await db.query(
    `UPDATE workspaces SET settings = jsonb_set(settings, '{pii}', $2::jsonb) WHERE id = $1`,
    [workspaceId, JSON.stringify(next)],
  )
  if (res.rowCount === 0) throw new KindredError('NOT_FOUND', `workspace ${workspaceId} not found`)
  return piiSettingsSchema.parse(next)
}
