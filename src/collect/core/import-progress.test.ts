import { describe, expect, it } from 'vitest'
import { formatProgressLine, progressFigures } from './import-progress.js'

const base = { rowsAccepted: 0, rowsRejected: 0, resumedFrom: 0 }

describe('import progress', () => {
  it('computes rows/s and an ETA from the bytes still to read', () => {
    const f = progressFigures({ ...base, rowsRead: 5000, bytesRead: 250, fileSize: 1000 }, 2000)
    expect(f.fraction).toBe(0.25)
    expect(f.rowsPerSec).toBe(2500)
    expect(f.etaSec).toBe(6)
  })

  it('counts only rows of this run after a resume', () => {
    const f = progressFigures(
      { ...base, resumedFrom: 4000, rowsRead: 5000, bytesRead: 500, fileSize: 1000 },
      1000,
    )
    expect(f.rowsPerSec).toBe(1000)
  })

  it('has no ETA without a file size or before any byte', () => {
    expect(progressFigures({ ...base, rowsRead: 0, bytesRead: 0, fileSize: 10 }, 0).etaSec).toBe(
      undefined,
    )
    expect(progressFigures({ ...base, rowsRead: 9, bytesRead: 9, fileSize: null }, 10).etaSec).toBe(
      undefined,
    )
  })

  it('renders a bar, percent, rows/s, ETA and rejects', () => {
    const line = formatProgressLine(
      { ...base, rowsRead: 120_000, rowsRejected: 3, bytesRead: 500, fileSize: 1000 },
      60_000,
      10,
    )
    expect(line).toBe('[#####.....]  50%  120,000 rows  2,000 rows/s  ETA 1:00  3 rejected')
  })
})
