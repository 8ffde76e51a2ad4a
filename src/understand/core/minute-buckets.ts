/**
 * Zero-filled per-minute series for the dashboard. SQL `GROUP BY date_trunc('minute', …)` only
 * returns minutes that had events, and a line chart joins those points straight across the gaps,
 * so a quiet hour with two bursts looked like a flat line. Every minute of the window gets a
 * point for every series here, zero when nothing arrived. Pure: the window is handed in.
 * @module
 */

const MINUTE = 60_000

export interface MinuteCount {
  /** Start of the minute, ISO 8601. */
  at: string
  sourceId: string
  count: number
}

/**
 * One point per minute from the minute holding `from` up to and including the one holding `to`,
 * for each source seen in `rows` (sources with no row in the window get no series). Rows outside
 * the window are dropped; rows in the same minute and source are added up.
 */
export function zeroFillMinutes(rows: readonly MinuteCount[], from: Date, to: Date): MinuteCount[] {
  const start = Math.floor(from.getTime() / MINUTE) * MINUTE
  const end = Math.floor(to.getTime() / MINUTE) * MINUTE
  const bySource = new Map<string, Map<number, number>>()
  for (const row of rows) {
    const minute = Math.floor(Date.parse(row.at) / MINUTE) * MINUTE
    if (!(minute >= start && minute <= end)) continue
    const counts = bySource.get(row.sourceId) ?? new Map<number, number>()
    counts.set(minute, (counts.get(minute) ?? 0) + row.count)
    bySource.set(row.sourceId, counts)
  }
  const out: MinuteCount[] = []
  for (let minute = start; minute <= end; minute += MINUTE) {
    const at = new Date(minute).toISOString()
    for (const [sourceId, counts] of bySource) {
      out.push({ at, sourceId, count: counts.get(minute) ?? 0 })
    }
  }
  return out
}
