/**
 * Nobody hands out more than they hold: a role or a key's scopes may be granted only by a caller
 * who has every one of them.
 * @module
 */
import { KindredError } from '../../protocol/errors.js'
import { scopesBeyond } from '../../protocol/scopes.js'

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
