/**
 * The console's import preview: the first rows of a file sample, mapped and checked exactly as an
 * import with the same mapping would (the runner's own row check), with a suggested mapping when
 * none is given. Nothing is stored: the sample comes in the request and is forgotten.
 * @module
 */
import { Readable } from 'node:stream'
import { KindredError } from '../../../protocol/errors.js'
import type { FieldIssue } from '../../../protocol/errors.js'
import type { KindredEvent } from '../../../protocol/event-schema.js'
import type { Db } from '../../../platform/store/db.js'
import {
  extractIdentifiers,
  normalizeTraits,
  type CompiledIdentityRules,
  type Identifier,
} from '../../../unify/core/index.js'
import {
  createRowMapper,
  importMappingSchema,
  type ImportFormat,
  type ImportKind,
  type ImportMapping,
} from '../../core/import-mapping.js'
import { describeImportMapping, type MappingDescription } from '../../core/import-identity.js'
import { suggestImportMapping, type SuggestedColumn } from '../../core/import-suggest.js'
import { rowEventChecker } from './row-events.js'
import { readRows } from './row-reader.js'

/** Rows shown; the rest of the sample is only counted. */
export const PREVIEW_ROWS = 20

/** What an accepted row gives the profile: its identifiers and traits after normalisation. */
export interface PreviewStored {
  identifiers: Identifier[]
  traits: Record<string, unknown>
}

export type PreviewRow =
  | { row: number; values: unknown; ok: true; event: KindredEvent; stored: PreviewStored }
  | { row: number; values: unknown; ok: false; issues: FieldIssue[] }

export interface ImportPreview {
  /** Column names in file order (a CSV's header; the keys JSONL rows have, first seen first). */
  columns: string[]
  suggested: SuggestedColumn[]
  /** The mapping the rows were checked with: the one given, else the suggestion. */
  mapping: ImportMapping
  mappingDescription: MappingDescription
  rows: PreviewRow[]
  /** Over every complete row of the sample, not only those shown. */
  summary: { rows: number; accepted: number; rejected: number }
}

/** The sample up to its last complete line, unless it is the whole file. */
function completeLines(sample: string, complete: boolean): string {
  if (complete) return sample
  const end = sample.lastIndexOf('\n')
  return end < 0 ? '' : sample.slice(0, end + 1)
}

/** The identity stage's own extraction and the golden record's own trait rules, on one event. */
function stored(event: KindredEvent, rules: CompiledIdentityRules): PreviewStored {
  const bag = event.type === 'identify' ? event.traits : event.context?.traits
  return {
    identifiers: extractIdentifiers(event, rules).identifiers,
    traits: bag ? normalizeTraits(bag as Record<string, unknown>, rules.normalization) : {},
  }
}

export async function previewImport(o: {
  db: Db
  source: { workspaceId: string; id: string }
  rules: CompiledIdentityRules
  kind: ImportKind
  format: ImportFormat
  sample: string
  complete: boolean
  mapping?: ImportMapping | undefined
  now: Date
}): Promise<ImportPreview> {
  const text = completeLines(o.sample, o.complete)
  const read: Array<{
    row: number
    values?: Record<string, unknown>
    raw?: unknown
    error?: string
  }> = []
  const columns: string[] = []
  const seen = new Set<string>()
  try {
    for await (const r of readRows(Readable.from([text]), { format: o.format })) {
      if ('values' in r) {
        for (const k of Object.keys(r.values)) {
          if (!seen.has(k)) {
            seen.add(k)
            columns.push(k)
          }
        }
        read.push({ row: r.row, values: r.values })
      } else read.push({ row: r.row, raw: r.raw, error: r.error })
    }
  } catch (err) {
    // A sample the CSV parser cannot read (an unclosed quote, often a multi-line cell cut by the
    // sample's end): the caller's file, not the server, is what needs fixing.
    throw new KindredError(
      'VALIDATION_FAILED',
      `the file's first rows cannot be read as ${o.format.toUpperCase()}: ${(err as Error).message}`,
      { details: [{ path: 'sample', code: 'unreadable', message: (err as Error).message }] },
    )
  }

  const samples = read.flatMap((r) => (r.values ? [r.values] : []))
  const suggested = suggestImportMapping(columns, samples.slice(0, 50), o.kind)
  const mapping =
    o.mapping ??
    importMappingSchema.parse({
      columns: Object.fromEntries(
        suggested.filter((s) => s.reason !== 'default').map((s) => [s.column, s.to]),
      ),
    })
  // The mapper and the row check an import of this file runs (shared with database syncs).
  const mapper = createRowMapper(mapping, { kind: o.kind, defaultTimestamp: o.now.toISOString() })
  const checker = await rowEventChecker(o.db, o.source.workspaceId, o.source.id, o.now)
  const check = (values: Record<string, unknown>, messageId: string) => {
    const mapped = mapper(values)
    return mapped.ok ? checker.check(mapped.event, messageId) : mapped
  }
  const rows: PreviewRow[] = []
  let accepted = 0
  for (const r of read) {
    const checked: { ok: true; event: KindredEvent } | { ok: false; issues: FieldIssue[] } =
      r.values === undefined
        ? { ok: false, issues: [{ path: '', code: 'unreadable_row', message: r.error ?? '' }] }
        : check(r.values, `preview-${r.row}`)
    if (checked.ok) accepted++
    if (rows.length >= PREVIEW_ROWS) continue
    const values = r.values ?? r.raw
    if (!checked.ok) rows.push({ row: r.row, values, ...checked })
    else rows.push({ row: r.row, values, ...checked, stored: stored(checked.event, o.rules) })
  }
  return {
    columns,
    suggested,
    mapping,
    mappingDescription: describeImportMapping(mapping, o.kind, o.rules),
    rows,
    summary: { rows: read.length, accepted, rejected: read.length - accepted },
  }
}
