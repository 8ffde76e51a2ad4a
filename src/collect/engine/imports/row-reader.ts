/**
 * Streams the rows of a CSV or JSONL file, one at a time, with the byte position for progress.
 * Memory stays flat whatever the file size: a row is parsed, handed on and forgotten.
 * @module
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import type { ImportFormat } from '../../core/import-mapping.js'

export type FileRow =
  | { row: number; values: Record<string, unknown> }
  /** A row that could not be read as a record (bad JSON, wrong column count). */
  | { row: number; raw: unknown; error: string }

export interface ReadRowsOptions {
  format: ImportFormat
  /** Rows up to this number are skipped (resume): read, not parsed when avoidable. */
  afterRow?: number
  /** Called with the number of bytes read from the file so far. */
  onBytes?: (bytes: number) => void
}

/**
 * Row numbers: JSONL, the line number (1-based; blank lines are skipped but counted); CSV, the
 * record number after the header (1-based). They are stable for a given file, which is what
 * the deterministic messageIds need.
 */
export async function* readRows(
  file: string | Readable,
  options: ReadRowsOptions,
): AsyncGenerator<FileRow> {
  const afterRow = options.afterRow ?? 0
  // A path is the uploaded file; a stream is a sample of one (the console's preview).
  const input =
    typeof file === 'string' ? createReadStream(file, { highWaterMark: 256 * 1024 }) : file
  let bytes = 0
  input.on('data', (chunk: Buffer | string) => {
    bytes += chunk.length
    options.onBytes?.(bytes)
  })
  try {
    if (options.format === 'jsonl') {
      const lines = createInterface({ input, crlfDelay: Infinity })
      let row = 0
      for await (const line of lines) {
        row++
        if (row <= afterRow) continue
        const text = line.trim()
        if (text === '') continue
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch (err) {
          yield { row, raw: line, error: `invalid JSON: ${(err as Error).message}` }
          continue
        }
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          yield { row, raw: value, error: 'each line must be a JSON object' }
          continue
        }
        yield { row, values: value as Record<string, unknown> }
      }
      return
    }
    const parser = input.pipe(
      parse({ bom: true, relax_column_count: true, skip_empty_lines: true, relax_quotes: false }),
    )
    let header: string[] | undefined
    let row = 0
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === undefined) {
        header = record.map((h) => h.trim())
        continue
      }
      row++
      if (row <= afterRow) continue
      if (record.length !== header.length) {
        yield {
          row,
          raw: record,
          error: `has ${record.length} fields; the header has ${header.length}`,
        }
        continue
      }
      // No prototype: a header named "__proto__" is then an ordinary (reported) column instead of
      // replacing the row's prototype and vanishing.
      const values = Object.create(null) as Record<string, unknown>
      for (let i = 0; i < header.length; i++) values[header[i] as string] = record[i]
      yield { row, values }
    }
  } finally {
    input.destroy()
  }
}
