/**
 * `npm run bench:btyd`: the BG/NBD fit on the CDNOW sample and on synthetic customers (1,000,000
 * by default, `BTYD_CUSTOMERS`), time and memory, side by side with a baseline in the same run:
 * the same fit with the per-customer likelihood (three lnGamma and two lnBeta calls per customer
 * and evaluation, `bgNbdLogLikelihoodDirect`) instead of the likelihood tabled by x. At 1M the
 * baseline's full fit would take minutes, so its cost is measured as likelihood passes (the fit
 * is passes × evaluations, the optimiser's own work is negligible) and the fit is projected.
 * The synthetic customers are drawn from the BG/NBD itself with CDNOW's published parameters,
 * so the fit must recover them: the recovered values are in the table too.
 */
import { loadavg } from 'node:os'
import {
  bgNbdLogLikelihood,
  bgNbdLogLikelihoodDirect,
  fitBgNbd,
  groupRfm,
  type BgNbdParams,
  type RfmData,
} from '../src/understand/core/predictions/bg-nbd-model.js'
import { summarizePurchases } from '../src/understand/core/predictions/customer-summary.js'
import { scoreCustomer } from '../src/understand/core/predictions/clv-value.js'
import { fitPositive } from '../src/understand/core/predictions/model-optimizer.js'
import { cdnowPurchases } from '../src/testing/cdnow-data.js'
import { renderBenchmarks } from './render.js'
import { fmt, machine, round, writeResult } from './support.js'

const N = Number(process.env.BTYD_CUSTOMERS ?? 1_000_000)
const TRUE: BgNbdParams = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }

// Deterministic randomness: mulberry32, then Gamma by Marsaglia–Tsang (shape < 1 boosted).
function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(u() || 1e-300)) * Math.cos(2 * Math.PI * u())
}
function gammaDraw(shape: number, u: () => number): number {
  if (shape < 1) return gammaDraw(shape + 1, u) * Math.pow(u() || 1e-300, 1 / shape)
  const d = shape - 1 / 3
  const c = 1 / Math.sqrt(9 * d)
  for (;;) {
    const x = normal(u)
    const v = (1 + c * x) ** 3
    if (v <= 0) continue
    if (Math.log(u() || 1e-300) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v
  }
}

/** Customers from the BG/NBD: λ ~ Gamma(r, α), p ~ Beta(a, b), ages uniform over 39 weeks. */
function synthetic(n: number): RfmData {
  const u = rng(17)
  const x = new Float64Array(n)
  const tx = new Float64Array(n)
  const T = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const lambda = gammaDraw(TRUE.r, u) / TRUE.alpha
    const g1 = gammaDraw(TRUE.a, u)
    const p = g1 / (g1 + gammaDraw(TRUE.b, u))
    const age = 1 + u() * 38
    let t = 0
    let count = 0
    let last = 0
    for (;;) {
      t += -Math.log(u() || 1e-300) / lambda
      if (t > age) break
      count++
      last = t
      if (u() < p) break
    }
    x[i] = count
    tx[i] = last
    T[i] = age
  }
  return { x, tx, T }
}

function timed<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now()
  const value = fn()
  return { ms: performance.now() - t0, value }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

/** Median ms of one likelihood pass, over `reps` passes. */
function passMs(ll: (p: BgNbdParams, d: RfmData) => number, d: RfmData, reps: number): number {
  const ms: number[] = []
  for (let i = 0; i < reps; i++) ms.push(timed(() => ll(TRUE, d)).ms)
  return median(ms)
}

/** A fit counting its likelihood evaluations. */
function countedFit(ll: (p: BgNbdParams, d: RfmData) => number, d: RfmData) {
  let evaluations = 0
  const res = timed(() =>
    fitPositive(
      (p) => {
        evaluations++
        return ll({ r: p[0]!, alpha: p[1]!, a: p[2]!, b: p[3]! }, d)
      },
      4,
      d.x.length,
    ),
  )
  return { ms: res.ms, evaluations, params: res.value.params }
}

// ---- CDNOW ------------------------------------------------------------------------------------
const summary = summarizePurchases(cdnowPurchases(), {
  calibrationEndMs: Date.UTC(1997, 8, 30),
  periodDays: 7,
})
const cdnow: RfmData = {
  x: summary.map((c) => c.x),
  tx: summary.map((c) => c.tx),
  T: summary.map((c) => c.T),
}
countedFit(bgNbdLogLikelihood, cdnow) // warm-up (JIT)
const cdnowFast = [0, 1, 2].map(() => countedFit(bgNbdLogLikelihood, cdnow))
const cdnowDirect = [0, 1, 2].map(() => countedFit(bgNbdLogLikelihoodDirect, cdnow))
const cdnowFit = fitBgNbd(cdnow)

// ---- synthetic ---------------------------------------------------------------------------------
const gen = timed(() => synthetic(N))
const data = gen.value
// Three Float64Arrays of N: the customers' whole footprint.
const dataMiB = (3 * 8 * N) / 2 ** 20
const fastPass = passMs(bgNbdLogLikelihood, data, 5)
const directPass = passMs(bgNbdLogLikelihoodDirect, data, 3)
const rss0 = process.memoryUsage().rss
const big = countedFit(bgNbdLogLikelihood, data)
const rssAfter = process.memoryUsage().rss
const maxRssMiB = process.resourceUsage().maxRSS / 1024
const bigFit = fitBgNbd(data)
// What the trainer fits: purchase times are days, so (x, tx, T) repeat; one weighted row each.
const daily: RfmData = {
  x: data.x,
  tx: Float64Array.from(
    data.tx,
    (v, i) => Math.min(Math.round(v * 7), Math.round(data.T[i]! * 7)) / 7,
  ),
  T: Float64Array.from(data.T, (v) => Math.round(v * 7) / 7),
}
const grouping = timed(() => groupRfm(daily))
const groupedFit = timed(() => fitBgNbd(grouping.value))
// Scoring: 52 weekly steps of discounted value per customer, on the first 100,000.
const scoreN = Math.min(N, 100_000)
const gg = { p: 6.25, q: 3.74, v: 15.44 }
const scoring = timed(() => {
  let s = 0
  for (let i = 0; i < scoreN; i++)
    s += scoreCustomer(
      bigFit.params,
      gg,
      { x: data.x[i]!, tx: data.tx[i]!, T: data.T[i]!, mx: 20 },
      { horizonPeriods: 52, discountRate: 0.1, periodDays: 7 },
    ).value
  return s
})

const p4 = (p: BgNbdParams) =>
  `${round(p.r, 3)}, ${round(p.alpha, 3)}, ${round(p.a, 3)}, ${round(p.b, 3)}`
const result = {
  cdnow: {
    customers: summary.length,
    fitMs: round(median(cdnowFast.map((f) => f.ms))),
    directFitMs: round(median(cdnowDirect.map((f) => f.ms))),
    evaluations: cdnowFast[0]!.evaluations,
    params: cdnowFit.params,
  },
  synthetic: {
    customers: N,
    generateSec: round(gen.ms / 1000, 1),
    dataMiB: round(dataMiB, 1),
    passMs: round(fastPass, 1),
    directPassMs: round(directPass, 1),
    fitSec: round(big.ms / 1000, 1),
    evaluations: big.evaluations,
    projectedDirectFitSec: round((directPass * big.evaluations) / 1000, 0),
    rssBeforeFitMiB: round(rss0 / 2 ** 20, 0),
    rssAfterFitMiB: round(rssAfter / 2 ** 20, 0),
    maxRssMiB: round(maxRssMiB, 0),
    params: bigFit.params,
    scoredPerSec: round(scoreN / (scoring.ms / 1000), 0),
    groupedRows: grouping.value.x.length,
    groupingMs: round(grouping.ms, 0),
    groupedFitSec: round(groupedFit.ms / 1000, 2),
    groupedParams: groupedFit.value.params,
  },
  machine: machine(),
  loadavg: loadavg(),
}
const m = result.machine
const c = result.cdnow
const s = result.synthetic
const markdown = `## Customer-value models: the BG/NBD fit on CDNOW and on ${fmt(N)} synthetic customers

The BG/NBD maximum-likelihood fit (\`src/understand/core/predictions\`, Nelder–Mead on
log-parameters with restarts) as Kindred runs it, with the likelihood tabled by x (lnΓ ratios by
their recurrence, once per evaluation), beside the baseline: the same fit with the per-customer
likelihood (three lnGamma and two lnBeta calls per customer per evaluation). Synthetic customers
are drawn from the BG/NBD with CDNOW's published parameters (r, α, a, b = ${p4(TRUE)}), ages
uniform over 1–39 weeks, so the fit must recover them. Machine: ${m.cpuModel}, ${m.cores} cores
(shared), Node ${m.node}, ${m.date} (load average ${result.loadavg.map((v) => v.toFixed(2)).join(' / ')}
at the end).

| | customers | likelihood evaluations | Kindred (tabled) | baseline (per customer) | ratio |
|---|---:|---:|---:|---:|---:|
| CDNOW fit (median of 3) | ${fmt(c.customers)} | ${fmt(c.evaluations)} | ${c.fitMs} ms | ${c.directFitMs} ms | ${round(c.directFitMs / c.fitMs, 1)}× |
| one likelihood pass, synthetic | ${fmt(N)} | 1 | ${s.passMs} ms | ${s.directPassMs} ms | ${round(s.directPassMs / s.passMs, 1)}× |
| whole fit, synthetic | ${fmt(N)} | ${fmt(s.evaluations)} | ${s.fitSec} s | ≈ ${s.projectedDirectFitSec} s (passes × evaluations) | ${round(s.projectedDirectFitSec / s.fitSec, 1)}× |
| whole fit, synthetic at day resolution, grouped (what the trainer runs) | ${fmt(N)} in ${fmt(s.groupedRows)} rows | | ${s.groupedFitSec} s (+ ${s.groupingMs} ms grouping) | ≈ ${s.projectedDirectFitSec} s | ${round(s.projectedDirectFitSec / (s.groupedFitSec + s.groupingMs / 1000), 0)}× |

Fitted on CDNOW: ${p4(c.params)} (published: 0.243, 4.414, 0.793, 2.426). Recovered from the
synthetic customers: ${p4(s.params)} (at day resolution, grouped: ${p4(s.groupedParams)}). The
trainer groups customers with equal (x, t_x, T) into one weighted row
(\`groupRfm\`): with purchases counted per day, t_x and T take at most a few hundred values each,
so a million customers become ${fmt(s.groupedRows)} rows. Memory: the ${fmt(N)} customers' (x, t_x, T) take
${s.dataMiB} MiB (three Float64Arrays); the fit allocates nothing per customer (RSS
${s.rssBeforeFitMiB} MiB before it, ${s.rssAfterFitMiB} MiB after; peak RSS of the whole run ${s.maxRssMiB} MiB, generation
included). Generating the customers took ${s.generateSec} s. Scoring (P(alive), expected
purchases and the value over 52 weekly periods, discounted, 52 ₂F₁ evaluations per customer):
${fmt(s.scoredPerSec)} customers/s on one core.`
writeResult('btyd', result, markdown)
renderBenchmarks()
process.stdout.write(`${JSON.stringify(result)}\n`)
