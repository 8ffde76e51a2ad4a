/**
 * The CDNOW sample (src/understand/engine/insights/fixtures/cdnow, see its README) as purchases:
 * one per transaction, at midnight UTC of its date, worth its `dollar_value`. Customers are
 * named by the sample's index column (1…2,357), as the published per-customer summaries are.
 * Shared by the customer-value model tests, the predictions end-to-end test and the benchmark.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'

export interface CdnowPurchase {
  customerId: string
  timeMs: number
  value: number
}

export const CDNOW_SAMPLE_FILE = path.resolve(
  import.meta.dirname,
  '../understand/engine/insights/fixtures/cdnow/CDNOW_sample.txt',
)

export function cdnowPurchases(): CdnowPurchase[] {
  return readFileSync(CDNOW_SAMPLE_FILE, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .map((l) => {
      const [, index, date, , dollars] = l.trim().split(/\s+/)
      const d = date ?? ''
      return {
        customerId: String(Number(index)),
        timeMs: Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8))),
        value: Number(dollars),
      }
    })
}
