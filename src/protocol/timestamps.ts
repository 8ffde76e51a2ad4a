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

const DATE_PREFIX = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})/

/**
 * False for a calendar date that does not exist (2020-02-30, 2021-04-31). V8 rolls such dates
 * over into the next month, so they would be stored as another day without a word.
 */
function isRealDate(value: string): boolean {
  const m = DATE_PREFIX.exec(value)
  if (!m) return true // other forms Date.parse accepts are checked by it alone
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  if (month < 1 || month > 12 || day < 1) return false
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31
  return day <= days
}

/** A parseable date-time that names a real calendar day and whose instant the store can hold. */
export function isStorableTimestamp(value: string): boolean {
  return value.length <= 64 && inStoreRange(Date.parse(value)) && isRealDate(value)
}
