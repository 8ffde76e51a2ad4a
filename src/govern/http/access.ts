/**
 * Access control over HTTP, one route group per concern: sign-in sessions, the caller, workspaces,
 * the workspace's settings, members and their roles, scoped API keys (and the keys for every workspace), the audit log.
 * Scopes and roles are defined once in `src/protocol/scopes.ts`.
 * @module
 */
import type { RouteModule } from '../../platform/http/app.js'
import { apiKeysRoutes } from './api-keys-routes.js'
import { auditRoutes } from './audit-routes.js'
import { meRoutes } from './me-routes.js'
import { membersRoutes } from './members-routes.js'
import { sessionRoutes } from './session-routes.js'
import { workspaceSettingsRoutes } from './workspace-settings-routes.js'
import { workspacesRoutes } from './workspaces-routes.js'

export function accessRoutes(): RouteModule[] {
  return [
    sessionRoutes(),
    meRoutes(),
    workspacesRoutes(),
    workspaceSettingsRoutes(),
    membersRoutes(),
    apiKeysRoutes(),
    auditRoutes(),
  ]
}
