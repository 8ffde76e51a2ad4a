/**
 * The models fitted on the public data sets their papers used give the published parameters.
 * - BG/NBD and Pareto/NBD on the CDNOW sample (2,357 customers, calibration to 1997-09-30,
 *   weekly): Fader, Hardie & Lee (2005) "Counting your customers the easy way" report
 *   r = 0.243, α = 4.414, a = 0.793, b = 2.426; Fader & Hardie's Pareto/NBD note reports
 *   r = 0.55, α = 10.58, s = 0.61, β = 11.67.
 * - Gamma-Gamma on the 946 CDNOW customers with repeat purchases: Fader, Hardie & Lee (2005)
 *   "RFM and CLV" and Hardie's Gamma-Gamma note report p = 6.25, q = 3.74, γ = 15.44.
 * - BG/BB on the donations data (Fader, Hardie & Berger 2010): α = 1.204, β = 0.750,
 *   γ = 0.657, δ = 2.783.
 * - sBG on the "regular" and "high end" cohorts of Fader & Hardie (2007) "How to project
 *   customer retention" (survivors over 7 years): γ = 0.704, δ = 1.182 and γ = 0.668, δ = 3.806.
 * The summary is computed by `summarizePurchases` from the raw CDNOW transactions, so the
 * day counting is under test too.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { bgBbLogLikelihood, fitBgBb } from './bg-bb-model.js'
import {
  bgNbdExpectedPurchases,
  bgNbdLogLikelihood,
  bgNbdLogLikelihoodDirect,
  bgNbdProbabilityAlive,
  fitBgNbd,
  groupRfm,
} from './bg-nbd-model.js'
import { summarizePurchases } from './customer-summary.js'
import { cdnowPurchases } from '../../../testing/cdnow-data.js'
import { fitGammaGamma } from './gamma-gamma-model.js'
import { fitParetoNbd } from './pareto-nbd-model.js'
import { fitSbg, sbgSurvival } from './sbg-model.js'

const here = import.meta.dirname
const summary = summarizePurchases(cdnowPurchases(), {
  calibrationEndMs: Date.UTC(1997, 8, 30),
  holdoutEndMs: Date.UTC(1998, 5, 30),
  periodDays: 7,
})
const rfm = {
  x: summary.map((c) => c.x),
  tx: summary.map((c) => c.tx),
  T: summary.map((c) => c.T),
}

describe('CDNOW summary', () => {
  it('matches the published per-customer summary (x, t_x, T, zbar) for all 2,357 customers', () => {
    const rows = readFileSync(
      path.join(here, 'fixtures/cdnow_customers_summary_with_transactions.csv'),
      'utf8',
    )
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map(Number))
    expect(summary).toHaveLength(2357)
    const byId = new Map(summary.map((c) => [Number(c.customerId), c]))
    for (const [id, x, tx, T, zbar] of rows) {
      const c = byId.get(id!)!
      expect(c.x).toBe(x)
      // The file is rounded to two decimals.
      expect(Math.abs(c.tx - tx!)).toBeLessThanOrEqual(0.0051)
      expect(Math.abs(c.T - T!)).toBeLessThanOrEqual(0.0051)
      expect(Math.abs(c.mx - zbar!)).toBeLessThanOrEqual(0.0051)
    }
  })
})

describe('BG/NBD on CDNOW', () => {
  const fit = fitBgNbd(rfm)
  it('gives Fader, Hardie & Lee (2005)', () => {
    expect(fit.converged).toBe(true)
    expect(fit.params.r).toBeCloseTo(0.243, 2)
    expect(fit.params.alpha).toBeCloseTo(4.414, 2)
    expect(fit.params.a).toBeCloseTo(0.793, 2)
    expect(fit.params.b).toBeCloseTo(2.426, 2)
    // The paper's maximised log-likelihood.
    expect(fit.logLikelihood).toBeCloseTo(-9582.4, 0)
  })
  it('has standard errors of the size the literature reports', () => {
    // lifetimes reports se(r) ≈ 0.013, se(α) ≈ 0.378, se(a) ≈ 0.186, se(b) ≈ 0.706 for this fit.
    expect(fit.standardErrors.r).toBeGreaterThan(0.005)
    expect(fit.standardErrors.r).toBeLessThan(0.03)
    expect(fit.standardErrors.alpha).toBeGreaterThan(0.2)
    expect(fit.standardErrors.alpha).toBeLessThan(0.6)
  })
  it('grouping equal customers into weighted rows keeps the likelihood', () => {
    const grouped = groupRfm(rfm)
    expect(grouped.x.length).toBeLessThan(rfm.x.length)
    expect(grouped.weights.reduce((a, w) => a + w, 0)).toBe(rfm.x.length)
    const p = { r: 0.3, alpha: 5, a: 0.9, b: 2 }
    expect(bgNbdLogLikelihood(p, grouped)).toBeCloseTo(bgNbdLogLikelihood(p, rfm), 6)
    expect(fitBgNbd(grouped).params.r).toBeCloseTo(fit.params.r, 4)
  })
  it('tabled likelihood equals the per-customer reference', () => {
    const p = { r: 0.3, alpha: 5, a: 0.9, b: 2 }
    expect(bgNbdLogLikelihood(p, rfm)).toBeCloseTo(bgNbdLogLikelihoodDirect(p, rfm), 6)
  })
  it('predicts the holdout purchases (weeks 40–78) within 15%', () => {
    // Measured: 1,653 predicted against 1,882 actual purchase days; the BG/NBD under-forecasts
    // the heaviest buyers of this sample (FHL 2005, figure 4), which is the gap here.
    let predicted = 0
    let actual = 0
    for (const c of summary) {
      predicted += bgNbdExpectedPurchases(fit.params, c.x, c.tx, c.T, 39)
      actual += c.holdout
    }
    expect(actual).toBeGreaterThan(1500)
    expect(Math.abs(predicted - actual) / actual).toBeLessThan(0.15)
  })
  it('answers P(alive) in (0, 1], 1 for a customer with no repeat purchases', () => {
    expect(bgNbdProbabilityAlive(fit.params, 0, 0, 38.86)).toBe(1)
    const p = bgNbdProbabilityAlive(fit.params, 2, 30.43, 38.86)
    expect(p).toBeGreaterThan(0)
    expect(p).toBeLessThan(1)
    // A long silence after frequent buying lowers it.
    expect(bgNbdProbabilityAlive(fit.params, 5, 5, 38)).toBeLessThan(
      bgNbdProbabilityAlive(fit.params, 5, 37, 38),
    )
  })
  it('a penalizer shrinks the parameters', () => {
    const pen = fitBgNbd(rfm, { penalizer: 0.1 })
    const norm = (q: typeof fit.params): number => q.r ** 2 + q.alpha ** 2 + q.a ** 2 + q.b ** 2
    expect(norm(pen.params)).toBeLessThan(norm(fit.params))
  })
})

describe('Pareto/NBD on CDNOW', () => {
  it('gives Fader & Hardie', () => {
    const fit = fitParetoNbd(rfm, { initial: [0.5, 10, 0.5, 10] })
    expect(fit.params.r).toBeCloseTo(0.55, 2)
    expect(fit.params.alpha).toBeCloseTo(10.58, 1)
    expect(fit.params.s).toBeCloseTo(0.61, 2)
    expect(fit.params.beta).toBeCloseTo(11.67, 1)
    expect(fit.logLikelihood).toBeCloseTo(-9595.0, 0)
  })
})

describe('Gamma-Gamma on CDNOW', () => {
  it('gives Fader, Hardie & Lee (2005)', () => {
    const fit = fitGammaGamma({ x: summary.map((c) => c.x), mx: summary.map((c) => c.mx) })
    expect(fit.params.p).toBeCloseTo(6.25, 2)
    expect(fit.params.q).toBeCloseTo(3.74, 2)
    expect(fit.params.v).toBeCloseTo(15.44, 2)
  })
})

describe('BG/BB on donations', () => {
  const rows = readFileSync(path.join(here, 'fixtures/donations.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number))
  const data = {
    x: rows.map((r) => r[0]!),
    tx: rows.map((r) => r[1]!),
    n: rows.map((r) => r[2]!),
    weights: rows.map((r) => r[3]!),
  }
  it('gives Fader, Hardie & Berger (2010)', () => {
    expect(data.weights.reduce((s, w) => s + w, 0)).toBe(11104)
    const fit = fitBgBb(data)
    expect(fit.params.alpha).toBeCloseTo(1.204, 2)
    expect(fit.params.beta).toBeCloseTo(0.75, 2)
    expect(fit.params.gamma).toBeCloseTo(0.657, 2)
    expect(fit.params.delta).toBeCloseTo(2.783, 2)
    expect(fit.logLikelihood).toBeCloseTo(-33225.6, 0)
    expect(bgBbLogLikelihood(fit.params, data)).toBe(fit.logLikelihood)
  })
})

describe('sBG on Fader & Hardie (2007)', () => {
  it.each([
    ['regular', [1000, 631, 468, 382, 326, 289, 262, 241], 0.704, 1.182],
    ['high end', [1000, 869, 743, 653, 593, 551, 517, 491], 0.668, 3.806],
  ] as const)('%s', (_name, survivors, gamma, delta) => {
    const fit = fitSbg(survivors)
    expect(fit.params.gamma).toBeCloseTo(gamma, 2)
    expect(fit.params.delta).toBeCloseTo(delta, 2)
    // The fitted curve follows the survivors (within 3% at every year).
    for (let t = 1; t < survivors.length; t++) {
      expect(
        Math.abs(sbgSurvival(fit.params, t) * 1000 - survivors[t]!) / survivors[t]!,
      ).toBeLessThan(0.03)
    }
  })
})
