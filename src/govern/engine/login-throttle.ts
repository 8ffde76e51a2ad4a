/**
 * Sign-in throttling, shared by every node through the database (the buckets are rows of
 * `login_attempts`, see its repository). Three buckets per attempt: one per IP, one per IP and
 * e-mail, and one per e-mail from any address. The last one holds however many addresses a
 * guesser has (a botnet, or a proxy that is trusted to set `X-Forwarded-For`), and backs off: once
 * it is empty the waits double, up to a cap. It is generous, because whoever knows an e-mail can
 * also hold its owner off with it for that long. Every password check (a sign-in, or the current password of a password
 * change) takes an attempt from both before the password is checked, so concurrent guesses on
 * several nodes cannot overshoot; a success gives its attempt back, so only failures count.
 * @module
 */
import { KindredError } from '../../protocol/errors.js'
import type { Queryable } from '../../platform/store/db.js'
import { hashSecret } from '../../platform/store/ids.js'
import {
  loginAttemptsRepository,
  type BucketLimit,
  type LoginLimits,
} from '../../platform/store/repositories/login-attempts-repository.js'

export type { LoginLimits }

/**
 * 5 failures per IP and e-mail, then one more every 12 s; 30 per IP, then one every 2 s; 10 per
 * e-mail from anywhere, then after 1, 2, 4… minutes, at most 15 minutes apart.
 */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perIp: { burst: 30, everyMs: 2_000 },
  perAccount: { burst: 5, everyMs: 12_000 },
  perEmail: { burst: 10, everyMs: 60_000, backoffMaxMs: 15 * 60_000 },
}

/** An attempt that passed the throttle: report a success, or let the failure stand. */
export interface LoginAttempt {
  succeeded(): Promise<void>
}

// Hashed: the table then holds no address or IP in clear.
const ipKey = (ip: string) => hashSecret(`login-ip:${ip}`)
const accountKey = (ip: string, email: string) => hashSecret(`login:${ip}:${email}`)
const emailKey = (email: string) => hashSecret(`login-email:${email}`)

export function createLoginThrottle(
  db: Queryable,
  clock: () => Date,
  limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
) {
  function refuse(fullAt: Date, limit: BucketLimit, now: Date): never {
    // The next attempt fits once full_at is back within `burst` steps of now.
    const waitMs = fullAt.getTime() - now.getTime() - (limit.burst - 1) * limit.everyMs
    throw new KindredError('RATE_LIMITED', 'too many sign-in attempts; wait and try again', {
      headers: {
        'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
        'X-RateLimit-Reset': String(fullAt.getTime()),
      },
    })
  }

  return {
    /**
     * Takes an attempt for `email` from `ip`, or throws RATE_LIMITED (429 with Retry-After). The
     * IP comes first: a blocked IP does not get to create a bucket per e-mail it tries. `email` is
     * normalised here (trimmed, lower case), so spellings of one address share their buckets.
     */
    async begin(ip: string, rawEmail: string): Promise<LoginAttempt> {
      const email = rawEmail.trim().toLowerCase()
      const now = clock()
      // Rows of buckets that are full again count nothing: a few go with every attempt, so the
      // table stays as small as the attempts of the last minutes, on any number of nodes.
      await loginAttemptsRepository.prune(db, now)
      const keys: Array<[string, BucketLimit]> = [
        [ipKey(ip), limits.perIp],
        [accountKey(ip, email), limits.perAccount],
        [emailKey(email), limits.perEmail],
      ]
      for (const [key, limit] of keys) {
        const r = await loginAttemptsRepository.take(db, key, limit, now)
        if (!r.ok) refuse(r.fullAt, limit, now)
      }
      return {
        async succeeded() {
          // The IP's bucket only gets this attempt back: earlier failures from the IP still count,
          // so one valid account cannot be used to wipe them. The account's bucket is cleared:
          // whoever sits at this IP knows the password. The e-mail's bucket gets the attempt back
          // but keeps the failures from elsewhere: a guesser elsewhere gains nothing from it.
          await loginAttemptsRepository.giveBack(db, ipKey(ip), limits.perIp)
          await loginAttemptsRepository.clear(db, accountKey(ip, email))
          await loginAttemptsRepository.giveBack(db, emailKey(email), limits.perEmail)
        },
      }
    },
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
