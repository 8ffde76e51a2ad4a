/**
 * Scopes and roles: the one vocabulary of what a caller may do. API keys hold scopes; users hold a
 * role per workspace, and a role is a fixed set of scopes. Routes ask `auth.admin(req, scope)`
 * for one scope: reads ask for a `read:` scope, changes for a `write:` scope.
 * @module
 */

/** Every scope a route may ask for, with what it allows (shown by the console and the docs). */
export const scopeCatalog = {
  'read:profiles': 'read profiles, their events, identities, traits and stats',
  'write:profiles': 'split profiles and change profile data',
  'read:consent': 'read consent status and history',
  'write:consent': 'change a profile’s consent',
  'read:segments': 'read segments and computed traits',
  'write:segments': 'create, change and delete segments and computed traits',
  'read:insights': 'run insights (trends, funnels, retention, RFM) and read saved ones',
  'write:insights': 'save, change and delete insights',
  'read:predictions': 'read predictions and their model reports',
  'write:predictions': 'create, retrain and delete predictions',
  'read:experiments': 'read experiments and their results',
  'write:experiments': 'create experiments',
  'read:destinations': 'read destinations, deliveries and dead letters',
  'write:destinations': 'create, change, delete and replay destinations',
  'read:tracking-plans': 'read tracking plans, violations and quarantine',
  'write:tracking-plans': 'change tracking plans, PII settings and replay quarantine',
  'read:identity': 'read identity resolution rules',
  'write:identity': 'change identity resolution rules',
  'read:sources': 'read sources (never their write keys)',
  'write:sources': 'create, change, rotate and delete sources, and see their write keys',
  'read:imports': 'read imports and their rejects',
  'write:imports': 'start imports (adds events to a source)',
  'read:syncs': 'read database sync connections, models, runs and rejected rows',
  'write:syncs': 'create, change and delete database syncs and run them (adds events)',
  'read:privacy': 'read privacy requests',
  'write:privacy': 'file privacy requests (access, deletion, suppression)',
  'read:users': 'list the workspace’s members',
  'write:users': 'add members, change roles, remove members',
  'read:api-keys': 'list API keys (never their secrets)',
  'write:api-keys': 'create and revoke API keys',
  'read:audit': 'read the audit log',
  'read:settings': 'read the workspace’s settings (its time zone)',
  'write:settings': 'change the workspace’s settings (its time zone)',
  'write:workspace': 'create workspaces, delete the workspace, transfer ownership',
  admin: 'everything, in the workspaces the key or user may use',
} as const

export type NamedScope = keyof typeof scopeCatalog
export const namedScopes = Object.keys(scopeCatalog) as NamedScope[]

/** `write:source:<sourceId>`: may send events to the tracking API for that one source. */
export const SOURCE_WRITE_SCOPE_PREFIX = 'write:source:'
const sourceScopePattern = /^write:source:[A-Za-z0-9_-]{1,64}$/

export function isKnownScope(scope: string): boolean {
  return scope in scopeCatalog || sourceScopePattern.test(scope)
}

export function sourceOfScope(scope: string): string | undefined {
  return sourceScopePattern.test(scope) ? scope.slice(SOURCE_WRITE_SCOPE_PREFIX.length) : undefined
}

export const userRoles = ['owner', 'admin', 'editor', 'viewer'] as const
export type UserRole = (typeof userRoles)[number]

const viewerScopes: NamedScope[] = [
  'read:profiles',
  'read:consent',
  'read:segments',
  'read:insights',
  'read:predictions',
  'read:experiments',
  'read:destinations',
  'read:tracking-plans',
  'read:identity',
  'read:sources',
  'read:imports',
  'read:syncs',
  'read:users',
  'read:settings',
]
const editorScopes: NamedScope[] = [
  ...viewerScopes,
  'write:profiles',
  'write:consent',
  'write:segments',
  'write:insights',
  'write:predictions',
  'write:experiments',
  'write:destinations',
  'write:tracking-plans',
  'write:identity',
]
const adminRoleScopes: NamedScope[] = [
  ...editorScopes,
  'write:sources',
  'write:imports',
  'write:syncs',
  'read:privacy',
  'write:privacy',
  'write:users',
  'read:api-keys',
  'write:api-keys',
  'read:audit',
  'write:settings',
]

/**
 * viewer reads everything but the audit log, keys and privacy requests; editor also changes the
 * marketing configuration (segments, computed traits, destinations, tracking plans, identity
 * rules, consent); admin also manages sources, imports, keys, members, privacy requests and the
 * workspace's settings;
 * owner holds `admin`, which adds workspace deletion and ownership (`write:workspace`).
 */
export const roleScopes: Record<UserRole, readonly string[]> = {
  viewer: viewerScopes,
  editor: editorScopes,
  admin: adminRoleScopes,
  owner: ['admin'],
}

/** Does a holder of `granted` have `needed`? `admin` implies every scope. */
export function hasScope(granted: readonly string[], needed: string): boolean {
  if (granted.includes('admin') || granted.includes(needed)) return true
  // Whoever manages sources may hand out a key for one of them.
  return sourceOfScope(needed) !== undefined && granted.includes('write:sources')
}

/** The scopes of `wanted` that a holder of `granted` could not hand on. */
export function scopesBeyond(granted: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((s) => !hasScope(granted, s))
}
