import { describe, expect, it } from 'vitest'
import { zeroFillMinutes } from './minute-buckets.js'

const from = new Date('2026-03-01T10:00:30.000Z')
const to = new Date('2026-03-01T10:04:10.000Z')

describe('zeroFillMinutes', () => {
  it('gives every minute of the window a point per source, zero where nothing arrived', () => {
    const filled = zeroFillMinutes(
      [
        { at: '2026-03-01T10:01:00.000Z', sourceId: 'web', count: 5 },
        { at: '2026-03-01T10:03:00.000Z', sourceId: 'web', count: 2 },
        { at: '2026-03-01T10:03:00.000Z', sourceId: 'crm', count: 7 },
      ],
      from,
      to,
    )
    const series = (sourceId: string) =>
      filled.filter((p) => p.sourceId === sourceId).map((p) => [p.at.slice(11, 16), p.count])
    expect(series('web')).toEqual([
      ['10:00', 0],
      ['10:01', 5],
      ['10:02', 0],
      ['10:03', 2],
      ['10:04', 0],
    ])
    expect(series('crm')).toEqual([
      ['10:00', 0],
      ['10:01', 0],
      ['10:02', 0],
      ['10:03', 7],
      ['10:04', 0],
    ])
    expect(filled).toHaveLength(10)
  })

  it('adds up rows of the same minute and drops rows outside the window', () => {
    const filled = zeroFillMinutes(
      [
        { at: '2026-03-01T10:02:00.000Z', sourceId: 'web', count: 1 },
        { at: '2026-03-01T10:02:59.000Z', sourceId: 'web', count: 2 },
        { at: '2026-03-01T09:59:00.000Z', sourceId: 'web', count: 100 },
        { at: '2026-03-01T10:05:00.000Z', sourceId: 'web', count: 100 },
      ],
      from,
      to,
    )
    expect(filled.map((p) => p.count)).toEqual([0, 0, 3, 0, 0])
    expect(filled.reduce((s, p) => s + p.count, 0)).toBe(3)
  })

  it('returns no series when nothing arrived', () => {
    expect(zeroFillMinutes([], from, to)).toEqual([])
  })
})
