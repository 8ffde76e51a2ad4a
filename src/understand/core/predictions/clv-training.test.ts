/**
 * The whole training on the CDNOW sample: the report carries the published BG/NBD and
 * Gamma-Gamma parameters, a holdout check, and one score per customer; too little data gives
 * reasons in words instead of a model.
 */
import { describe, expect, it } from 'vitest'
import { clvSettingsSchema, trainClv } from './clv-training.js'
import { cdnowPurchases } from '../../../testing/cdnow-data.js'
import { predictionOfTraitId, predictionTraitId } from './prediction-traits.js'
import { perPeriodDiscount, scoreCustomer } from './clv-value.js'

const settings = clvSettingsSchema.parse({
  calibrationEnd: '1997-09-30',
  horizonPeriods: 52,
  discountRate: 0.1,
})

describe('trainClv', () => {
  const purchases = cdnowPurchases()
  const out = trainClv(purchases, settings)
  it('reports the published parameters, the window and the holdout on CDNOW', () => {
    if (!out.ok) throw new Error(out.reasons.join('; '))
    const r = out.report
    expect(r.parameters.r).toBeCloseTo(0.243, 2)
    expect(r.parameters.alpha).toBeCloseTo(4.414, 2)
    expect(r.parameters.a).toBeCloseTo(0.793, 2)
    expect(r.parameters.b).toBeCloseTo(2.426, 2)
    expect(r.spend.parameters.p).toBeCloseTo(6.25, 2)
    expect(r.spend.parameters.q).toBeCloseTo(3.74, 2)
    expect(r.spend.parameters.v).toBeCloseTo(15.44, 2)
    expect(r.spend.customers).toBe(946)
    expect(r.window).toEqual({
      firstPurchase: '1997-01-01',
      calibrationEnd: '1997-09-30',
      dataEnd: '1998-06-30',
      holdout: { start: '1997-10-01', end: '1998-06-30', periods: 39 },
      periodDays: 7,
    })
    expect(r.rows.customers).toBe(2357)
    expect(r.rows.repeatCustomers).toBe(946)
    expect(r.holdout?.actual).toBe(r.rows.holdoutPurchaseDays)
    expect(r.holdout?.byFrequency[0]?.x).toBe('0')
    const sum = r.holdout!.byFrequency.reduce((s, g) => s + g.customers, 0)
    expect(sum).toBe(2357)
    expect(out.scores).toHaveLength(2357)
  })
  it('scores are sane: P(alive) in (0, 1], value ≥ 0 and growing with the horizon', () => {
    if (!out.ok) throw new Error('no model')
    for (const s of out.scores) {
      expect(s.pAlive).toBeGreaterThan(0)
      expect(s.pAlive).toBeLessThanOrEqual(1)
      expect(s.value).toBeGreaterThanOrEqual(0)
      expect(s.expectedPurchases).toBeGreaterThanOrEqual(0)
    }
    const longer = trainClv(purchases, { ...settings, horizonPeriods: 104 })
    if (!longer.ok) throw new Error('no model')
    expect(longer.report.scores.meanValue).toBeGreaterThan(out.report.scores.meanValue)
    const discounted = trainClv(purchases, { ...settings, discountRate: 0.5 })
    if (!discounted.ok) throw new Error('no model')
    expect(discounted.report.scores.meanValue).toBeLessThan(out.report.scores.meanValue)
  })
  it('explains in words when the data are not enough', () => {
    const few = purchases.filter((p) => Number(p.customerId) <= 40)
    const res = trainClv(few, settings)
    expect(res.ok).toBe(false)
    if (res.ok) return
    expect(res.reasons[0]).toMatch(
      /^need ≥ 50 customers with a repeat purchase .* on or before 1997-09-30; found \d+$/,
    )
    const none = trainClv([], settings)
    expect(none.ok).toBe(false)
    if (!none.ok) expect(none.reasons[0]).toContain('no "Order Completed" events')
  })
  it('refuses unknown settings and names the reserved trait ids', () => {
    expect(
      clvSettingsSchema.safeParse({ horizonPeriods: 1, discountRate: 0, extra: 1 }).success,
    ).toBe(false)
    expect(
      clvSettingsSchema.safeParse({
        horizonPeriods: 1,
        discountRate: 0,
        calibrationEnd: '1997-13-45',
      }).success,
    ).toBe(false)
    expect(predictionTraitId('vip', 'p_alive')).toBe('predicted.vip.p_alive')
    expect(predictionOfTraitId('predicted.vip.p_alive')).toBe('vip')
    expect(predictionOfTraitId('predicted.vip.other')).toBeUndefined()
    expect(predictionOfTraitId('ct_123')).toBeUndefined()
  })
  it('discounts period by period: without discounting the value is purchases × spend', () => {
    const bg = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }
    const gg = { p: 6.25, q: 3.74, v: 15.44 }
    const c = { x: 2, tx: 30.43, T: 38.86, mx: 22.35 }
    const flat = scoreCustomer(bg, gg, c, { horizonPeriods: 52, discountRate: 0, periodDays: 7 })
    expect(flat.value).toBeCloseTo(flat.expectedPurchases * flat.expectedSpend, 9)
    // Hardie's note, eq. 5: (p(v + x·mx)) / (px + q − 1)
    expect(flat.expectedSpend).toBeCloseTo((6.25 * (15.44 + 2 * 22.35)) / (6.25 * 2 + 3.74 - 1), 9)
    const disc = scoreCustomer(bg, gg, c, { horizonPeriods: 52, discountRate: 0.1, periodDays: 7 })
    expect(disc.value).toBeLessThan(flat.value)
    expect(disc.value).toBeGreaterThan(flat.value / 1.1)
    expect(perPeriodDiscount(0.1, 365.25)).toBeCloseTo(0.1, 12)
    expect((1 + perPeriodDiscount(0.1, 7)) ** (365.25 / 7)).toBeCloseTo(1.1, 12)
  })
})
