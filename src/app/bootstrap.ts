import type { Db } from '../platform/store/db.js'
import { apiKeysRepository } from '../platform/store/repositories/api-keys-repository.js'
import { workspacesRepository } from '../platform/store/repositories/workspaces-repository.js'
import { hashSecret, newId, newSecret, secretPrefix } from '../platform/store/ids.js'

export interface BootstrapResult {
  /** The admin token generated on a first start without KINDRED_ADMIN_TOKEN, to print once. */
  generatedToken?: string
  /** Keys of earlier KINDRED_ADMIN_TOKEN values revoked by this start. */
  revokedKeyIds: string[]
  /** KINDRED_ADMIN_TOKEN names a key that was revoked: it stays revoked and opens nothing. */
  adminTokenRevoked: boolean
}

/**
 * Every start: the default workspace, and the admin token. With `KINDRED_ADMIN_TOKEN` set, that
 * token is registered (hashed, marked as the env token) and the keys of any earlier value are
 * revoked, so rotating the variable and restarting retires a leaked token. A revoked token stays
 * revoked, even when the variable still names it. Without the variable, a token is generated
 * once, when no admin key exists, and returned to be printed.
 */
export async function bootstrap(
  db: Db,
  adminToken: string | undefined,
  clock: () => Date = () => new Date(),
): Promise<BootstrapResult> {
  await workspacesRepository.ensureDefault(db)
  if (adminToken) {
    if (adminToken.length < 16)
      throw new Error('KINDRED_ADMIN_TOKEN must be at least 16 characters')
    const keyHash = hashSecret(adminToken)
    return db.transaction(async (tx) => {
      const key = await apiKeysRepository.insert(tx, {
        id: newId('apiKey'),
        workspaceId: null,
        name: 'KINDRED_ADMIN_TOKEN',
        keyHash,
        keyPrefix: secretPrefix(adminToken),
        scopes: ['admin'],
        origin: 'env',
      })
      const revokedKeyIds = await apiKeysRepository.revokeEnvKeysExcept(tx, keyHash, clock())
      return { revokedKeyIds, adminTokenRevoked: key.revokedAt !== null }
    })
  }
  const none = { revokedKeyIds: [], adminTokenRevoked: false }
  if ((await apiKeysRepository.countAdmin(db)) > 0) return none
  const token = newSecret('adminToken')
  await apiKeysRepository.insert(db, {
    id: newId('apiKey'),
    workspaceId: null,
    name: 'generated on first start',
    keyHash: hashSecret(token),
    keyPrefix: secretPrefix(token),
    scopes: ['admin'],
    origin: 'generated',
  })
  return { ...none, generatedToken: token }
}
