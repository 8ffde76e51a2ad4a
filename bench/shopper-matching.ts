/**
 * The decisions of a matching run over generated shoppers (`shopper-profiles.ts`), without a
 * store: the same pure steps `src/unify/engine/matching/runs.ts` takes on a first run (records
 * from traits through the default mapping, content order, EM, scored pairs, exclusive
 * identifiers, the match planner), and how they compare with the truth. `before` replays the
 * defaults this project had until the evidence-against rule (ADR 0011): fuzzy email levels, a
 * disagreement weight left to EM, no identifier check in the planner.
 * @module
 */
import {
  dedupeRecords,
  defaultLevels,
  detectFields,
  type ModelConfigInput,
} from '../src/unify/core/identity/linkage/index.js'
import {
  DEFAULT_IDENTITY_RULES,
  exclusiveIdentifierTypes,
  exclusiveValues,
  planMatches,
  type MatchPlan,
  type MatchProfile,
} from '../src/unify/core/identity/index.js'
import {
  PROFILE_ID_COLUMN,
  inContentOrder,
  profileRecord,
  scoredPairs,
  usedColumns,
  type MatchExplanation,
} from '../src/unify/core/matching-records.js'
import {
  DEFAULT_MATCHING_SETTINGS,
  traitMapping,
} from '../src/unify/engine/matching/matching-settings.js'
import type { ShopperProfile } from './shopper-profiles.js'

export type Variant = 'before' | 'after'

export interface ShopperDecisions {
  plan: MatchPlan<MatchExplanation>
  candidatePairs: number
  seconds: number
}

/** Email levels and disagreement weights as they were before ADR 0011. */
export function beforeConfig(
  columns: readonly string[],
  idColumn = PROFILE_ID_COLUMN,
): ModelConfigInput {
  return {
    identifierDisagreement: null,
    fields: detectFields(columns, idColumn).map((f) =>
      f.kind === 'email'
        ? {
            ...f,
            levels: [
              { type: 'exact' },
              { type: 'damerauLevenshtein', max: 1 },
              { type: 'jaroWinkler', min: 0.88 },
            ],
          }
        : { ...f, levels: defaultLevels(f.kind ?? 'text') },
    ),
  }
}

export function decideShoppers(
  shoppers: readonly ShopperProfile[],
  variant: Variant,
): ShopperDecisions {
  const t0 = performance.now()
  const settings = DEFAULT_MATCHING_SETTINGS
  const mapping = traitMapping(settings)
  const loaded: Record<string, string>[] = []
  const profiles = new Map<string, MatchProfile>()
  const byId = new Map(shoppers.map((s) => [s.id, s]))
  for (const s of shoppers) {
    const rec = profileRecord(s.id, s.traits, mapping, settings.minFields)
    if (rec === null) continue
    loaded.push(rec)
    const counts: Record<string, number> = {}
    for (const i of s.identifiers) counts[i.type] = (counts[i.type] ?? 0) + 1
    profiles.set(s.id, { id: s.id, createdAt: s.createdAt, mergeCount: 0, counts })
  }
  const records = inContentOrder(loaded)
  const columns = usedColumns(records)
  const run = dedupeRecords(records, {
    idColumn: PROFILE_ID_COLUMN,
    columns,
    threshold: settings.autoMergeThreshold,
    ...(variant === 'before' ? { config: beforeConfig(columns) } : {}),
  })
  const scored = scoredPairs(run, records, settings.reviewThreshold)
  // Before: no first-name rule either.
  if (variant === 'before') for (const p of scored) delete p.against
  if (variant === 'after') {
    const types = exclusiveIdentifierTypes(DEFAULT_IDENTITY_RULES)
    const recordOf = new Map(records.map((r) => [r[PROFILE_ID_COLUMN]!, r]))
    for (const id of new Set(scored.flatMap((p) => [p.a, p.b]))) {
      const p = profiles.get(id)!
      const exclusive = exclusiveValues(
        byId.get(id)?.identifiers ?? [],
        recordOf.get(id) ?? null,
        types,
      )
      profiles.set(id, { ...p, exclusive })
    }
  }
  const plan = planMatches({
    pairs: scored,
    profiles,
    rules: DEFAULT_IDENTITY_RULES,
    rejected: new Set(),
    autoMergeThreshold: settings.autoMergeThreshold,
    reviewThreshold: settings.reviewThreshold,
  })
  return { plan, candidatePairs: run.pairs.count, seconds: (performance.now() - t0) / 1000 }
}

export interface ShopperFigures {
  profiles: number
  people: number
  /** Pairs of profiles of one person: what a perfect run would join. */
  truePairs: number
  candidatePairs: number
  /** Merges a run would make on its own, and how many joined two different people. */
  autoMerges: number
  falseAutoMerges: number
  /** Over pairs inside the auto-merged groups. */
  precision: number
  recall: number
  /** True pairs auto-merged or queued for review. */
  recallWithReview: number
  queued: number
  queuedTrue: number
  /** Queued pairs that hold different identifiers (shown to the reviewer with the reason). */
  queuedDifferentIdentifiers: number
  /** Pairs at or above the review threshold that their identifiers told apart. */
  toldApart: number
  /** True pairs found (auto-merged) by how the duplicate was made. */
  foundByKind: Record<string, { truePairs: number; autoMerged: number; queued: number }>
  seconds: number
}

const choose2 = (n: number) => (n * (n - 1)) / 2

export function shopperFigures(
  shoppers: readonly ShopperProfile[],
  d: ShopperDecisions,
): ShopperFigures {
  const person = new Map(shoppers.map((s) => [s.id, s.person]))
  const kind = new Map(shoppers.map((s) => [s.id, s.kind]))
  const survivor = new Map<string, string>()
  for (const m of d.plan.merges) survivor.set(m.from, m.into)
  const groupOf = (id: string) => survivor.get(id) ?? id
  const perPerson = new Map<number, number>()
  for (const s of shoppers) perPerson.set(s.person, (perPerson.get(s.person) ?? 0) + 1)
  let truePairs = 0
  for (const n of perPerson.values()) truePairs += choose2(n)
  const groups = new Map<string, string[]>()
  for (const s of shoppers) {
    const g = groupOf(s.id)
    const l = groups.get(g) ?? []
    l.push(s.id)
    groups.set(g, l)
  }
  let predicted = 0
  let correct = 0
  for (const members of groups.values()) {
    predicted += choose2(members.length)
    const c = new Map<number, number>()
    for (const m of members) c.set(person.get(m)!, (c.get(person.get(m)!) ?? 0) + 1)
    for (const n of c.values()) correct += choose2(n)
  }
  const falseAutoMerges = d.plan.merges.filter(
    (m) => person.get(m.from) !== person.get(m.into),
  ).length
  const queuedTrue = d.plan.review.filter((p) => person.get(p.a) === person.get(p.b))
  const queuedTrueKeys = new Set(queuedTrue.map((p) => `${p.a} ${p.b}`))
  // Duplicates by kind: the later profile of a person is the one with the kind that made it.
  const foundByKind: ShopperFigures['foundByKind'] = {}
  const firstOf = new Map<number, string>()
  for (const s of shoppers) {
    const first = firstOf.get(s.person)
    if (first === undefined) {
      firstOf.set(s.person, s.id)
      continue
    }
    const k = (foundByKind[kind.get(s.id)!] ??= { truePairs: 0, autoMerged: 0, queued: 0 })
    k.truePairs++
    if (groupOf(s.id) === groupOf(first)) k.autoMerged++
    else if (queuedTrueKeys.has(s.id < first ? `${s.id} ${first}` : `${first} ${s.id}`)) k.queued++
  }
  return {
    profiles: shoppers.length,
    people: perPerson.size,
    truePairs,
    candidatePairs: d.candidatePairs,
    autoMerges: d.plan.merges.length,
    falseAutoMerges,
    precision: predicted === 0 ? 1 : correct / predicted,
    recall: truePairs === 0 ? 1 : correct / truePairs,
    recallWithReview: truePairs === 0 ? 1 : (correct + queuedTrue.length) / truePairs,
    queued: d.plan.review.length,
    queuedTrue: queuedTrue.length,
    queuedDifferentIdentifiers: d.plan.review.filter(
      (p) => p.reasonCode === 'different_identifiers',
    ).length,
    toldApart: d.plan.toldApart,
    foundByKind,
    seconds: d.seconds,
  }
}
