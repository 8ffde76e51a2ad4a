/**
 * @module predictions/clv-training
 * A customer-value prediction from start to end, without I/O: purchases in, a model report and
 * one score per customer out (or the reasons no model was trained).
 *
 * - The calibration period runs from the first purchase to `calibrationEnd` (default: the last
 *   purchase day, so no holdout). BG/NBD and Gamma-Gamma are fitted on it.
 * - When purchases follow `calibrationEnd`, they are the holdout: the report compares the
 *   purchases the fitted model expected in it with those that happened, overall and by
 *   calibration frequency (the check of Fader, Hardie & Lee 2005, figure 4).
 * - Scores use every purchase up to the last one (the whole history) with the fitted
 *   parameters: the traits describe customers as of the latest data, not as of the cutoff.
 * - Data sufficiency is checked first, and explained in words when not met.
 */
import { z } from 'zod'
import { bgNbdExpectedPurchases, fitBgNbd, groupRfm, type BgNbdFit } from './bg-nbd-model.js'
import { scoreCustomer } from './clv-value.js'
import { summarizePurchases, type CustomerSummary, type Purchase } from './customer-summary.js'
import { fitGammaGamma, type GammaGammaFit } from './gamma-gamma-model.js'

const DAY_MS = 86_400_000

export const clvSettingsSchema = z
  .object({
    purchaseEvent: z.string().min(1).max(200).default('Order Completed'),
    revenueProperty: z.string().min(1).max(200).default('revenue'),
    /** Last day of the calibration period (YYYY-MM-DD, UTC, included). */
    calibrationEnd: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date, YYYY-MM-DD')
      .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), 'a valid date')
      .optional(),
    periodDays: z.number().int().min(1).max(365).default(7),
    /** How many periods ahead the expected purchases and the value look. */
    horizonPeriods: z.number().int().min(1).max(520),
    /** Annual discount rate of future value (0.1 = 10% a year). */
    discountRate: z.number().min(0).max(1),
    /** L2 penalty on the parameters (0 = maximum likelihood, as the published fits). */
    penalizer: z.number().min(0).max(10).default(0),
  })
  .strict()
export type ClvSettings = z.infer<typeof clvSettingsSchema>

export interface ClvLimits {
  /** Fewest customers with a repeat purchase in the calibration period (default 50). */
  minRepeatCustomers?: number
  /** Asked during fitting; true stops it (the job's time limit). */
  shouldStop?: () => boolean
}

export interface ClvScore {
  customerId: string
  expectedPurchases: number
  pAlive: number
  value: number
}

interface ParamReport<P> {
  parameters: P
  standardErrors: P
  logLikelihood: number
  converged: boolean
  iterations: number
}

export interface ClvReport {
  kind: 'clv'
  window: {
    firstPurchase: string
    calibrationEnd: string
    dataEnd: string
    holdout: { start: string; end: string; periods: number } | null
    periodDays: number
  }
  rows: {
    purchases: number
    customers: number
    repeatCustomers: number
    calibrationPurchaseDays: number
    holdoutPurchaseDays: number
    scored: number
  }
  /** BG/NBD (purchases and P(alive)). */
  parameters: BgNbdFit['params']
  standardErrors: BgNbdFit['standardErrors']
  logLikelihood: number
  converged: boolean
  /** Gamma-Gamma (spend per purchase day). */
  spend: ParamReport<GammaGammaFit['params']> & { customers: number }
  holdout: {
    predicted: number
    actual: number
    byFrequency: Array<{ x: string; customers: number; predicted: number; actual: number }>
  } | null
  scores: { meanValue: number; meanExpectedPurchases: number; meanPAlive: number }
  warnings: string[]
}

export type ClvTraining =
  | { ok: true; report: ClvReport; scores: ClvScore[] }
  | {
      ok: false
      reasons: string[]
      rows: { purchases: number; customers: number; repeatCustomers: number }
    }

const day = (d: number): string => new Date(d * DAY_MS).toISOString().slice(0, 10)

export function trainClv(
  purchases: readonly Purchase[],
  settings: ClvSettings,
  limits: ClvLimits = {},
): ClvTraining {
  const minRepeat = limits.minRepeatCustomers ?? 50
  const event = settings.purchaseEvent
  if (purchases.length === 0) {
    return {
      ok: false,
      reasons: [`no "${event}" events were found: a customer-value model needs purchases`],
      rows: { purchases: 0, customers: 0, repeatCustomers: 0 },
    }
  }
  let lastMs = -Infinity
  let firstMs = Infinity
  for (const p of purchases) {
    lastMs = Math.max(lastMs, p.timeMs)
    firstMs = Math.min(firstMs, p.timeMs)
  }
  const lastDay = Math.floor(lastMs / DAY_MS)
  const calibEndDay =
    settings.calibrationEnd === undefined
      ? lastDay
      : Math.floor(Date.parse(`${settings.calibrationEnd}T00:00:00Z`) / DAY_MS)
  const calib = summarizePurchases(purchases, {
    calibrationEndMs: calibEndDay * DAY_MS,
    holdoutEndMs: lastDay * DAY_MS,
    periodDays: settings.periodDays,
  })
  const repeat = calib.filter((c) => c.x > 0)
  const withSpend = repeat.filter((c) => c.mx > 0)
  const rows = {
    purchases: purchases.length,
    customers: calib.length,
    repeatCustomers: repeat.length,
  }
  const reasons: string[] = []
  const until = `on or before ${day(calibEndDay)}`
  if (calib.length === 0) reasons.push(`no customer made a purchase ${until} (the calibration end)`)
  if (repeat.length < minRepeat)
    reasons.push(
      `need ≥ ${minRepeat} customers with a repeat purchase ("${event}" on a second day) ${until}; found ${repeat.length}`,
    )
  else if (withSpend.length < minRepeat)
    reasons.push(
      `need ≥ ${minRepeat} repeat customers with a positive "${settings.revenueProperty}"; found ${withSpend.length}`,
    )
  if (reasons.length > 0) return { ok: false, reasons, rows }

  const warnings: string[] = []
  const fitOpts = {
    penalizer: settings.penalizer,
    ...(limits.shouldStop ? { shouldStop: limits.shouldStop } : {}),
  }
  // One weighted row per distinct (x, tx, T): the same likelihood, far fewer terms.
  const bg = fitBgNbd(
    groupRfm({ x: calib.map((c) => c.x), tx: calib.map((c) => c.tx), T: calib.map((c) => c.T) }),
    fitOpts,
  )
  const gg = fitGammaGamma(
    { x: withSpend.map((c) => c.x), mx: withSpend.map((c) => c.mx) },
    fitOpts,
  )
  if (!bg.converged || !gg.converged)
    warnings.push(
      'the fit stopped before converging (time limit or iteration budget): the parameters are the best found',
    )
  if (gg.params.q <= 1)
    warnings.push(
      'Gamma-Gamma q ≤ 1: the population mean spend is unbounded, so values lean on each customer’s own average',
    )

  const holdoutPeriods = (lastDay - calibEndDay) / settings.periodDays
  const holdout = holdoutPeriods > 0 ? holdoutCheck(bg, calib, holdoutPeriods) : null

  const full =
    holdoutPeriods > 0
      ? summarizePurchases(purchases, {
          calibrationEndMs: lastDay * DAY_MS,
          periodDays: settings.periodDays,
        })
      : calib
  const scores: ClvScore[] = full.map((c) => {
    const s = scoreCustomer(bg.params, gg.params, c, settings)
    return {
      customerId: c.customerId,
      expectedPurchases: s.expectedPurchases,
      pAlive: s.pAlive,
      value: s.value,
    }
  })
  const mean = (f: (s: ClvScore) => number): number =>
    scores.reduce((acc, s) => acc + f(s), 0) / Math.max(1, scores.length)

  const report: ClvReport = {
    kind: 'clv',
    window: {
      firstPurchase: day(Math.floor(firstMs / DAY_MS)),
      calibrationEnd: day(calibEndDay),
      dataEnd: day(lastDay),
      holdout:
        holdoutPeriods > 0
          ? { start: day(calibEndDay + 1), end: day(lastDay), periods: holdoutPeriods }
          : null,
      periodDays: settings.periodDays,
    },
    rows: {
      ...rows,
      calibrationPurchaseDays: calib.reduce((s, c) => s + c.x + 1, 0),
      holdoutPurchaseDays: calib.reduce((s, c) => s + c.holdout, 0),
      scored: scores.length,
    },
    parameters: bg.params,
    standardErrors: bg.standardErrors,
    logLikelihood: bg.logLikelihood,
    converged: bg.converged,
    spend: {
      parameters: gg.params,
      standardErrors: gg.standardErrors,
      logLikelihood: gg.logLikelihood,
      converged: gg.converged,
      iterations: gg.iterations,
      customers: withSpend.length,
    },
    holdout,
    scores: {
      meanValue: mean((s) => s.value),
      meanExpectedPurchases: mean((s) => s.expectedPurchases),
      meanPAlive: mean((s) => s.pAlive),
    },
    warnings,
  }
  return { ok: true, report, scores }
}

/** Expected against actual purchase days in the holdout, overall and by calibration x (0…6, 7+). */
function holdoutCheck(
  bg: BgNbdFit,
  calib: readonly CustomerSummary[],
  periods: number,
): NonNullable<ClvReport['holdout']> {
  const groups = new Map<string, { customers: number; predicted: number; actual: number }>()
  let predicted = 0
  let actual = 0
  for (const c of calib) {
    const e = bgNbdExpectedPurchases(bg.params, c.x, c.tx, c.T, periods)
    predicted += e
    actual += c.holdout
    const key = c.x >= 7 ? '7+' : String(c.x)
    const g = groups.get(key) ?? { customers: 0, predicted: 0, actual: 0 }
    g.customers++
    g.predicted += e
    g.actual += c.holdout
    groups.set(key, g)
  }
  const order = ['0', '1', '2', '3', '4', '5', '6', '7+']
  return {
    predicted,
    actual,
    byFrequency: order.filter((k) => groups.has(k)).map((x) => ({ x, ...groups.get(x)! })),
  }
}
