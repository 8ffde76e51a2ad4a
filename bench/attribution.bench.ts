/**
 * Attribution: each model's time over BENCH_PATHS generated paths (default 1,000,000; 8 channels,
 * 1–6 touches, 30% converting, revenue on conversions), beside a baseline measured in the same
 * run: one pass that reads every touch of every path (what any model must at least do). Markov
 * at orders 1–4; Shapley exact (8 channels). Pure in-memory: the core functions the attribution
 * API runs after its one read.
 *
 * → bench/results/attribution.{json,md}, then docs/benchmarks.md.
 */
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import type { ConversionPath } from '../src/understand/core/attribution/index.js'
import {
  heuristicCredits,
  markovCredits,
  shapleyCredits,
} from '../src/understand/core/attribution/index.js'
import { seededRandom } from '../src/understand/core/experiments/seeded-random.js'
import { renderBenchmarks } from './render.js'
import { fmt, machine, writeResult } from './support.js'

const n = Number(process.env.BENCH_PATHS ?? 1_000_000)
const channels = [
  'email',
  'paid-search',
  'organic-search',
  'paid-social',
  'organic-social',
  'display',
  'referral',
  'affiliate',
]

function generate(): ConversionPath[] {
  const random = seededRandom(42)
  const out: ConversionPath[] = []
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(random() * 6)
    const touchpoints = []
    let t = 0
    for (let j = 0; j < len; j++) {
      t += Math.floor(random() * 3 * 86_400_000)
      touchpoints.push({
        channel: channels[Math.floor(random() * channels.length)]!,
        campaign: null,
        timestampMs: t,
      })
    }
    const converted = random() < 0.3
    out.push({
      touchpoints,
      converted,
      endMs: t + 3_600_000,
      revenue: converted ? Math.round(random() * 20000) / 100 : 0,
    })
  }
  return out
}

function time(fn: () => unknown): number {
  const t0 = performance.now()
  fn()
  return performance.now() - t0
}

async function main(): Promise<void> {
  const load = loadavg()[0] ?? 0
  const paths = generate()
  const touches = paths.reduce((s, p) => s + p.touchpoints.length, 0)
  let sink = 0
  const rows: Array<{ model: string; ms: number }> = []
  rows.push({
    model: 'baseline: read every touch once',
    ms: time(() => {
      for (const p of paths) for (const t of p.touchpoints) sink += t.timestampMs & 1
    }),
  })
  for (const m of [
    'first-touch',
    'last-touch',
    'linear',
    'time-decay',
    'position-based',
  ] as const) {
    rows.push({ model: m, ms: time(() => heuristicCredits(m, paths)) })
  }
  const states: Record<number, number> = {}
  for (const order of [1, 2, 3, 4]) {
    rows.push({
      model: `markov order ${order}`,
      ms: time(() => (states[order] = markovCredits(paths, { order }).states)),
    })
  }
  rows.push({ model: 'shapley (exact, 8 channels)', ms: time(() => shapleyCredits(paths)) })
  const base = rows[0]!.ms
  const results = {
    machine: machine(),
    loadAverage: load,
    paths: n,
    touches,
    rows,
    markovStates: states,
    sink,
  }
  const md = `## Attribution: each model over ${fmt(n)} paths

${fmt(n)} generated paths (${fmt(touches)} touches, 8 channels, 30% converting), in memory, one
model at a time on one core of the shared 2-core machine (load average ${load.toFixed(1)} at the
start). Baseline: one pass reading every touch, in the same run. Markov states: ${[1, 2, 3, 4]
    .map((o) => `order ${o}: ${fmt(states[o] ?? 0)}`)
    .join(', ')} (orders 1–2 solved exactly by elimination, 3–4 by Gauss–Seidel to 1e-14).

| model | time | × baseline |
|---|---:|---:|
${rows.map((r) => `| ${r.model} | ${fmt(r.ms)} ms | ${(r.ms / base).toFixed(1)} |`).join('\n')}
`
  writeResult('attribution', results, md)
  renderBenchmarks()
  process.stdout.write(md)
}

await main()
