import type { Db } from '../store/db.js'
import { apiKeysRepository } from '../store/repositories/api-keys-repository.js'
import { workspacesRepository } from '../store/repositories/workspaces-repository.js'
import { hashSecret, newId, newSecret, secretPrefix } from '../store/ids.js'

/**
 * First start: a default workspace, and an admin token. With `KINDRED_ADMIN_TOKEN` set, that
 * token is registered (hashed); otherwise one is generated once and returned to be printed.
 */
export async function bootstrap(
  db: Db,
  adminToken: string | undefined,
): Promise<{ generatedToken?: string }> {
  await workspacesRepository.ensureDefault(db)
  if (adminToken) {
    if (adminToken.length < 16)
      throw new Error('KINDRED_ADMIN_TOKEN must be at least 16 characters')
    await apiKeysRepository.insert(db, {
      id: newId('apiKey'),
      workspaceId: null,
      name: 'KINDRED_ADMIN_TOKEN',
      keyHash: hashSecret(adminToken),
      keyPrefix: secretPrefix(adminToken),
      scopes: ['admin'],
    })
    return {}
  }
  if ((await apiKeysRepository.countAdmin(db)) > 0) return {}
  const token = newSecret('adminToken')
  await apiKeysRepository.insert(db, {
    id: newId('apiKey'),
    workspaceId: null,
    name: 'generated on first start',
    keyHash: hashSecret(token),
    keyPrefix: secretPrefix(token),
    scopes: ['admin'],
  })
  return { generatedToken: token }
}
