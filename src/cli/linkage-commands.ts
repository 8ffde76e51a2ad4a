/**
 * The I/O side of `kindred dedupe` and `kindred link`: flag parsing, CSV in (streamed with
 * csv-parse, values trimmed, empty = missing), the pure linkage engine, CSV out (streamed with
 * csv-stringify).
 *
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { parse } from 'csv-parse'
import { stringify } from 'csv-stringify'
import { z } from 'zod'
import { DomainError } from '../protocol/errors.js'
import {
  dedupeRecords,
  linkRecords,
  LinkageError,
  type LinkageRecord,
} from '../unify/core/identity/linkage/index.js'
import { modelConfigSchema, type ModelConfig } from '../unify/core/identity/linkage/model-config.js'

export type LinkageCliErrorCode =
  | 'LINKAGE_BAD_FLAGS'
  | 'LINKAGE_BAD_CONFIG'
  | 'LINKAGE_UNKNOWN_ID_COLUMN'
  | 'LINKAGE_EMPTY_INPUT'
  | 'LINKAGE_INPUT_UNREADABLE'

/** A CLI-level failure with a stable code and a message telling the user what to fix. */
export class LinkageCliError extends DomainError<LinkageCliErrorCode | LinkageError['code']> {
  constructor(code: LinkageCliErrorCode | LinkageError['code'], message: string) {
    super('invalid_input', code, message)
  }
}

export interface DedupeCommandOptions {
  readonly input: string
  readonly idColumn: string
  readonly config?: string
  readonly out: string
  readonly threshold?: number
}

export interface LinkCommandOptions {
  readonly left: string
  readonly right: string
  readonly idColumn: string
  readonly config?: string
  readonly out: string
  readonly threshold?: number
}

export type ParsedLinkageArgs =
  | { readonly ok: true; readonly command: 'dedupe'; readonly options: DedupeCommandOptions }
  | { readonly ok: true; readonly command: 'link'; readonly options: LinkCommandOptions }
  | {
      readonly ok: false
      readonly error: { readonly code: 'LINKAGE_BAD_FLAGS'; readonly message: string }
    }

export const DEDUPE_USAGE =
  'Usage: kindred dedupe --input people.csv --id-column rec_id [--config model.json] --out clusters.csv [--threshold 0.9]'
export const LINK_USAGE =
  'Usage: kindred link --left a.csv --right b.csv --id-column rec_id [--config model.json] --out pairs.csv [--threshold 0.9]'

const FLAGS = {
  dedupe: ['input', 'id-column', 'config', 'out', 'threshold'],
  link: ['left', 'right', 'id-column', 'config', 'out', 'threshold'],
} as const
const REQUIRED = {
  dedupe: ['input', 'id-column', 'out'],
  link: ['left', 'right', 'id-column', 'out'],
} as const

/**
 * Validates the flags of `kindred dedupe` or `kindred link`.
 * @example parseLinkageArgs('link', ['--left', 'a.csv', '--right', 'b.csv', '--id-column', 'id', '--out', 'p.csv'])
 */
export function parseLinkageArgs(
  command: 'dedupe' | 'link',
  argv: readonly string[],
): ParsedLinkageArgs {
  const usage = command === 'dedupe' ? DEDUPE_USAGE : LINK_USAGE
  const fail = (message: string): ParsedLinkageArgs => ({
    ok: false,
    error: { code: 'LINKAGE_BAD_FLAGS', message: `${message}\n${usage}` },
  })
  const allowed: readonly string[] = FLAGS[command]
  let values: Record<string, string | undefined>
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(allowed.map((name) => [name, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    })
    values = parsed.values as Record<string, string | undefined>
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const unknown = /Unknown option '([^']+)'/.exec(message)
    if (unknown) {
      return fail(
        `Unknown flag ${unknown[1]} for "kindred ${command}"; allowed: ${allowed.map((f) => `--${f}`).join(', ')}.`,
      )
    }
    const positional = /Unexpected argument '([^']+)'/.exec(message)
    if (positional) {
      return fail(`Unexpected argument "${positional[1]}": every value must follow its --flag.`)
    }
    return fail(`Bad flags for "kindred ${command}": ${message}`)
  }
  for (const name of REQUIRED[command]) {
    if (values[name] === undefined || values[name] === '') {
      return fail(`Missing required flag --${name} for "kindred ${command}".`)
    }
  }
  let threshold: number | undefined
  if (values.threshold !== undefined) {
    threshold = Number(values.threshold)
    if (
      values.threshold.trim() === '' ||
      !Number.isFinite(threshold) ||
      threshold < 0 ||
      threshold > 1
    ) {
      return fail(`--threshold must be a probability between 0 and 1, got "${values.threshold}".`)
    }
  }
  const common = {
    idColumn: values['id-column']!,
    out: values.out!,
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
  }
  if (command === 'dedupe') {
    return { ok: true, command, options: { input: values.input!, ...common } }
  }
  return { ok: true, command, options: { left: values.left!, right: values.right!, ...common } }
}

/** Reads a model config file and validates it against the `model.json` schema. */
export async function readModelConfig(path: string): Promise<ModelConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new LinkageCliError(
      'LINKAGE_BAD_CONFIG',
      `Cannot read the config file ${path} (${(err as Error).message}); check --config.`,
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new LinkageCliError(
      'LINKAGE_BAD_CONFIG',
      `The config file ${path} is not valid JSON (${(err as Error).message}).`,
    )
  }
  const result = modelConfigSchema.safeParse(json)
  if (!result.success) {
    throw new LinkageCliError(
      'LINKAGE_BAD_CONFIG',
      `The config file ${path} is not a valid linkage model:\n${z.prettifyError(result.error)}`,
    )
  }
  return result.data
}

interface CsvTable {
  readonly columns: string[]
  readonly records: Record<string, string>[]
}

/** Streams a CSV file into memory (the engine needs every record), trimming every value. */
export async function readCsv(path: string): Promise<CsvTable> {
  let columns: string[] = []
  const records: Record<string, string>[] = []
  const input = createReadStream(path)
  const parser = input.pipe(
    parse({
      columns: (header: string[]) => {
        columns = header.map((h) => h.trim())
        return columns
      },
      trim: true,
      skip_empty_lines: true,
      bom: true,
    }),
  )
  // pipe() does not forward source errors: a missing file would leave the loop waiting forever.
  input.on('error', (err) => parser.destroy(err))
  try {
    for await (const record of parser as AsyncIterable<Record<string, string>>) records.push(record)
  } catch (err) {
    const code = (err as { code?: string }).code
    throw new LinkageCliError(
      'LINKAGE_INPUT_UNREADABLE',
      code === 'ENOENT'
        ? `Input file ${path} does not exist; check the path.`
        : `Cannot read ${path} as CSV (${(err as Error).message}).`,
    )
  }
  return { columns, records }
}

function checkIdColumn(table: CsvTable, idColumn: string, path: string): void {
  if (table.columns.length === 0) {
    throw new LinkageCliError('LINKAGE_EMPTY_INPUT', `${path} has no header row; add one.`)
  }
  if (!table.columns.includes(idColumn)) {
    throw new LinkageCliError(
      'LINKAGE_UNKNOWN_ID_COLUMN',
      `Id column "${idColumn}" is not in ${path} (columns: ${table.columns.join(', ')}); fix --id-column.`,
    )
  }
}

async function writeCsv(path: string, header: string[], rows: Iterable<unknown[]>): Promise<void> {
  const out = createWriteStream(path)
  const csv = stringify({ header: true, columns: header })
  csv.pipe(out)
  for (const row of rows) {
    if (!csv.write(row)) await once(csv, 'drain')
  }
  csv.end()
  await once(out, 'finish')
}

function wrapEngineError(err: unknown): never {
  if (err instanceof LinkageError) throw new LinkageCliError(err.code, err.message)
  throw err
}

export interface DedupeSummary {
  readonly records: number
  readonly clusters: number
  /** Records that share their cluster with at least one other record. */
  readonly duplicateRecords: number
  readonly candidatePairs: number
  readonly matchedPairs: number
  readonly threshold: number
  readonly seconds: { readonly read: number; readonly match: number; readonly write: number }
}

/**
 * `kindred dedupe`: writes every input row, in input order, with a `cluster_id` column (the id
 * of the cluster's first record).
 */
export async function runDedupe(options: DedupeCommandOptions): Promise<DedupeSummary> {
  const t0 = performance.now()
  const config = options.config ? await readModelConfig(options.config) : undefined
  const table = await readCsv(options.input)
  checkIdColumn(table, options.idColumn, options.input)
  const t1 = performance.now()
  let result: ReturnType<typeof dedupeRecords>
  try {
    result = dedupeRecords(table.records as LinkageRecord[], {
      idColumn: options.idColumn,
      columns: table.columns,
      ...(config ? { config } : {}),
      ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    })
  } catch (err) {
    wrapEngineError(err)
  }
  const t2 = performance.now()
  const header = table.columns.includes('cluster_id')
    ? table.columns
    : [...table.columns, 'cluster_id']
  const id = options.idColumn
  const records = table.records
  const clusters = result.clusters
  const sizes = new Int32Array(records.length)
  for (let i = 0; i < clusters.length; i++) sizes[clusters[i]!]!++
  let duplicateRecords = 0
  for (let i = 0; i < clusters.length; i++) if (sizes[clusters[i]!]! > 1) duplicateRecords++
  function* rows(): Generator<unknown[]> {
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!
      const clusterId = records[clusters[i]!]![id]
      yield header.map((c) => (c === 'cluster_id' ? clusterId : r[c]))
    }
  }
  await writeCsv(options.out, header, rows())
  const t3 = performance.now()
  let matchedPairs = 0
  for (let p = 0; p < result.pairs.count; p++) {
    if (result.probabilities[p]! >= result.threshold) matchedPairs++
  }
  return {
    records: records.length,
    clusters: result.clusterCount,
    duplicateRecords,
    candidatePairs: result.pairs.count,
    matchedPairs,
    threshold: result.threshold,
    seconds: { read: (t1 - t0) / 1000, match: (t2 - t1) / 1000, write: (t3 - t2) / 1000 },
  }
}

export interface LinkSummary {
  readonly leftRecords: number
  readonly rightRecords: number
  readonly candidatePairs: number
  readonly matchedPairs: number
  readonly threshold: number
  readonly seconds: { readonly read: number; readonly match: number; readonly write: number }
}

/**
 * `kindred link`: writes `left_id,right_id,match_probability` for every candidate pair at or
 * above the threshold (default 0.9), most probable first.
 */
export async function runLink(options: LinkCommandOptions): Promise<LinkSummary> {
  const t0 = performance.now()
  const config = options.config ? await readModelConfig(options.config) : undefined
  const left = await readCsv(options.left)
  const right = await readCsv(options.right)
  checkIdColumn(left, options.idColumn, options.left)
  checkIdColumn(right, options.idColumn, options.right)
  const t1 = performance.now()
  const columns = left.columns.filter((c) => right.columns.includes(c))
  let result: ReturnType<typeof linkRecords>
  try {
    result = linkRecords(left.records as LinkageRecord[], right.records as LinkageRecord[], {
      idColumn: options.idColumn,
      columns,
      ...(config ? { config } : {}),
      threshold: options.threshold ?? config?.threshold ?? 0.9,
    })
  } catch (err) {
    wrapEngineError(err)
  }
  const t2 = performance.now()
  const selected: number[] = []
  for (let p = 0; p < result.pairs.count; p++) {
    if (result.probabilities[p]! >= result.threshold) selected.push(p)
  }
  selected.sort((a, b) => result.probabilities[b]! - result.probabilities[a]!)
  const id = options.idColumn
  function* rows(): Generator<unknown[]> {
    for (const p of selected) {
      yield [
        left.records[result.pairs.left[p]!]![id],
        right.records[result.pairs.right[p]!]![id],
        // Rounded down to 6 decimals, so a written value never exceeds the real probability.
        Math.floor(result.probabilities[p]! * 1e6) / 1e6,
      ]
    }
  }
  await writeCsv(options.out, ['left_id', 'right_id', 'match_probability'], rows())
  const t3 = performance.now()
  return {
    leftRecords: left.records.length,
    rightRecords: right.records.length,
    candidatePairs: result.pairs.count,
    matchedPairs: selected.length,
    threshold: result.threshold,
    seconds: { read: (t1 - t0) / 1000, match: (t2 - t1) / 1000, write: (t3 - t2) / 1000 },
  }
}
