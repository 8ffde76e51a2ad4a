/**
 * @module predictions/customer-summary
 * From purchases to the recency–frequency–monetary summary the BTYD models read, by the BTYD
 * convention: purchases are counted per distinct purchase day (UTC), the first day is the
 * customer's "birth" and not a repeat, `x` = repeat purchase days, `tx` = last − first day and
 * `T` = calibration end − first day, both in periods of `periodDays`. `mx` is the average value
 * of the repeat days (a day's value is the sum of its purchases), which is what Gamma-Gamma is
 * fitted on. Purchases after the calibration end and up to the holdout end are counted (again
 * per distinct day) as `holdout`, the actual purchases a holdout check compares with.
 *
 * This reproduces `cdnow_customers_summary_with_transactions.csv` (the `lifetimes` package's
 * summary of the CDNOW sample) for every customer: see customer-summary.test.ts.
 */

export interface Purchase {
  customerId: string
  /** Epoch milliseconds. */
  timeMs: number
  value: number
}

export interface CustomerSummary {
  customerId: string
  x: number
  tx: number
  T: number
  mx: number
  holdout: number
  firstDay: number
}

const DAY_MS = 86_400_000

export interface SummaryWindow {
  /** Last day of calibration (epoch ms of any instant in that UTC day; the day is included). */
  calibrationEndMs: number
  /** Last day of the holdout period (included); no holdout when absent or not after the end. */
  holdoutEndMs?: number
  periodDays: number
}

/** One summary per customer with a purchase on or before the calibration end. */
export function summarizePurchases(
  purchases: Iterable<Purchase>,
  w: SummaryWindow,
): CustomerSummary[] {
  const endDay = Math.floor(w.calibrationEndMs / DAY_MS)
  const holdoutEnd = w.holdoutEndMs === undefined ? endDay : Math.floor(w.holdoutEndMs / DAY_MS)
  const byCustomer = new Map<string, Map<number, number>>()
  for (const p of purchases) {
    const day = Math.floor(p.timeMs / DAY_MS)
    if (day > holdoutEnd) continue
    let days = byCustomer.get(p.customerId)
    if (!days) byCustomer.set(p.customerId, (days = new Map()))
    days.set(day, (days.get(day) ?? 0) + (Number.isFinite(p.value) ? p.value : 0))
  }
  const out: CustomerSummary[] = []
  for (const [customerId, days] of byCustomer) {
    const calib = [...days.keys()].filter((d) => d <= endDay).sort((a, b) => a - b)
    if (calib.length === 0) continue
    const first = calib[0]!
    const last = calib[calib.length - 1]!
    let repeatValue = 0
    for (const d of calib.slice(1)) repeatValue += days.get(d)!
    const x = calib.length - 1
    out.push({
      customerId,
      x,
      tx: (last - first) / w.periodDays,
      T: (endDay - first) / w.periodDays,
      mx: x > 0 ? repeatValue / x : 0,
      holdout: days.size - calib.length,
      firstDay: first,
    })
  }
  return out
}
