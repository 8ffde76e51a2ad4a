/**
 * The workspace's settings (`GET/PUT /api/v1/workspace/settings`): for now its time zone, the one
 * insights bucket days, weeks and months in unless a definition names another. Zone names only
 * (`Europe/Berlin`, `UTC`): an offset such as `+01:00` is no zone (it knows no DST) and Postgres
 * would read it with the sign reversed.
 * @module
 */
import { z } from 'zod'
import { isTimeZone } from '../../protocol/time-zone.js'
import type { RouteModule } from '../../platform/http/app.js'
import { annotateAudit } from '../../platform/http/audit.js'
import { jsonBody, notFound } from '../../platform/http/http-helpers.js'
import { readWorkspaceSettings, saveWorkspaceSettings } from '../engine/workspace-settings.js'

const settingsSchema = z
  .object({
    timeZone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'an IANA time-zone name such as "Europe/Berlin" or "UTC"'),
  })
  .strict()

export function workspaceSettingsRoutes(): RouteModule {
  return (app, ctx, auth) => {
    const { db } = ctx

    app.get('/api/v1/workspace/settings', async (req) => {
      const { workspaceId } = await auth.admin(req, 'read:settings')
      const settings = await readWorkspaceSettings(db, workspaceId)
      if (settings === undefined) throw notFound(`workspace ${workspaceId}`)
      return settings
    })

    app.put('/api/v1/workspace/settings', async (req) => {
      const { workspaceId } = await auth.admin(req, 'write:settings')
      const body = jsonBody(req, settingsSchema)
      return db.transaction(async (tx) => {
        const before = await readWorkspaceSettings(tx, workspaceId)
        if (before === undefined) throw notFound(`workspace ${workspaceId}`)
        await saveWorkspaceSettings(tx, workspaceId, body)
        const after = { ...before, ...body }
        annotateAudit(req, {
          action: 'workspace.settings.update',
          target: { type: 'workspace', id: workspaceId },
          before,
          after,
        })
        return after
      })
    })
  }
}
