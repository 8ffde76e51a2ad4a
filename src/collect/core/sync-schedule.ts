/**
 * When a scheduled model runs next: every N minutes, or a five-field cron expression (minute,
 * hour, day of month, month, day of week; `*`, lists, ranges and `/steps`; Sunday is 0 or 7), in
 * UTC. As in Vixie cron, when both day fields are restricted a day matching either one matches.
 * Pure: the time is handed in.
 * @module
 */
import type { Schedule } from './sync-model.js'

export interface CronSpec {
  minutes: Set<number>
  hours: Set<number>
  days: Set<number>
  months: Set<number>
  weekdays: Set<number>
  daysRestricted: boolean
  weekdaysRestricted: boolean
}

const bounds: Array<[number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
]
const fieldNames = ['minute', 'hour', 'day of month', 'month', 'day of week']

function parseField(text: string, index: number): Set<number> {
  const [lo, hi] = bounds[index] as [number, number]
  const out = new Set<number>()
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part)
    if (!m) throw new Error(`cron ${fieldNames[index]}: cannot read "${part}"`)
    const from = m[1] === '*' ? lo : Number(m[2])
    const to =
      m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? hi : from
    const step = m[4] !== undefined ? Number(m[4]) : 1
    if (from < lo || to > hi || from > to || step < 1)
      throw new Error(`cron ${fieldNames[index]}: "${part}" is outside ${lo}-${hi}`)
    for (let v = from; v <= to; v += step) out.add(index === 4 && v === 7 ? 0 : v)
  }
  return out
}

/** Parses `m h dom mon dow`; throws an Error naming the field it cannot read. */
export function parseCron(expression: string): CronSpec {
  const fields = expression.trim().split(/\s+/)
  if (fields.length !== 5)
    throw new Error(`cron: expected 5 fields (minute hour day month weekday), got ${fields.length}`)
  const sets = fields.map((f, i) => parseField(f, i))
  return {
    minutes: sets[0] as Set<number>,
    hours: sets[1] as Set<number>,
    days: sets[2] as Set<number>,
    months: sets[3] as Set<number>,
    weekdays: sets[4] as Set<number>,
    daysRestricted: fields[2] !== '*',
    weekdaysRestricted: fields[4] !== '*',
  }
}

function dayMatches(spec: CronSpec, d: Date): boolean {
  const dom = spec.days.has(d.getUTCDate())
  const dow = spec.weekdays.has(d.getUTCDay())
  if (spec.daysRestricted && spec.weekdaysRestricted) return dom || dow
  return dom && dow
}

/** The first minute strictly after `after` that the cron matches (within 5 years, else null). */
export function nextCronTime(spec: CronSpec, after: Date): Date | null {
  const t = new Date(after.getTime())
  t.setUTCSeconds(0, 0)
  t.setUTCMinutes(t.getUTCMinutes() + 1)
  const limit = after.getTime() + 5 * 366 * 24 * 3600 * 1000
  while (t.getTime() <= limit) {
    if (!spec.months.has(t.getUTCMonth() + 1) || !dayMatches(spec, t)) {
      t.setUTCHours(0, 0, 0, 0)
      t.setUTCDate(t.getUTCDate() + 1)
      continue
    }
    if (!spec.hours.has(t.getUTCHours())) {
      t.setUTCMinutes(0)
      t.setUTCHours(t.getUTCHours() + 1)
      continue
    }
    if (!spec.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1)
      continue
    }
    return t
  }
  return null
}

/** The next run of a schedule after `after` (ISO), or null for none. */
export function nextRunAt(schedule: Schedule | null, after: Date): string | null {
  if (schedule === null) return null
  if ('everyMinutes' in schedule)
    return new Date(after.getTime() + schedule.everyMinutes * 60_000).toISOString()
  return nextCronTime(parseCron(schedule.cron), after)?.toISOString() ?? null
}
