/**
 * `kindred user create --email … (--password … | --password-stdin) [--role owner] [--workspace default]`:
 * the first owner on a fresh install (or any member) without going through the API. Without
 * `--role`, the first member of a workspace becomes its owner, later ones viewers.
 * `kindred user password <email> [--password-stdin]`: a new password for an account whose owner
 * lost it (the only owner included); every session of that user ends.
 * Both work on a stopped server's data dir or on DATABASE_URL.
 */
import { parseArgs } from 'node:util'
import { Writable, type Readable } from 'node:stream'
import { createInterface } from 'node:readline'
import { z } from 'zod'
import { userRoles, type UserRole } from '../protocol/scopes.js'
import type { Db, Queryable } from '../platform/store/db.js'
import { newId } from '../platform/store/ids.js'
import { auditRepository } from '../platform/store/repositories/audit-repository.js'
import { sessionsRepository } from '../platform/store/repositories/sessions-repository.js'
import {
  usersRepository,
  type Member,
  type User,
} from '../platform/store/repositories/users-repository.js'
import {
  DEFAULT_WORKSPACE_ID,
  workspacesRepository,
} from '../platform/store/repositories/workspaces-repository.js'
import { hashPassword, newPasswordSchema } from '../govern/engine/passwords.js'
import { defaultMemberRole } from '../govern/core/grants.js'

export const USER_USAGE = [
  'Usage: kindred user create --email <email> (--password <password> | --password-stdin) [--role owner|admin|editor|viewer] [--workspace default] [--data-dir ./.kindred]',
  '       (without --role: owner when the workspace has no owner yet, else viewer)',
  '       kindred user password <email> [--password-stdin] [--data-dir ./.kindred]',
].join('\n')

const email = z.string().trim().toLowerCase().email().max(320)
const dataDir = z.string().optional()

const createSchema = z.object({
  email,
  // Undefined with --password-stdin: the caller reads it and checks it with `checkPassword`.
  password: newPasswordSchema.optional(),
  passwordStdin: z.boolean(),
  role: z.enum(userRoles).optional(),
  workspace: z.string().min(1).max(64).default('default'),
  dataDir,
})
const passwordSchema = z.object({ email, passwordStdin: z.boolean(), dataDir })

export type UserCommand =
  | { command: 'create'; options: z.infer<typeof createSchema> }
  | { command: 'password'; options: z.infer<typeof passwordSchema> }

function issues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length > 0 ? `--${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ')
}

export function parseUserArgs(
  argv: string[],
): ({ ok: true } & UserCommand) | { ok: false; error: string } {
  const [sub, ...rest] = argv
  if (sub !== 'create' && sub !== 'password') {
    return { ok: false, error: `unknown user command "${sub ?? ''}"` }
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({
      args: rest,
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        role: { type: 'string' },
        workspace: { type: 'string' },
        'data-dir': { type: 'string' },
      },
      allowPositionals: sub === 'password',
      strict: true,
    })
  } catch (err) {
    return { ok: false, error: (err as Error).message }
  }
  const { values, positionals } = parsed
  const passwordStdin = values['password-stdin'] === true
  if (sub === 'password') {
    for (const flag of ['password', 'role', 'workspace', 'email']) {
      if (values[flag] !== undefined) {
        return {
          ok: false,
          error:
            flag === 'password'
              ? 'kindred user password reads the new password from stdin, never from the command line (it would stay in the shell history)'
              : `--${flag} does not apply to kindred user password`,
        }
      }
    }
    if (positionals.length !== 1) {
      return { ok: false, error: 'kindred user password takes one e-mail address' }
    }
    const r = passwordSchema.safeParse({
      email: positionals[0],
      passwordStdin,
      dataDir: values['data-dir'],
    })
    return r.success
      ? { ok: true, command: 'password', options: r.data }
      : { ok: false, error: issues(r.error) }
  }
  if ((values.password === undefined) === !passwordStdin) {
    return { ok: false, error: 'give either --password or --password-stdin' }
  }
  const r = createSchema.safeParse({ ...values, passwordStdin, dataDir: values['data-dir'] })
  return r.success
    ? { ok: true, command: 'create', options: r.data }
    : { ok: false, error: issues(r.error) }
}

/** The password policy of the API, for passwords read from stdin or a prompt. */
export function checkPassword(password: string): string {
  const r = newPasswordSchema.safeParse(password)
  if (!r.success) throw new Error(`the password is too weak: ${issues(r.error)}`)
  return r.data
}

/**
 * The first line of `input` (a pipe or a file: `--password-stdin`), without its line break, so
 * `echo "$PW" | kindred user password …` sets exactly `$PW`.
 */
export async function readPasswordLine(input: Readable): Promise<string> {
  let text = ''
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8')
    if (text.includes('\n')) break
  }
  const line = text.split('\n')[0] ?? ''
  return line.endsWith('\r') ? line.slice(0, -1) : line
}

/** Asks on the terminal without echoing what is typed (stderr, so stdout stays clean). */
export async function promptPassword(question: string): Promise<string> {
  let muted = false
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk)
      done()
    },
  })
  const rl = createInterface({ input: process.stdin, output, terminal: true })
  try {
    process.stderr.write(question)
    muted = true
    return await new Promise<string>((resolve) => rl.question('', resolve))
  } finally {
    muted = false
    rl.close()
    process.stderr.write('\n')
  }
}

async function auditSystem(
  db: Queryable,
  entry: { workspaceId: string | null; label: string; action: string; user: User; after: unknown },
): Promise<void> {
  await auditRepository.append(db, {
    workspaceId: entry.workspaceId,
    at: new Date(),
    actorKind: 'system',
    actorId: null,
    actorLabel: entry.label,
    action: entry.action,
    targetType: 'user',
    targetId: entry.user.id,
    outcome: 'success',
    status: null,
    before: undefined,
    after: entry.after,
    requestId: null,
    ip: null,
    method: null,
    path: null,
  })
}

/**
 * Creates the user (or, when the e-mail exists, sets the password) and gives them the role. With
 * no role: a member keeps theirs, and a newcomer gets `defaultMemberRole` (owner of a workspace
 * that has none, so the first account of a fresh install can run it).
 */
export async function createMember(
  db: Db,
  options: { email: string; password: string; role?: UserRole | undefined; workspace: string },
): Promise<Member> {
  const passwordHash = await hashPassword(checkPassword(options.password))
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
    if (existing) {
      await usersRepository.setPassword(tx, existing.id, passwordHash)
      // A new password ends the sessions signed in with the old one.
      await sessionsRepository.revokeAllOfUser(tx, existing.id, new Date())
    }
    const role =
      options.role ??
      (existing && (await usersRepository.role(tx, options.workspace, existing.id))) ??
      defaultMemberRole((await usersRepository.lockOwners(tx, options.workspace)).length > 0)
    await usersRepository.setRole(tx, options.workspace, user.id, role)
    const member = { ...user, role }
    await auditSystem(tx, {
      workspaceId: options.workspace,
      label: 'kindred user create',
      action: existing ? 'user.update' : 'user.create',
      user,
      after: member,
    })
    return member
  })
}

/**
 * Sets a new password for an existing user and ends all their sessions. Recorded in the audit log
 * of every workspace the user belongs to (the account is the same in each).
 */
export async function setUserPassword(
  db: Db,
  options: { email: string; password: string },
): Promise<{ user: User; revokedSessions: number; workspaces: string[] }> {
  const passwordHash = await hashPassword(checkPassword(options.password))
  return db.transaction(async (tx) => {
    const user = (await usersRepository.findByEmail(tx, options.email))?.user
    if (!user) {
      throw new Error(
        `no user with the e-mail ${options.email}: create one with kindred user create`,
      )
    }
    await usersRepository.setPassword(tx, user.id, passwordHash)
    const revokedSessions = await sessionsRepository.revokeAllOfUser(tx, user.id, new Date())
    const workspaces = (await usersRepository.memberships(tx, user.id)).map((m) => m.workspaceId)
    for (const workspaceId of workspaces.length > 0 ? workspaces : [null]) {
      await auditSystem(tx, {
        workspaceId,
        label: 'kindred user password',
        action: 'user.password.reset',
        user,
        after: { id: user.id, email: user.email, revokedSessions },
      })
    }
    return { user, revokedSessions, workspaces }
  })
}
