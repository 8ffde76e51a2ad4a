/**
 * Reference values are the published ones: Abramowitz and Stegun tables 26.1 (Φ), 26.10 (t
 * quantiles) and 26.8 (χ² critical values), carried to more digits as R 4.x's pnorm/qt/pchisq
 * print them; I_½(2, 3) = 11/16 by the binomial expansion; ln Γ(½) = ln √π, ln Γ(10) = ln 9!.
 */
import { describe, expect, it } from 'vitest'
import {
  betaQuantile,
  chiSquareSurvival,
  incompleteBeta,
  logGamma,
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
} from './distribution-functions.js'

describe('distribution functions', () => {
  it('log-gamma matches closed forms', () => {
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12)
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 11)
    expect(logGamma(1)).toBeCloseTo(0, 12)
  })

  it('normal CDF and quantile match the tables, far into the tails', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 14)
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 15)
    expect(normalCdf(-10) / 7.619853024160527e-24).toBeCloseTo(1, 9)
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12)
    expect(normalQuantile(0.05)).toBeCloseTo(-1.644853626951472, 12)
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12)
  })

  it('Student t CDF and quantile match the tables', () => {
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228138851986522, 10)
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.70620473617471, 9)
    expect(studentTQuantile(0.995, 30)).toBeCloseTo(2.749995653567, 10)
    expect(studentTCdf(2, 5)).toBeCloseTo(0.9490302605850709, 12)
    expect(studentTCdf(-2, 5)).toBeCloseTo(1 - 0.9490302605850709, 12)
    // ν → ∞ is the normal.
    expect(studentTQuantile(0.975, 1e9)).toBeCloseTo(1.959963984540054, 6)
  })

  it('χ² survival at the tabled critical values', () => {
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 12)
    expect(chiSquareSurvival(10.827566170662733, 1)).toBeCloseTo(0.001, 13)
    expect(chiSquareSurvival(11.070497693516351, 5)).toBeCloseTo(0.05, 12)
    expect(chiSquareSurvival(13.815510557964274, 2)).toBeCloseTo(0.001, 13)
  })

  it('incomplete beta and its inverse', () => {
    expect(incompleteBeta(0.5, 2, 3)).toBeCloseTo(11 / 16, 13)
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 13)
    for (const [p, a, b] of [
      [0.025, 101, 901],
      [0.5, 2, 5],
      [0.999, 0.5, 0.5],
    ] as const) {
      expect(incompleteBeta(betaQuantile(p, a, b), a, b)).toBeCloseTo(p, 10)
    }
  })
})
