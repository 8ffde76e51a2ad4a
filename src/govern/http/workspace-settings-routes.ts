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
import { KindredError } from '../../protocol/errors.js'
import {
  readWorkspaceSettings,
  saveWorkspaceSettings,
  workspaceHasDestination,
} from '../engine/workspace-settings.js'

const settingsSchema = z
  .object({
    timeZone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'an IANA time-zone name such as "Europe/Berlin" or "UTC"')
      .optional(),
    /** A destination of this workspace that receives delivery alerts; null: none. */
    alertDestinationId: z.string().min(1).max(200).nullable().optional(),
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
        const after = {
          timeZone: body.timeZone ?? before.timeZone,
          alertDestinationId:
            body.alertDestinationId === undefined
              ? before.alertDestinationId
              : body.alertDestinationId,
        }
        if (
          after.alertDestinationId !== null &&
          !(await workspaceHasDestination(tx, workspaceId, after.alertDestinationId))
        )
          throw new KindredError(
            'VALIDATION_FAILED',
            `alertDestinationId: no destination ${after.alertDestinationId} in this workspace; create a Slack or webhook destination first`,
            {
              details: [
                { path: 'alertDestinationId', code: 'unknown', message: 'no such destination' },
              ],
            },
          )
        await saveWorkspaceSettings(tx, workspaceId, after)
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
