/**
 * Sign-in throttling, shared by every node through the database (the buckets are rows of
 * `login_attempts`, see its repository). Two buckets per attempt, as before: one per IP and one
 * per IP and e-mail. Every password check (a sign-in, or the current password of a password
 * change) takes an attempt from both before the password is checked, so concurrent guesses on
 * several nodes cannot overshoot; a success gives its attempt back, so only failures count.
 * @module
 */
import { KindredError } from '../protocol/errors.js'
import type { Queryable } from '../store/db.js'
import { hashSecret } from '../store/ids.js'
import {
  loginAttemptsRepository,
  type BucketLimit,
} from '../store/repositories/login-attempts-repository.js'

export interface LoginLimits {
  perIp: BucketLimit
  perAccount: BucketLimit
}

/** 5 failures per IP and e-mail, then one more every 12 s; 30 per IP, then one every 2 s. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perIp: { burst: 30, everyMs: 2_000 },
  perAccount: { burst: 5, everyMs: 12_000 },
}

/** An attempt that passed the throttle: report a success, or let the failure stand. */
export interface LoginAttempt {
  succeeded(): Promise<void>
}

// Hashed: the table then holds no address or IP in clear.
const ipKey = (ip: string) => hashSecret(`login-ip:${ip}`)
const accountKey = (ip: string, email: string) => hashSecret(`login:${ip}:${email}`)

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
     * IP comes first: a blocked IP does not get to create a bucket per e-mail it tries.
     */
    async begin(ip: string, email: string): Promise<LoginAttempt> {
      const now = clock()
      // Rows of buckets that are full again count nothing: a few go with every attempt, so the
      // table stays as small as the attempts of the last minutes, on any number of nodes.
      await loginAttemptsRepository.prune(db, now)
      const keys: Array<[string, BucketLimit]> = [
        [ipKey(ip), limits.perIp],
        [accountKey(ip, email), limits.perAccount],
      ]
      for (const [key, limit] of keys) {
        const r = await loginAttemptsRepository.take(db, key, limit, now)
        if (!r.ok) refuse(r.fullAt, limit, now)
      }
      return {
        async succeeded() {
          // The IP's bucket only gets this attempt back: earlier failures from the IP still count,
          // so one valid account cannot be used to wipe them. The account's bucket is cleared:
          // whoever sits at this IP knows the password.
          await loginAttemptsRepository.giveBack(db, ipKey(ip), limits.perIp)
          await loginAttemptsRepository.clear(db, accountKey(ip, email))
        },
      }
    },
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
