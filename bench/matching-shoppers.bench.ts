/**
 * Matching on realistic CDP profiles, side by side with the defaults before the evidence-against
 * rule (ADR 0011), in one run: generated shoppers (`shopper-profiles.ts`: shared names,
 * `first.last+digits@` emails, households on one phone and address, typo'd true duplicates),
 * decided by the same pure steps as a first matching run (`shopper-matching.ts`). What counts is
 * false auto-merges (target 0), then recall. FEBRL is measured beside it, before and after: the
 * engine's own dedupe (no emails there, so nothing may move) and FEBRL through the CDP's planner.
 *
 * `node --import tsx bench/matching-shoppers.bench.ts` (BENCH_SHOPPER_PEOPLE, default
 * 2000,10000) → bench/results/matching-shoppers.{json,md}, then docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import path from 'node:path'
import { febrlDir } from './febrl.js'
import { machine, round, writeResult } from './support.js'
import { renderBenchmarks } from './render.js'
import { generateShopperProfiles, type ShopperProfile } from './shopper-profiles.js'
import {
  beforeConfig,
  decideShoppers,
  shopperFigures,
  type ShopperFigures,
  type Variant,
} from './shopper-matching.js'
import { dedupeRecords, type LinkageRecord } from '../src/unify/core/identity/linkage/index.js'

const SEED = 20261203
const sizes = (process.env.BENCH_SHOPPER_PEOPLE ?? '2000,10000').split(',').map(Number)
const VARIANTS: readonly Variant[] = ['before', 'after']

type Row = Record<string, string>

function febrl(file: string): Row[] {
  const [header, ...lines] = readFileSync(path.join(febrlDir(), file), 'utf8').trim().split('\n')
  const cols = (header as string).split(',').map((c) => c.trim())
  return lines.map((l) => {
    const v = l.split(',').map((x) => x.trim())
    return Object.fromEntries(cols.map((c, i) => [c, v[i] ?? '']))
  })
}
const entityOf = (recId: string) => recId.split('-')[1] ?? recId
const choose2 = (n: number) => (n * (n - 1)) / 2

interface PairScores {
  precision: number
  recall: number
  f1: number
}
function pairScores(entity: readonly string[], group: (i: number) => string | number): PairScores {
  const count = (key: (i: number) => string) => {
    const m = new Map<string, number>()
    entity.forEach((_, i) => m.set(key(i), (m.get(key(i)) ?? 0) + 1))
    return [...m.values()].reduce((s, n) => s + choose2(n), 0)
  }
  const truth = count((i) => entity[i]!)
  const predicted = count((i) => String(group(i)))
  const tp = count((i) => `${group(i)}|${entity[i]}`)
  const precision = predicted === 0 ? 1 : tp / predicted
  const recall = truth === 0 ? 1 : tp / truth
  return { precision, recall, f1: (2 * precision * recall) / (precision + recall || 1) }
}

/** The engine's dedupe on a FEBRL file (threshold 0.9, as `bench:matching`). */
function febrlEngine(file: string, withSsn: boolean, variant: Variant): PairScores {
  const rows = febrl(file).map((r) => {
    const c = { ...r }
    if (!withSsn) delete c.soc_sec_id
    return c
  })
  const columns = Object.keys(rows[0]!)
  const run = dedupeRecords(rows as LinkageRecord[], {
    idColumn: 'rec_id',
    columns,
    ...(variant === 'before' ? { config: beforeConfig(columns, 'rec_id') } : {}),
  })
  return pairScores(
    rows.map((r) => entityOf(r.rec_id!)),
    (i) => run.clusters[i]!,
  )
}

/** A FEBRL file as CDP profiles (traits as identify sends them, one anonymous id each). */
function febrlProfiles(file: string): ShopperProfile[] {
  return febrl(file).map((r, i) => {
    const traits: Record<string, unknown> = {
      address: {
        streetNumber: r.street_number,
        street: r.address_1,
        city: r.suburb,
        postalCode: r.postcode,
        state: r.state,
      },
    }
    if (r.given_name) traits.firstName = r.given_name
    if (r.surname) traits.lastName = r.surname
    const d = r.date_of_birth ?? ''
    if (d.length === 8) traits.birthday = `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`
    return {
      id: `p_${String(i).padStart(6, '0')}`,
      person: Number(entityOf(r.rec_id!)),
      createdAt: i,
      traits,
      identifiers: [{ type: 'anonymous_id', value: r.rec_id! }],
      kind: r.rec_id!.endsWith('-org') ? ('original' as const) : ('duplicate' as const),
    }
  })
}

const f4 = (x: number) => x.toFixed(4)
const n = (x: number) => x.toLocaleString('en')

function main(): void {
  const shoppers: Array<{ people: number; variant: Variant; figures: ShopperFigures }> = []
  for (const people of sizes) {
    const profiles = generateShopperProfiles({ seed: SEED, people })
    for (const variant of VARIANTS) {
      const figures = shopperFigures(profiles, decideShoppers(profiles, variant))
      process.stdout.write(
        `${people} people, ${variant}: ${figures.autoMerges} auto-merges, ${figures.falseAutoMerges} false, recall ${f4(figures.recall)}\n`,
      )
      shoppers.push({ people, variant, figures })
    }
  }
  const files = ['dataset1.csv', 'dataset2.csv', 'dataset3.csv']
  const engine = files.flatMap((file) =>
    [false, true].flatMap((withSsn) =>
      VARIANTS.map((variant) => ({
        file,
        withSsn,
        variant,
        ...febrlEngine(file, withSsn, variant),
      })),
    ),
  )
  const planned = files.flatMap((file) => {
    const profiles = febrlProfiles(file)
    return VARIANTS.map((variant) => ({
      file,
      variant,
      figures: shopperFigures(profiles, decideShoppers(profiles, variant)),
    }))
  })
  const m = machine()
  const row = (people: number, v: Variant) =>
    shoppers.find((s) => s.people === people && s.variant === v)!.figures
  const md = `## Matching on CDP profiles: look-alike shoppers, before and after evidence against

Measured by \`node --import tsx bench/matching-shoppers.bench.ts\` on ${m.cpuModel} (${m.cores} cores), Node ${m.node}, ${m.date.slice(0, 10)}; 1-minute load average at the end ${round(loadavg()[0] ?? 0, 2)} (shared machine: times are upper bounds).
Seeded shoppers (\`bench/shopper-profiles.ts\`, seed ${SEED}): first and last names from short lists with skewed picks (many people share a name), \`first.last<digits>@\`, \`first.last+tag@\`, \`first.last.crm<n>@\` emails, 12% heading a household of two or three at one address (half on one landline, each with an email of their own), 20% with a second profile (a typo'd or re-cased name with the same email retyped, or the same phone without an email, or name, address and birth date only; 1 in 12 under a second email of the same person). Identities as the identity stage leaves them (anonymous id; user id for 60% of the originals; an email or +44 phone identity on the first profile holding it). Both columns run the same pure steps as a first matching run (records through the default trait mapping, EM, the match planner; auto-merge ≥ 0.99, review ≥ 0.8), side by side in this run: **before** = the defaults until ADR 0011 (email compared exact / one edit / Jaro–Winkler ≥ 0.88, disagreement weights as EM left them, no identifier check in the planner), **after** = now.

| people | profiles | true pairs | candidate pairs | | auto-merges | **false auto-merges** | precision | recall (auto) | recall incl. review | queued (true / false) | told apart | time |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${sizes
  .flatMap((people) =>
    VARIANTS.map((v) => {
      const f = row(people, v)
      return `| ${n(people)} | ${n(f.profiles)} | ${n(f.truePairs)} | ${n(f.candidatePairs)} | ${v} | ${n(f.autoMerges)} | **${n(f.falseAutoMerges)}** | ${f4(f.precision)} | ${f4(f.recall)} | ${f4(f.recallWithReview)} | ${n(f.queuedTrue)} / ${n(f.queued - f.queuedTrue)} | ${n(f.toldApart)} | ${round(f.seconds, 2)} s |`
    }),
  )
  .join('\n')}

True duplicates found, by how the second profile was made (after; auto-merged / queued / of):

| people | typo'd name, same email or phone, or name + address + birth date | second email of the same person |
|---|---|---|
${sizes
  .map((people) => {
    const k = row(people, 'after').foundByKind
    const cell = (x: { truePairs: number; autoMerged: number; queued: number } | undefined) =>
      x ? `${n(x.autoMerged)} / ${n(x.queued)} / ${n(x.truePairs)}` : '–'
    return `| ${n(people)} | ${cell(k.duplicate)} | ${cell(k['second-email'])} |`
  })
  .join('\n')}

A second email of the same person is evidence against by design: such a pair is queued when another identifier agrees (one phone), never auto-merged. "Told apart": pairs at or above the review threshold whose identifiers differ and share nothing, neither merged nor queued.

### FEBRL, before and after

The engine's own dedupe (threshold 0.9, as \`bench:matching\`): FEBRL has no emails or phones, so only the \`soc_sec_id\` variant has an identifier field whose disagreement weight is now capped.

| file | soc_sec_id | precision before | precision after | recall before | recall after | F1 before | F1 after |
|---|---|---|---|---|---|---|---|
${files
  .flatMap((file) =>
    [false, true].map((withSsn) => {
      const b = engine.find(
        (e) => e.file === file && e.withSsn === withSsn && e.variant === 'before',
      )!
      const a = engine.find(
        (e) => e.file === file && e.withSsn === withSsn && e.variant === 'after',
      )!
      return `| ${file} | ${withSsn ? 'with' : 'without'} | ${f4(b.precision)} | ${f4(a.precision)} | ${f4(b.recall)} | ${f4(a.recall)} | ${f4(b.f1)} | **${f4(a.f1)}** |`
    }),
  )
  .join('\n')}

FEBRL as CDP profiles through the match planner (no \`soc_sec_id\`; auto-merge ≥ 0.99): the first-name rule holds back duplicates whose first name FEBRL replaced while their birth date is missing or corrupted too (they wait for review instead).

| file | | auto-merges | false auto-merges | precision | recall (auto) | recall incl. review |
|---|---|---|---|---|---|---|
${planned
  .map(
    (p) =>
      `| ${p.file} | ${p.variant} | ${n(p.figures.autoMerges)} | ${n(p.figures.falseAutoMerges)} | ${f4(p.figures.precision)} | ${f4(p.figures.recall)} | ${f4(p.figures.recallWithReview)} |`,
  )
  .join('\n')}
`
  writeResult('matching-shoppers', { machine: m, seed: SEED, shoppers, engine, planned }, md)
  renderBenchmarks()
  process.stdout.write('wrote bench/results/matching-shoppers.{json,md}\n')
}

main()
