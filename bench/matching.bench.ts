import { febrlDir } from './febrl.js'
/**
 * Matching benchmark: accuracy of `dedupe` and `link` on the FEBRL datasets
 * with default settings and no labels (without and with `soc_sec_id`), and an end-to-end speed
 * run deduplicating a seeded synthetic 100k-record file through the CLI function.
 *
 * Run: `npm run bench:matching` (env BENCH_SYNTHETIC_RECORDS to change the speed-run size).
 * Writes bench/results/matching.json and bench/results/matching.md.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { readCsv, runDedupe } from '../src/cli/linkage-commands.js'
import {
  dedupeRecords,
  linkRecords,
  seededRandom,
  type LinkageRecord,
} from '../src/unify/core/identity/linkage/index.js'

function findRepoRoot(start: string): string {
  let dir = start
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir)
    if (up === dir) throw new Error('package.json not found above ' + start)
    dir = up
  }
  return dir
}

const repoRoot = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)))
const febrlData = febrlDir()
const resultsDir = path.join(repoRoot, 'bench/results')
const FILES = ['dataset1.csv', 'dataset2.csv', 'dataset3.csv'] as const
const SYNTHETIC_RECORDS = Number(process.env.BENCH_SYNTHETIC_RECORDS ?? 100_000)

/** Baseline of the README (recordlinkage toolkit, without soc_sec_id). */
const BASELINE: Record<string, { precision: number; recall: number; f1: number; seconds: number }> =
  {
    'dataset1.csv': { precision: 0.998, recall: 0.996, f1: 0.997, seconds: 0.1 },
    'dataset2.csv': { precision: 0.9995, recall: 0.9757, f1: 0.9874, seconds: 2.4 },
    'dataset3.csv': { precision: 0.9989, recall: 0.9737, f1: 0.9861, seconds: 2.0 },
  }

interface Scores {
  truePairs: number
  predictedPairs: number
  truePositives: number
  precision: number
  recall: number
  f1: number
}

function scores(truePairs: number, predictedPairs: number, truePositives: number): Scores {
  const precision = predictedPairs === 0 ? 1 : truePositives / predictedPairs
  const recall = truePairs === 0 ? 1 : truePositives / truePairs
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
  return { truePairs, predictedPairs, truePositives, precision, recall, f1 }
}

/** FEBRL ground truth: `rec-<N>-org` / `rec-<N>-dup-<k>` are the same person when N is equal. */
function entityOf(id: string): string {
  return id.split('-')[1] ?? id
}

const choose2 = (n: number): number => (n * (n - 1)) / 2

function countPairs(groups: Iterable<string[]>): { pairs: number; sameEntity: number } {
  let pairs = 0
  let sameEntity = 0
  for (const members of groups) {
    pairs += choose2(members.length)
    const byEntity = new Map<string, number>()
    for (const e of members) byEntity.set(e, (byEntity.get(e) ?? 0) + 1)
    for (const c of byEntity.values()) sameEntity += choose2(c)
  }
  return { pairs, sameEntity }
}

interface DedupeFigures extends Scores {
  file: string
  records: number
  candidatePairs: number
  blockingRecall: number
  emIterations: number | null
  seconds: number
}

function withoutColumn(rows: Record<string, string>[], column: string): Record<string, string>[] {
  return rows.map((r) => {
    const copy = { ...r }
    delete copy[column]
    return copy
  })
}

async function evaluateDedupe(file: string, withSsn: boolean): Promise<DedupeFigures> {
  const t0 = performance.now()
  const table = await readCsv(path.join(febrlData, file))
  const rows = withSsn ? table.records : withoutColumn(table.records, 'soc_sec_id')
  const columns = withSsn ? table.columns : table.columns.filter((c) => c !== 'soc_sec_id')
  const result = dedupeRecords(rows as LinkageRecord[], { idColumn: 'rec_id', columns })
  const seconds = (performance.now() - t0) / 1000
  const entity = rows.map((r) => entityOf(r.rec_id!))
  const truth = countPairs(groupBy(entity, (e) => e))
  const clusters = countPairs(groupBy(entity, (_, i) => result.clusters[i]!))
  let candidateTrue = 0
  for (let p = 0; p < result.pairs.count; p++) {
    if (entity[result.pairs.left[p]!] === entity[result.pairs.right[p]!]) candidateTrue++
  }
  return {
    file,
    records: rows.length,
    candidatePairs: result.pairs.count,
    blockingRecall: candidateTrue / truth.sameEntity,
    emIterations: result.em?.iterations ?? null,
    seconds,
    ...scores(truth.sameEntity, clusters.pairs, clusters.sameEntity),
  }
}

function groupBy(entity: string[], key: (e: string, i: number) => number | string): string[][] {
  const groups = new Map<number | string, string[]>()
  entity.forEach((e, i) => {
    const k = key(e, i)
    let g = groups.get(k)
    if (!g) groups.set(k, (g = []))
    g.push(e)
  })
  return [...groups.values()]
}

interface LinkFigures extends Scores {
  file: string
  left: number
  right: number
  candidatePairs: number
  seconds: number
}

/** Link the originals of a FEBRL file (left) with its duplicates (right). */
async function evaluateLink(file: string, withSsn: boolean): Promise<LinkFigures> {
  const t0 = performance.now()
  const table = await readCsv(path.join(febrlData, file))
  const rows = withSsn ? table.records : withoutColumn(table.records, 'soc_sec_id')
  const columns = withSsn ? table.columns : table.columns.filter((c) => c !== 'soc_sec_id')
  const left = rows.filter((r) => r.rec_id!.endsWith('-org'))
  const right = rows.filter((r) => !r.rec_id!.endsWith('-org'))
  const result = linkRecords(left as LinkageRecord[], right as LinkageRecord[], {
    idColumn: 'rec_id',
    columns,
    threshold: 0.9,
  })
  const seconds = (performance.now() - t0) / 1000
  const orgs = new Set(left.map((r) => entityOf(r.rec_id!)))
  const truePairs = right.filter((r) => orgs.has(entityOf(r.rec_id!))).length
  let predicted = 0
  let tp = 0
  for (let p = 0; p < result.pairs.count; p++) {
    if (result.probabilities[p]! < result.threshold) continue
    predicted++
    const a = entityOf(left[result.pairs.left[p]!]!.rec_id!)
    const b = entityOf(right[result.pairs.right[p]!]!.rec_id!)
    if (a === b) tp++
  }
  return {
    file,
    left: left.length,
    right: right.length,
    candidatePairs: result.pairs.count,
    seconds,
    ...scores(truePairs, predicted, tp),
  }
}

// ---------- Synthetic data for the speed run ----------

interface Vocabulary {
  given: string[]
  surname: string[]
  address1: string[]
  address2: string[]
  suburb: string[]
  postcodeState: [string, string][]
}

function vocabulary(): Vocabulary {
  const sets = {
    given: new Set<string>(),
    surname: new Set<string>(),
    address1: new Set<string>(),
    address2: new Set<string>(),
    suburb: new Set<string>(),
    postcodeState: new Map<string, [string, string]>(),
  }
  for (const file of FILES) {
    const text = readFileSync(path.join(febrlData, file), 'utf8')
    for (const line of text.split('\n').slice(1)) {
      const c = line.split(',').map((s) => s.trim())
      if (!c[0]?.endsWith('-org')) continue
      if (c[1]) sets.given.add(c[1])
      if (c[2]) sets.surname.add(c[2])
      if (c[4]) sets.address1.add(c[4])
      if (c[5]) sets.address2.add(c[5])
      if (c[6]) sets.suburb.add(c[6])
      if (c[7] && c[8]) sets.postcodeState.set(`${c[7]}|${c[8]}`, [c[7], c[8]])
    }
  }
  return {
    given: [...sets.given].sort(),
    surname: [...sets.surname].sort(),
    address1: [...sets.address1].sort(),
    address2: [...sets.address2].sort(),
    suburb: [...sets.suburb].sort(),
    postcodeState: [...sets.postcodeState.values()].sort(),
  }
}

const SYNTH_COLUMNS = [
  'rec_id',
  'given_name',
  'surname',
  'street_number',
  'address_1',
  'address_2',
  'suburb',
  'postcode',
  'state',
  'date_of_birth',
] as const

/**
 * A deterministic FEBRL-like file: 70% originals drawn from the FEBRL vocabulary (Zipf-ish
 * name frequencies), 30% duplicates with 1–3 perturbations each (typos, missing values,
 * swapped names, swapped day/month, OCR-like substitutions).
 */
function syntheticCsv(n: number, seed: number): string {
  const random = seededRandom(seed)
  const v = vocabulary()
  const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)]!
  // Skewed pick: squares the uniform draw, so early (alphabetical) values are more common.
  const pickSkewed = <T>(a: readonly T[]): T => a[Math.floor(random() ** 2 * a.length)]!
  const originals = Math.round(n * 0.7)
  const rows: string[][] = []
  for (let i = 0; i < originals; i++) {
    const [postcode, state] = pick(v.postcodeState)
    const y = 1920 + Math.floor(random() * 90)
    const m = 1 + Math.floor(random() * 12)
    const d = 1 + Math.floor(random() * 28)
    rows.push([
      `rec-${i}-org`,
      random() < 0.02 ? '' : pickSkewed(v.given),
      random() < 0.02 ? '' : pickSkewed(v.surname),
      String(1 + Math.floor(random() ** 2 * 400)),
      pick(v.address1),
      random() < 0.5 ? '' : pick(v.address2),
      pick(v.suburb),
      postcode,
      state,
      `${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`,
    ])
  }
  const typo = (s: string): string => {
    if (s.length < 2) return s
    const i = Math.floor(random() * s.length)
    const letters = 'abcdefghijklmnopqrstuvwxyz'
    switch (Math.floor(random() * 4)) {
      case 0:
        return s.slice(0, i) + s.slice(i + 1)
      case 1:
        return s.slice(0, i) + pick([...letters]) + s.slice(i)
      case 2:
        return s.slice(0, i) + pick([...letters]) + s.slice(i + 1)
      default:
        return i + 1 < s.length ? s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2) : s
    }
  }
  const digitTypo = (s: string): string => {
    if (s.length === 0) return s
    const i = Math.floor(random() * s.length)
    return s.slice(0, i) + String(Math.floor(random() * 10)) + s.slice(i + 1)
  }
  const ocr = (s: string): string =>
    s.replace(/ph|f|c|k|m|rn/, (x) => ({ ph: 'f', f: 'ph', c: 'k', k: 'c', m: 'rn', rn: 'm' })[x]!)
  const dupCounts = new Map<number, number>()
  for (let k = 0; rows.length < n; k++) {
    const o = Math.floor(random() * originals)
    const dupIndex = dupCounts.get(o) ?? 0
    dupCounts.set(o, dupIndex + 1)
    const r = [...rows[o]!]
    r[0] = `rec-${o}-dup-${dupIndex}`
    const edits = 1 + Math.floor(random() * 3)
    for (let e = 0; e < edits; e++) {
      const field = 1 + Math.floor(random() * 9)
      const what = random()
      if (what < 0.15) r[field] = ''
      else if (field === 1 && what < 0.25) [r[1], r[2]] = [r[2]!, r[1]!]
      else if (field === 9 && what < 0.35)
        r[9] = r[9]!.slice(0, 4) + r[9]!.slice(6, 8) + r[9]!.slice(4, 6)
      else if (field === 3 || field === 7 || field === 9) r[field] = digitTypo(r[field]!)
      else if (what < 0.5) r[field] = ocr(r[field]!)
      else r[field] = typo(r[field]!)
    }
    rows.push(r)
  }
  // Shuffle (Fisher–Yates) so duplicates are not at the end.
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[rows[i], rows[j]] = [rows[j]!, rows[i]!]
  }
  return [SYNTH_COLUMNS.join(', '), ...rows.map((r) => r.join(', '))].join('\n') + '\n'
}

interface SpeedFigures extends Scores {
  records: number
  candidatePairs: number
  clusters: number
  /** Wall-clock seconds per phase, and CPU seconds of the whole run (less sensitive to load). */
  seconds: { total: number; cpu: number; read: number; match: number; write: number }
  peakRssMb: number
}

async function speedRun(n: number): Promise<SpeedFigures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kindred-matching-'))
  try {
    const input = path.join(dir, 'synthetic.csv')
    const out = path.join(dir, 'clusters.csv')
    writeFileSync(input, syntheticCsv(n, 20261125))
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const summary = await runDedupe({ input, idColumn: 'rec_id', out })
    const total = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const cpuSeconds = (cpu.user + cpu.system) / 1e6
    const clustered = await readCsv(out)
    const entity = clustered.records.map((r) => entityOf(r.rec_id!))
    const clusterIds = clustered.records.map((r) => r.cluster_id!)
    const truth = countPairs(groupBy(entity, (e) => e))
    const ids = new Map<string, number>()
    const clusters = countPairs(
      groupBy(entity, (_, i) => {
        const c = clusterIds[i]!
        let k = ids.get(c)
        if (k === undefined) ids.set(c, (k = ids.size))
        return k
      }),
    )
    return {
      records: summary.records,
      candidatePairs: summary.candidatePairs,
      clusters: summary.clusters,
      seconds: { total, cpu: cpuSeconds, ...summary.seconds },
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      ...scores(truth.sameEntity, clusters.pairs, clusters.sameEntity),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------- Report ----------

const f4 = (x: number): string => x.toFixed(4)
const s2 = (x: number): string => `${x.toFixed(2)} s`

function dedupeTable(rows: DedupeFigures[], baseline: boolean): string {
  const head = baseline
    ? '| file | true pairs | candidate pairs | blocking recall | precision | recall | F1 | time | baseline F1 (recordlinkage) | baseline time |\n|---|---|---|---|---|---|---|---|---|---|'
    : '| file | true pairs | candidate pairs | blocking recall | precision | recall | F1 | time |\n|---|---|---|---|---|---|---|---|'
  const lines = rows.map((r) => {
    const b = BASELINE[r.file]!
    const cells = [
      r.file,
      r.truePairs.toLocaleString('en'),
      r.candidatePairs.toLocaleString('en'),
      f4(r.blockingRecall),
      f4(r.precision),
      f4(r.recall),
      `**${f4(r.f1)}**`,
      s2(r.seconds),
      ...(baseline ? [f4(b.f1), `${b.seconds} s`] : []),
    ]
    return `| ${cells.join(' | ')} |`
  })
  return [head, ...lines].join('\n')
}

function linkTable(rows: LinkFigures[]): string {
  const head =
    '| left (originals) × right (duplicates) | true pairs | candidate pairs | precision | recall | F1 | time |\n|---|---|---|---|---|---|---|'
  const lines = rows.map(
    (r) =>
      `| ${r.file}: ${r.left} × ${r.right} | ${r.truePairs} | ${r.candidatePairs.toLocaleString('en')} | ${f4(r.precision)} | ${f4(r.recall)} | **${f4(r.f1)}** | ${s2(r.seconds)} |`,
  )
  return [head, ...lines].join('\n')
}

async function main(): Promise<void> {
  const dedupeWithout: DedupeFigures[] = []
  const dedupeWith: DedupeFigures[] = []
  const linkWithout: LinkFigures[] = []
  const linkWith: LinkFigures[] = []
  for (const file of FILES) {
    dedupeWithout.push(await evaluateDedupe(file, false))
    dedupeWith.push(await evaluateDedupe(file, true))
    linkWithout.push(await evaluateLink(file, false))
    linkWith.push(await evaluateLink(file, true))
    console.log(
      `${file}: dedupe F1 ${f4(dedupeWithout.at(-1)!.f1)} (with soc_sec_id ${f4(dedupeWith.at(-1)!.f1)}), link F1 ${f4(linkWithout.at(-1)!.f1)}`,
    )
  }
  const speed = await speedRun(SYNTHETIC_RECORDS)
  console.log(
    `synthetic ${speed.records} records: ${s2(speed.seconds.total)} end to end (${s2(speed.seconds.cpu)} CPU), F1 ${f4(speed.f1)}`,
  )
  const cpu = cpus()
  const machine = {
    cpuModel: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    // The machine is shared: a load above the core count slows every timing here.
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  }
  const settings =
    'default settings: fields detected from column names, default blocking rules, EM without labels, threshold 0.9'
  const json = {
    settings,
    machine,
    dedupe: { withoutSocSecId: dedupeWithout, withSocSecId: dedupeWith },
    link: { withoutSocSecId: linkWithout, withSocSecId: linkWith },
    baseline: BASELINE,
    speed,
  }
  mkdirSync(resultsDir, { recursive: true })
  writeFileSync(path.join(resultsDir, 'matching.json'), JSON.stringify(json, null, 2) + '\n')
  const md = `## Matching: accuracy and speed

Measured by \`npm run bench:matching\` on ${machine.cpuModel} (${machine.cores} cores), Node ${machine.node}, ${machine.date.slice(0, 10)}; 1-minute load average at the end of the run ${machine.loadAverage1m} (the machine is shared, so times are upper bounds).
Kindred runs with its ${settings}. Precision, recall and F1 are over record pairs: for \`dedupe\`, all pairs inside the output clusters; for \`link\`, the pairs written (probability ≥ 0.9). Times include reading the CSV.

### Dedupe, without \`soc_sec_id\` (the realistic case), side by side with the README's baseline

${dedupeTable(dedupeWithout, true)}

### Dedupe, with \`soc_sec_id\`

${dedupeTable(dedupeWith, false)}

### Link: originals (left) against duplicates (right) of each file

Without \`soc_sec_id\`:

${linkTable(linkWithout)}

With \`soc_sec_id\`:

${linkTable(linkWith)}

### Speed: ${speed.records.toLocaleString('en')} synthetic records, deduplicated end to end

A seeded FEBRL-like file (70% originals from the FEBRL vocabulary, 30% duplicates with 1–3 typos, missing values, swaps and OCR errors each), run through \`runDedupe\` (read CSV, match, write clusters).

| records | candidate pairs | clusters | read | match | write | total (wall) | CPU time | peak RSS | precision | recall | F1 |
|---|---|---|---|---|---|---|---|---|---|---|---|
| ${speed.records.toLocaleString('en')} | ${speed.candidatePairs.toLocaleString('en')} | ${speed.clusters.toLocaleString('en')} | ${s2(speed.seconds.read)} | ${s2(speed.seconds.match)} | ${s2(speed.seconds.write)} | **${s2(speed.seconds.total)}** | ${s2(speed.seconds.cpu)} | ${speed.peakRssMb} MB | ${f4(speed.precision)} | ${f4(speed.recall)} | ${f4(speed.f1)} |
`
  writeFileSync(path.join(resultsDir, 'matching.md'), md)
  console.log(`wrote ${path.relative(repoRoot, resultsDir)}/matching.{json,md}`)
}

await main()
