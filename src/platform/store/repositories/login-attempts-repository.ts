/**
 * Sign-in throttle buckets in the database, shared by every node (see migration 0401). A bucket
 * holds `burst` attempts and gets one back every `everyMs`; its row stores only `full_at`, the
 * moment it is full again. Taking an attempt moves `full_at` one step later, which is allowed while
 * it stays within `burst` steps of now. Each change is one statement, atomic on a contended row.
 * @module
 */
import type { Queryable } from '../db.js'

export interface BucketLimit {
  /** Attempts available at once. */
  burst: number
  /** One attempt comes back every `everyMs`. */
  everyMs: number
  /**
   * Backoff: once the bucket has been emptied, each further attempt costs twice the one before
   * (2, 4, 8… × `everyMs`), up to this many ms, until the bucket is full again. Unset: no backoff.
   */
  backoffMaxMs?: number
}

/** The three sign-in buckets (see the login throttle). */
export interface LoginLimits {
  perIp: BucketLimit
  /** Per IP and e-mail. */
  perAccount: BucketLimit
  /** Per e-mail, whatever the address. */
  perEmail: BucketLimit
}

export interface TakeResult {
  ok: boolean
  /** When the bucket is full again (after this attempt when taken). */
  fullAt: Date
}

const toDate = (v: Date | string) => new Date(v)

export const loginAttemptsRepository = {
  /**
   * Takes one attempt from the bucket of `key` unless that would exceed `burst`. The condition is
   * the `WHERE` of the upsert, evaluated on the latest row under its lock: two nodes taking the
   * last attempt at once cannot both get it. No row comes back when refused. The attempt costs
   * `everyMs`, or more once the bucket has been emptied when it has a backoff (`strikes`).
   */
  async take(db: Queryable, key: string, limit: BucketLimit, now: Date): Promise<TakeResult> {
    // $5: the most one attempt may cost. The strike count is capped in the exponent only so that
    // a long-running bucket without backoff cannot overflow float8.
    const cost = `LEAST($3::float8 * power(2, LEAST(a.strikes, 40)), $5::float8)`
    const charged = `GREATEST(a.full_at, $2::timestamptz) + ${cost} * interval '1 millisecond'`
    const room = `$2::timestamptz + ($4::float8 - $3::float8) * interval '1 millisecond'`
    const res = await db.query<{ full_at: Date | string }>(
      `INSERT INTO login_attempts AS a (key, full_at, strikes)
       VALUES ($1, $2::timestamptz + $3::float8 * interval '1 millisecond',
               CASE WHEN $3::float8 > $4::float8 - $3::float8 THEN 1 ELSE 0 END)
       ON CONFLICT (key) DO UPDATE
         SET full_at = ${charged},
             strikes = a.strikes + CASE WHEN ${charged} > ${room} THEN 1 ELSE 0 END
         WHERE GREATEST(a.full_at, $2::timestamptz) + $3::float8 * interval '1 millisecond'
               <= $2::timestamptz + $4::float8 * interval '1 millisecond'
       RETURNING full_at`,
      [key, now, limit.everyMs, limit.burst * limit.everyMs, limit.backoffMaxMs ?? limit.everyMs],
    )
    const taken = res.rows[0]
    if (taken) return { ok: true, fullAt: toDate(taken.full_at) }
    const current = await db.query<{ full_at: Date | string }>(
      'SELECT full_at FROM login_attempts WHERE key = $1',
      [key],
    )
    // Deleted by a sweep in between: it was full, so waiting one step is a safe answer.
    const row = current.rows[0]
    return {
      ok: false,
      fullAt: row ? toDate(row.full_at) : new Date(now.getTime() + limit.everyMs),
    }
  },

  /** Gives back one attempt taken earlier (one that turned out to be a success). */
  async giveBack(db: Queryable, key: string, limit: BucketLimit): Promise<void> {
    await db.query(
      `UPDATE login_attempts SET full_at = full_at - $2::float8 * interval '1 millisecond'
       WHERE key = $1`,
      [key, limit.everyMs],
    )
  },

  /** Forgets every attempt of `key` (a bucket that is full again). */
  async clear(db: Queryable, key: string): Promise<void> {
    await db.query('DELETE FROM login_attempts WHERE key = $1', [key])
  },

  /**
   * Deletes up to `max` rows whose bucket is full at `now` (they count nothing). The outer
   * `full_at` test is re-checked on the current row version, so a row another node has just
   * charged is not deleted under it.
   */
  async prune(db: Queryable, now: Date, max = 100): Promise<number> {
    const res = await db.query(
      `DELETE FROM login_attempts WHERE full_at <= $1 AND key IN (
         SELECT key FROM login_attempts WHERE full_at <= $1 LIMIT $2)`,
      [now, max],
    )
    return res.rowCount
  },
}
