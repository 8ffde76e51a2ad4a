/**
 * @module protocol/time-zone
 * The time-zone names Kindred accepts wherever a zone is set (a workspace's settings, an
 * insight's `timeZone`): IANA names that JavaScript's Intl, Postgres and DuckDB read alike.
 */

const ZONE_RE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/

/**
 * Is this an IANA zone name all three evaluators read the same way? Names only (`Europe/Berlin`,
 * `UTC`, `America/Argentina/Salta`): offsets such as `+01:00` are refused, because Postgres
 * reads a bare offset as a POSIX zone, with the sign the other way round.
 */
export function isTimeZone(zone: string): boolean {
  if (zone.length > 64 || !ZONE_RE.test(zone)) return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}
