/**
 * `kindred user create --email … --password … --role owner [--workspace default]`: the first owner
 * on a fresh install (or any member) without going through the API. Works on a stopped server's
 * data dir or on DATABASE_URL.
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { userRoles, type UserRole } from '../protocol/scopes.js'
import type { Db } from '../store/db.js'
import { newId } from '../store/ids.js'
import { auditRepository } from '../store/repositories/audit-repository.js'
import { usersRepository, type Member } from '../store/repositories/users-repository.js'
import {
  DEFAULT_WORKSPACE_ID,
  workspacesRepository,
} from '../store/repositories/workspaces-repository.js'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, hashPassword } from '../server/passwords.js'

export const USER_USAGE =
  'Usage: kindred user create --email <email> --password <password> --role owner|admin|editor|viewer [--workspace default] [--data-dir ./.kindred]'

const optionsSchema = z.object({
  email: z.string().trim().toLowerCase().email().max(320),
  password: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH),
  role: z.enum(userRoles),
  workspace: z.string().min(1).max(64).default('default'),
  dataDir: z.string().optional(),
})
export type UserCommandOptions = z.infer<typeof optionsSchema>

export function parseUserArgs(
  argv: string[],
): { ok: true; options: UserCommandOptions } | { ok: false; error: string } {
  const [sub, ...rest] = argv
  if (sub !== 'create') return { ok: false, error: `unknown user command "${sub ?? ''}"` }
  let values: Record<string, unknown>
  try {
    values = parseArgs({
      args: rest,
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        role: { type: 'string' },
        workspace: { type: 'string' },
        'data-dir': { type: 'string' },
      },
      strict: true,
    }).values
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
  const r = optionsSchema.safeParse({ ...values, dataDir: values['data-dir'] })
  if (!r.success) {
    return {
      ok: false,
      error: r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '),
    }
  }
  return { ok: true, options: r.data }
}

/** Creates the user (or, when the e-mail exists, sets the password) and gives them the role. */
export async function createMember(
  db: Db,
  options: { email: string; password: string; role: UserRole; workspace: string },
): Promise<Member> {
  const passwordHash = await hashPassword(options.password)
  return db.transaction(async (tx) => {
    // Before the first `kindred start` only the default workspace can exist: make it.
    if (options.workspace === DEFAULT_WORKSPACE_ID) await workspacesRepository.ensureDefault(tx)
    if (!(await workspacesRepository.get(tx, options.workspace))) {
      throw new Error(`workspace "${options.workspace}" does not exist`)
    }
    const existing = (await usersRepository.findByEmail(tx, options.email))?.user
    const user =
      existing ??
      (await usersRepository.insert(tx, {
        id: newId('user'),
        email: options.email,
        name: null,
        passwordHash,
      }))
    if (existing) await usersRepository.setPassword(tx, existing.id, passwordHash)
    await usersRepository.setRole(tx, options.workspace, user.id, options.role)
    const member = { ...user, role: options.role }
    await auditRepository.append(tx, {
      workspaceId: options.workspace,
      at: new Date(),
      actorKind: 'system',
      actorId: null,
      actorLabel: 'kindred user create',
      action: existing ? 'user.update' : 'user.create',
      targetType: 'user',
      targetId: user.id,
      outcome: 'success',
      status: null,
      before: undefined,
      after: member,
      requestId: null,
      ip: null,
      method: null,
      path: null,
    })
    return member
  })
}
