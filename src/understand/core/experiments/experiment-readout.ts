/**
 * @module experiments/experiment-readout
 * A readout from per-arm sufficient statistics: for each metric and each treatment arm against
 * control (the first arm), n, mean, absolute and relative lift with intervals, a p-value and a
 * chance to win, the guards that fired, the sample-ratio verdict, and a sentence saying it in
 * words. Goal metrics' p-values are Benjamini–Hochberg-adjusted over every (metric, arm) pair;
 * guardrails are read on their own. What the data cannot support is said instead of shown as a
 * result: a single arm, a metric on an event never seen, too small a sample, a sample-ratio
 * mismatch; none of those can read "significant".
 */

import { gaussianEffectTest } from './bayesian-test.js'
import {
  metricGuards,
  sampleRatioCheck,
  type GuardFinding,
  type GuardOptions,
  type SrmResult,
} from './experiment-guards.js'
import { welchTest } from './frequentist-test.js'
import { benjaminiHochbergAdjust } from './multiple-comparisons.js'
import type { ArmStatistic } from './sufficient-statistics.js'

export type MetricKind = 'conversion' | 'count' | 'sum'

export interface ReadoutMetric {
  readonly key: string
  readonly name: string
  readonly kind: MetricKind
  readonly event: string
  readonly role: 'goal' | 'guardrail'
}

export interface ReadoutInput {
  readonly arms: readonly { readonly key: string; readonly name: string; readonly weight: number }[]
  readonly metrics: readonly ReadoutMetric[]
  /** Exposed units per arm, in the arms' order. */
  readonly exposed: readonly number[]
  /** Per metric key, per arm (arms' order): the statistic over the exposed units. */
  readonly statistics: ReadonlyMap<string, readonly ArmStatistic[]>
  /** Events seen in the workspace, to tell a metric on an unknown event from one nobody did. */
  readonly knownEvents: ReadonlySet<string>
  readonly alpha?: number
  readonly guards?: GuardOptions
}

export interface ArmComparison {
  readonly arm: string
  readonly n: number
  readonly mean: number
  readonly absolute: { readonly estimate: number; readonly ci: readonly [number, number] } | null
  readonly relative: { readonly estimate: number; readonly ci: readonly [number, number] } | null
  readonly pValue: number | null
  readonly adjustedPValue: number | null
  readonly chanceToWin: number | null
  /** CUPED's θ when the pre-exposure covariate was used, else null. */
  readonly cupedTheta: number | null
  readonly significant: boolean
  readonly guards: readonly GuardFinding[]
  readonly summary: string
}

export interface MetricReadout {
  readonly key: string
  readonly name: string
  readonly role: 'goal' | 'guardrail'
  readonly status: 'ok' | 'unknown-event' | 'single-arm'
  readonly control: { readonly arm: string; readonly n: number; readonly mean: number }
  readonly comparisons: readonly ArmComparison[]
  readonly summary: string
}

export interface Readout {
  readonly srm: (SrmResult & { readonly summary: string }) | null
  readonly metrics: readonly MetricReadout[]
  readonly notes: readonly string[]
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`

function guardWords(g: GuardFinding, arms: ReadoutInput['arms']): string {
  switch (g.guard) {
    case 'minimum-sample':
      return `${arms[g.arm]?.name ?? 'an arm'} has ${g.n} exposed units, fewer than the ${g.minimum} needed`
    case 'minimum-conversions':
      return `${arms[g.arm]?.name ?? 'an arm'} has ${g.conversions} conversions, fewer than the ${g.minimum} needed`
    case 'suspicious-uplift':
      return `a relative lift of ${pct(g.relativeLift)} is beyond ±${pct(g.limit)}: check the instrumentation before trusting it`
  }
}

export function experimentReadout(input: ReadoutInput): Readout {
  const alpha = input.alpha ?? 0.05
  const notes: string[] = []
  const arms = input.arms
  let srm: Readout['srm'] = null
  if (arms.length < 2) {
    notes.push(
      'The experiment has one arm: there is nothing to compare it with, so no lift is reported.',
    )
  } else {
    const r = sampleRatioCheck(
      input.exposed,
      arms.map((a) => a.weight),
    )
    const summary = r.mismatch
      ? `Sample ratio mismatch (χ² p = ${r.pValue.toExponential(2)} < 0.001): the arms did not get the planned shares, so the results are not reliable.`
      : 'Sample ratio is fine.'
    srm = { ...r, summary }
    if (r.mismatch) notes.push(summary)
  }
  // First pass: raw comparisons; second: BH over goal p-values.
  interface Draft {
    metric: ReadoutMetric
    status: MetricReadout['status']
    control: MetricReadout['control']
    rows: Array<Omit<ArmComparison, 'adjustedPValue' | 'significant' | 'summary'>>
  }
  const drafts: Draft[] = input.metrics.map((metric) => {
    const stats =
      input.statistics.get(metric.key) ??
      arms.map(() => ({ kind: 'proportion' as const, n: 0, sum: 0 }))
    const c = stats[0] ?? { kind: 'proportion' as const, n: 0, sum: 0 }
    const control = {
      arm: arms[0]?.key ?? '',
      n: c.n,
      mean: c.n === 0 ? 0 : c.kind === 'ratio' ? 0 : c.sum / c.n,
    }
    const status: Draft['status'] = !input.knownEvents.has(metric.event)
      ? 'unknown-event'
      : arms.length < 2
        ? 'single-arm'
        : 'ok'
    const rows: Draft['rows'] = []
    if (status !== 'ok') return { metric, status, control, rows }
    for (let i = 1; i < arms.length; i++) {
      const t = stats[i]!
      const mean = t.n === 0 ? 0 : t.kind === 'ratio' ? 0 : t.sum / t.n
      const w = welchTest(c, t, { alpha })
      const rel = w.ok ? w.relative : null
      const conv = (x: ArmStatistic): { n: number; conversions?: number } =>
        metric.kind === 'conversion' && x.kind !== 'ratio'
          ? { n: x.n, conversions: x.sum }
          : { n: x.n }
      // metricGuards numbers the pair 0 (control) and 1 (this treatment): name the arm.
      const guards = metricGuards([conv(c), conv(t)], rel ? rel.estimate : null, input.guards).map(
        (g) => ('arm' in g ? { ...g, arm: g.arm === 0 ? 0 : i } : g),
      )
      rows.push({
        arm: arms[i]!.key,
        n: t.n,
        mean,
        absolute: w.ok ? { estimate: w.absolute.estimate, ci: w.absolute.ci } : null,
        relative: rel ? { estimate: rel.estimate, ci: rel.ci } : null,
        pValue: rel ? rel.pValue : w.ok ? w.absolute.pValue : null,
        chanceToWin: rel ? gaussianEffectTest(rel.estimate, rel.standardError).chanceToWin : null,
        cupedTheta: w.ok ? w.cupedTheta : null,
        guards,
      })
    }
    return { metric, status, control, rows }
  })
  const goalP: number[] = []
  for (const d of drafts)
    if (d.metric.role === 'goal')
      for (const r of d.rows) if (r.pValue !== null) goalP.push(r.pValue)
  const adjusted = benjaminiHochbergAdjust(goalP)
  let next = 0
  const metrics: MetricReadout[] = drafts.map((d) => {
    const comparisons: ArmComparison[] = d.rows.map((r) => {
      const adj = d.metric.role === 'goal' && r.pValue !== null ? adjusted[next++]! : r.pValue
      const blocked = r.guards.length > 0 || (srm?.mismatch ?? false)
      const significant = !blocked && adj !== null && adj < alpha
      const armName = arms.find((a) => a.key === r.arm)?.name ?? r.arm
      let summary: string
      if (r.guards.length > 0)
        summary = `Not read: ${r.guards.map((g) => guardWords(g, arms)).join('; ')}.`
      else if (!r.relative || adj === null)
        summary = `${armName}: no lift can be computed (the metric does not vary, or the control mean is zero).`
      else {
        const dir = r.relative.estimate >= 0 ? 'raised' : 'lowered'
        const ci = `${100 * (1 - alpha)}% CI ${pct(r.relative.ci[0])} to ${pct(r.relative.ci[1])}`
        summary = significant
          ? `${armName} ${dir} ${d.metric.name} by ${pct(Math.abs(r.relative.estimate))} (${ci}).`
          : `${armName} changed ${d.metric.name} by ${pct(r.relative.estimate)} (${ci}), not significant at ${alpha}.`
      }
      if (srm) summary += ` ${srm.summary}`
      return { ...r, adjustedPValue: adj, significant, summary }
    })
    const summary =
      d.status === 'unknown-event'
        ? `No "${d.metric.event}" event has been seen in this workspace: check the event name.`
        : d.status === 'single-arm'
          ? 'One arm only: nothing to compare.'
          : comparisons.map((c) => c.summary).join(' ')
    return {
      key: d.metric.key,
      name: d.metric.name,
      role: d.metric.role,
      status: d.status,
      control: d.control,
      comparisons,
      summary,
    }
  })
  return { srm, metrics, notes }
}
