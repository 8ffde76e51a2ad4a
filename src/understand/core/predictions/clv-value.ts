/**
 * @module predictions/clv-value
 * Customer value over a horizon: BG/NBD expected purchases × Gamma-Gamma expected spend,
 * discounted period by period. The purchases expected in period i are
 * E[Y(i)] − E[Y(i−1)], each worth the customer's expected spend and discounted by (1+d)^−i,
 * where d is the per-period rate equivalent to the annual `discountRate`
 * ((1+annual)^(periodDays/365.25) − 1). This is the discrete, period-by-period form (the one
 * `lifetimes` uses for its `customer_lifetime_value`), not the continuous discounted expected
 * residual transactions of Fader, Hardie & Lee (2005), "RFM and CLV".
 */
import { bgNbdExpectedPurchases, bgNbdProbabilityAlive, type BgNbdParams } from './bg-nbd-model.js'
import { gammaGammaExpectedSpend, type GammaGammaParams } from './gamma-gamma-model.js'

export interface ClvSettings {
  horizonPeriods: number
  /** Annual discount rate (0.1 = 10% a year). */
  discountRate: number
  periodDays: number
}

export interface CustomerScore {
  expectedPurchases: number
  pAlive: number
  expectedSpend: number
  value: number
}

export function perPeriodDiscount(annual: number, periodDays: number): number {
  return Math.pow(1 + annual, periodDays / 365.25) - 1
}

export function scoreCustomer(
  bg: BgNbdParams,
  gg: GammaGammaParams,
  c: { x: number; tx: number; T: number; mx: number },
  s: ClvSettings,
): CustomerScore {
  const d = perPeriodDiscount(s.discountRate, s.periodDays)
  const spend = gammaGammaExpectedSpend(gg, c.x, c.mx)
  let previous = 0
  let value = 0
  for (let i = 1; i <= s.horizonPeriods; i++) {
    const cumulative = bgNbdExpectedPurchases(bg, c.x, c.tx, c.T, i)
    value += ((cumulative - previous) * spend) / Math.pow(1 + d, i)
    previous = cumulative
  }
  return {
    expectedPurchases: previous,
    pAlive: bgNbdProbabilityAlive(bg, c.x, c.tx, c.T),
    expectedSpend: spend,
    value,
  }
}
