import { describe, expect, it } from 'vitest'
import { nextCronTime, nextRunAt, parseCron } from './sync-schedule.js'

const next = (cron: string, after: string) =>
  nextCronTime(parseCron(cron), new Date(after))?.toISOString()

describe('sync schedules', () => {
  it('finds the next minute of common cron expressions (UTC)', () => {
    expect(next('*/15 * * * *', '2026-12-04T10:07:30Z')).toBe('2026-12-04T10:15:00.000Z')
    expect(next('* * * * *', '2026-12-04T10:07:00Z')).toBe('2026-12-04T10:08:00.000Z')
    // 2026-12-04 is a Friday: the next Monday 09:00 is the 7th.
    expect(next('0 9 * * 1', '2026-12-04T10:00:00Z')).toBe('2026-12-07T09:00:00.000Z')
    expect(next('0 0 1 1 *', '2026-12-04T10:00:00Z')).toBe('2027-01-01T00:00:00.000Z')
    expect(next('30 2 * * 0', '2026-12-04T00:00:00Z')).toBe('2026-12-06T02:30:00.000Z')
    expect(next('30 2 * * 7', '2026-12-04T00:00:00Z')).toBe('2026-12-06T02:30:00.000Z')
    expect(next('0 12 29 2 *', '2026-12-04T00:00:00Z')).toBe('2028-02-29T12:00:00.000Z')
  })

  it('matches either day field when both are restricted (Vixie cron)', () => {
    // The 13th, or any Friday: from Thursday the 10th, Friday the 11th comes first.
    expect(next('0 0 13 * 5', '2026-12-10T00:00:00Z')).toBe('2026-12-11T00:00:00.000Z')
    expect(next('0 0 13 * 5', '2026-12-11T00:00:00Z')).toBe('2026-12-13T00:00:00.000Z')
  })

  it('refuses what it cannot read, naming the field', () => {
    expect(() => parseCron('61 * * * *')).toThrow(/minute/)
    expect(() => parseCron('* * * *')).toThrow(/5 fields/)
    expect(() => parseCron('* 24 * * *')).toThrow(/hour/)
    expect(() => parseCron('* * * 1-x *')).toThrow(/month/)
    expect(next('0 0 31 2 *', '2026-12-04T00:00:00Z')).toBeUndefined()
  })

  it('runs intervals N minutes after the last time, and nothing without a schedule', () => {
    expect(nextRunAt({ everyMinutes: 1 }, new Date('2026-12-04T10:00:00Z'))).toBe(
      '2026-12-04T10:01:00.000Z',
    )
    expect(nextRunAt(null, new Date('2026-12-04T10:00:00Z'))).toBeNull()
    expect(nextRunAt({ cron: '0 * * * *' }, new Date('2026-12-04T10:00:00Z'))).toBe(
      '2026-12-04T11:00:00.000Z',
    )
  })
})
