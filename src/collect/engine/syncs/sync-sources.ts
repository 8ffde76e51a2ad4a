/**
 * What a sync needs of Kindred's own machinery: the sealer (the secret key's AES-GCM, handed in by
 * app as for write keys, so one key and one rotation story cover every secret at rest), fresh
 * ids, and a source per model: its events carry the model's source id, which golden records
 * keep as provenance, so a trait names the model it came from.
 * @module
 */
import type { Queryable } from '../../../platform/store/db.js'
import { newId } from '../../../platform/store/ids.js'
import { sourcesRepository } from '../../../platform/store/repositories/sources-repository.js'
import { issueWriteKey, type WriteKeySealer } from '../write-key-service.js'

export interface SyncSecrets {
  seal(value: string): string
  open(sealed: string): string | undefined
  newToken(): string
}

export function syncSecrets(sealer: WriteKeySealer): SyncSecrets {
  return {
    seal: (value) => sealer.seal(value),
    open: (sealed) => sealer.open(sealed),
    newToken: () => newId('source').slice(4),
  }
}

/** Creates the model's source (`sync: <name>`); its write key is issued but never needed. */
export async function createSyncSource(
  db: Queryable,
  secrets: SyncSecrets,
  workspaceId: string,
  modelName: string,
): Promise<string> {
  const { stored } = issueWriteKey({ seal: secrets.seal, open: secrets.open })
  const source = await sourcesRepository.insert(db, {
    id: newId('source'),
    workspaceId,
    name: `sync: ${modelName}`.slice(0, 200),
    writeKeyHash: stored.hash,
    writeKeyPrefix: stored.prefix,
    writeKeySealed: stored.sealed,
    settings: {},
  })
  return source.id
}
