/** The CLI's progress line for an import: pure, so that its arithmetic is tested. */

export interface ImportProgress {
  rowsRead: number
  rowsAccepted: number
  rowsRejected: number
  bytesRead: number
  fileSize: number | null
  /** Rows skipped because an earlier run already did them. */
  resumedFrom: number
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const pad = (n: number) => String(n).padStart(2, '0')
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`
}

export interface ProgressFigures {
  fraction: number
  rowsPerSec: number
  /** Seconds left, from the bytes still to read at the current byte rate; undefined at start. */
  etaSec: number | undefined
}

/** Rates count only this run's work (a resumed run skipped rows fast). */
export function progressFigures(
  p: ImportProgress,
  elapsedMs: number,
  startBytes = 0,
): ProgressFigures {
  const secs = Math.max(elapsedMs, 1) / 1000
  const fraction = p.fileSize ? Math.min(1, p.bytesRead / p.fileSize) : 0
  const rowsThisRun = Math.max(0, p.rowsRead - (p.resumedFrom > 0 ? p.resumedFrom : 0))
  const byteRate = (p.bytesRead - startBytes) / secs
  const etaSec =
    p.fileSize && byteRate > 0 ? Math.max(0, (p.fileSize - p.bytesRead) / byteRate) : undefined
  return { fraction, rowsPerSec: rowsThisRun / secs, etaSec }
}

export function formatProgressLine(p: ImportProgress, elapsedMs: number, width = 24): string {
  const f = progressFigures(p, elapsedMs)
  const filled = Math.round(f.fraction * width)
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`
  const n = (x: number) => Math.round(x).toLocaleString('en-US')
  return (
    `[${bar}] ${String(Math.floor(f.fraction * 100)).padStart(3)}%  ${n(p.rowsRead)} rows  ` +
    `${n(f.rowsPerSec)} rows/s  ETA ${f.etaSec === undefined ? '--:--' : clock(f.etaSec)}` +
    (p.rowsRejected > 0 ? `  ${n(p.rowsRejected)} rejected` : '')
  )
}
