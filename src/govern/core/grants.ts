/**
 * Nobody hands out more than they hold: a role or a key's scopes may be granted only by a caller
 * who has every one of them. And the role a new member gets when none is named.
 * @module
 */
import { KindredError } from '../../protocol/errors.js'
import { scopesBeyond, type UserRole } from '../../protocol/scopes.js'

/**
 * The role of a new member when none is asked for: owner while the workspace has no owner (the
 * first person set up on a fresh install, by the CLI or through the API, must be able to manage
 * members, keys and the workspace itself), viewer once it has one (the least a member can hold,
 * so leaving the role out never hands out more than intended).
 */
export function defaultMemberRole(workspaceHasOwner: boolean): UserRole {
  return workspaceHasOwner ? 'viewer' : 'owner'
}

export function assertCanGrant(
  holder: { scopes: readonly string[] },
  wanted: readonly string[],
  what: string,
): void {
  const beyond = scopesBeyond(holder.scopes, wanted)
  if (beyond.length > 0) {
    throw new KindredError('FORBIDDEN', `you cannot ${what}: you lack ${beyond.join(', ')}`, {
      details: { missing: beyond },
    })
  }
}
