/**
 * Timestamps every store can hold. JavaScript dates reach year 275760 but Postgres `timestamptz`
 * parses years 1–9999 in ISO form: an accepted event outside that range would fail in the
 * processor on every retry, so the protocol refuses it up front.
 */
const MIN_MS = -62_135_596_800_000 // 0001-01-01T00:00:00.000Z
const MAX_MS = 253_402_300_799_999 // 9999-12-31T23:59:59.999Z

export function inStoreRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= MIN_MS && ms <= MAX_MS
}

/** A parseable date-time whose instant the store can hold. */
export function isStorableTimestamp(value: string): boolean {
  return value.length <= 64 && inStoreRange(Date.parse(value))
}
