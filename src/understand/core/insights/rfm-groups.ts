/**
 * @module rfm-groups
 * Named RFM groups from the three scores (1–5 each; 5 is best: most recent, most frequent,
 * most money). The rules are read top to bottom and the first that holds names the group, so
 * every combination of scores has exactly one name. `fm` is the rounded-up mean of the F and M
 * scores, `floor((F + M + 1) / 2)`.
 *
 * | group            | rule                   | reading                                          |
 * | ---------------- | ---------------------- | ------------------------------------------------ |
 * | `new`            | R = 5 and F = 1        | bought for the first time, very recently         |
 * | `champions`      | R ≥ 4 and fm ≥ 4       | bought recently, buy often and spend the most    |
 * | `loyal`          | R ≥ 3 and fm ≥ 3       | regular, valuable, not lapsing                   |
 * | `at_risk`        | R ≤ 2 and fm ≥ 3       | were valuable, have not bought for a while       |
 * | `promising`      | R ≥ 4 and fm ≤ 2       | recent, not yet frequent or big spenders         |
 * | `need_attention` | R = 3 and fm ≤ 2       | middling recency, low frequency and spend        |
 * | `hibernating`    | R = 2 and fm ≤ 2       | low on all three, lapsing                        |
 * | `lost`           | R = 1 and fm ≤ 2       | lowest recency, low frequency and spend          |
 */

export const RFM_GROUPS = [
  'new',
  'champions',
  'loyal',
  'at_risk',
  'promising',
  'need_attention',
  'hibernating',
  'lost',
] as const
export type RfmGroup = (typeof RFM_GROUPS)[number]

export function rfmGroup(r: number, f: number, m: number): RfmGroup {
  const fm = Math.floor((f + m + 1) / 2)
  if (r === 5 && f === 1) return 'new'
  if (r >= 4 && fm >= 4) return 'champions'
  if (r >= 3 && fm >= 3) return 'loyal'
  if (r <= 2 && fm >= 3) return 'at_risk'
  if (r >= 4) return 'promising'
  if (r === 3) return 'need_attention'
  if (r === 2) return 'hibernating'
  return 'lost'
}

/** Score 1–5 of a value against four ascending cut points: 1 + how many it exceeds. */
export function scoreUp(v: number, cuts: readonly number[]): number {
  return 1 + cuts.filter((c) => v > c).length
}

/** Recency score: fewer days is better, 5 − how many cut points it exceeds. */
export function scoreRecency(days: number, cuts: readonly number[]): number {
  return 5 - cuts.filter((c) => days > c).length
}
