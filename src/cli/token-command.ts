/**
 * `kindred token list` and `kindred token revoke <id>`: the keys for every workspace (the admin
 * token, earlier ones, the token generated on first start) from the host, on a stopped server's
 * data dir or on DATABASE_URL. Revoking here may take the last admin key: it is how an operator
 * retires a leaked token without any other one left. A running node notices within 30 s (its key
 * cache). Revoked stays revoked, also when KINDRED_ADMIN_TOKEN still names the key on a restart.
 */
import { parseArgs } from 'node:util'
import type { Queryable } from '../platform/store/db.js'
import {
  apiKeysRepository,
  type ApiKey,
} from '../platform/store/repositories/api-keys-repository.js'
import { auditRepository } from '../platform/store/repositories/audit-repository.js'

export const TOKEN_USAGE = [
  'Usage: kindred token list [--data-dir ./.kindred]',
  '       kindred token revoke <key id> [--data-dir ./.kindred]',
].join('\n')

export type TokenCommand =
  | { command: 'list'; dataDir: string | undefined }
  | { command: 'revoke'; id: string; dataDir: string | undefined }

export function parseTokenArgs(
  argv: string[],
): ({ ok: true } & TokenCommand) | { ok: false; error: string } {
  const [sub, ...rest] = argv
  if (sub !== 'list' && sub !== 'revoke') {
    return { ok: false, error: `unknown token command "${sub ?? ''}"` }
  }
  let parsed: { values: { 'data-dir'?: string | undefined }; positionals: string[] }
  try {
    parsed = parseArgs({
      args: rest,
      options: { 'data-dir': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
  const dataDir = parsed.values['data-dir']
  if (sub === 'list') {
    if (parsed.positionals.length > 0) return { ok: false, error: 'kindred token list takes no id' }
    return { ok: true, command: 'list', dataDir }
  }
  const [id, ...more] = parsed.positionals
  if (id === undefined || more.length > 0 || !/^key_[A-Za-z0-9_-]{1,80}$/.test(id)) {
    return {
      ok: false,
      error: 'kindred token revoke takes one key id (key_…, see kindred token list)',
    }
  }
  return { ok: true, command: 'revoke', id, dataDir }
}

export async function listGlobalTokens(db: Queryable): Promise<ApiKey[]> {
  return apiKeysRepository.listGlobal(db)
}

/** Revokes the global key `id` and audits it; throws when no live global key has that id. */
export async function revokeGlobalToken(
  db: Queryable,
  id: string,
  clock: () => Date = () => new Date(),
): Promise<ApiKey> {
  const key = await apiKeysRepository.getGlobal(db, id)
  if (!key)
    throw new Error(`no live key for every workspace has the id ${id} (see kindred token list)`)
  await apiKeysRepository.revokeGlobal(db, id, clock())
  await auditRepository.append(db, {
    workspaceId: null,
    at: clock(),
    actorKind: 'system',
    actorId: null,
    actorLabel: 'kindred token revoke',
    action: 'global-key.delete',
    targetType: 'api-key',
    targetId: id,
    outcome: 'success',
    status: null,
    before: { id: key.id, name: key.name, keyPrefix: key.keyPrefix, origin: key.origin },
    after: undefined,
    requestId: null,
    ip: null,
    method: null,
    path: null,
  })
  return key
}

export function describeToken(k: ApiKey): string {
  const origin = k.origin === 'env' ? 'KINDRED_ADMIN_TOKEN' : (k.origin ?? 'api')
  return `${k.id}  ${k.keyPrefix}…  ${k.scopes.join(',')}  ${origin}  created ${k.createdAt}`
}
