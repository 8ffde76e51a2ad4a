/**
 * @module insight-calendar
 * Calendar arithmetic for insights, in whole local days. An instant becomes a **local day
 * number** (days since 1970-01-01 of the wall-clock date in the time zone: `dn`), and every
 * bucket or period is integer arithmetic on it, so the reference evaluator, Postgres and DuckDB
 * only have to agree on one thing each: which local date an instant falls on (Intl here,
 * `AT TIME ZONE` in Postgres, ICU's `timezone()` in DuckDB, all three reading the IANA tz
 * database).
 *
 * - day: the local date; week: ISO weeks, starting on Monday; month: calendar months.
 * - A period index (`periodIndex`) counts periods since the epoch: day = dn, week =
 *   floor((dn + 3) / 7) (1970-01-01 was a Thursday, so week 0 starts on Monday 1969-12-29),
 *   month = year × 12 + month − 1. Period differences are calendar differences: "one month
 *   later" is the next calendar month, whatever its length and whatever DST did.
 * - Ranges are whole local dates, inclusive at both ends.
 */

export type Interval = 'day' | 'week' | 'month'

const DAY_MS = 86_400_000
const DATE_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/

/** The day number of a `YYYY-MM-DD` calendar date, or undefined when it is not a real date. */
export function parseDay(s: string): number | undefined {
  const m = DATE_RE.exec(s)
  if (!m) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return undefined
  return Date.UTC(y, mo - 1, d) / DAY_MS
}

/** `YYYY-MM-DD` of a day number. */
export function formatDay(dn: number): string {
  return new Date(dn * DAY_MS).toISOString().slice(0, 10)
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** Year and month (1–12) of a day number. */
function yearMonth(dn: number): { year: number; month: number; day: number } {
  const d = new Date(dn * DAY_MS)
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }
}

/** Non-negative remainder. */
function mod(a: number, b: number): number {
  return ((a % b) + b) % b
}

/** The Monday on or before a day. */
export function weekStart(dn: number): number {
  return dn - mod(dn + 3, 7)
}

/** Calendar month index (year × 12 + month − 1) of a day. */
export function monthIndex(dn: number): number {
  const { year, month } = yearMonth(dn)
  return year * 12 + month - 1
}

/** The first day of a month index. */
export function monthStart(mi: number): number {
  return Date.UTC(Math.floor(mi / 12), mod(mi, 12), 1) / DAY_MS
}

/** The period index of a day: day number, week number or month index. */
export function periodIndex(dn: number, interval: Interval): number {
  switch (interval) {
    case 'day':
      return dn
    case 'week':
      return (weekStart(dn) + 3) / 7
    case 'month':
      return monthIndex(dn)
  }
}

/** The first day of a period index. */
export function periodStart(index: number, interval: Interval): number {
  switch (interval) {
    case 'day':
      return index
    case 'week':
      return index * 7 - 3
    case 'month':
      return monthStart(index)
  }
}

/** The last day of a period index. */
export function periodEnd(index: number, interval: Interval): number {
  return periodStart(index + 1, interval) - 1
}

/** A day `months` calendar months away, the day of the month clamped to the month's length. */
export function addMonths(dn: number, months: number): number {
  const { year, month, day } = yearMonth(dn)
  const mi = year * 12 + month - 1 + months
  const y = Math.floor(mi / 12)
  const m = mod(mi, 12) + 1
  return Date.UTC(y, m - 1, Math.min(day, daysInMonth(y, m))) / DAY_MS
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      era: 'short',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** The local day number of an instant (epoch ms) in an IANA time zone. */
export function localDay(ms: number, timeZone: string): number {
  const parts = formatter(timeZone).formatToParts(ms)
  let year = 0
  let month = 0
  let day = 0
  let bc = false
  for (const p of parts) {
    if (p.type === 'year') year = Number(p.value)
    else if (p.type === 'month') month = Number(p.value)
    else if (p.type === 'day') day = Number(p.value)
    else if (p.type === 'era') bc = p.value === 'BC' || p.value === 'B'
  }
  const d = new Date(0)
  d.setUTCFullYear(bc ? 1 - year : year, month - 1, day)
  return Math.round(d.getTime() / DAY_MS)
}

/** Zone names: one rule for the whole API (src/protocol/time-zone.ts). */
export { isTimeZone } from '../../../protocol/time-zone.js'

/**
 * Bounds in epoch ms that surely contain every instant whose local date lies in [fromDn, toDn]
 * in any zone: two days of margin on each side (offsets in the tz database stay within ±16 h,
 * local mean time included). Used as an index-friendly prefilter; the exact test is on `dn`.
 */
export function coarseBounds(fromDn: number, toDn: number): { lo: number; hi: number } {
  return { lo: (fromDn - 2) * DAY_MS, hi: (toDn + 3) * DAY_MS }
}
