// The subset of parquetjs-lite (which ships no types) that the file executor and its tests use.
declare module 'parquetjs-lite' {
  export interface ParquetField {
    type: string
    optional?: boolean
  }
  export class ParquetSchema {
    constructor(fields: Record<string, ParquetField>)
  }
  export class ParquetWriter {
    static openFile(
      schema: ParquetSchema,
      path: string,
      opts?: Record<string, unknown>,
    ): Promise<ParquetWriter>
    appendRow(row: Record<string, unknown>): Promise<void>
    close(): Promise<void>
  }
  export interface ParquetCursor {
    next(): Promise<Record<string, unknown> | null>
  }
  export class ParquetReader {
    static openFile(path: string): Promise<ParquetReader>
    getCursor(columns?: string[]): ParquetCursor
    getRowCount(): number | bigint
    close(): Promise<void>
  }
  const parquet: {
    ParquetSchema: typeof ParquetSchema
    ParquetWriter: typeof ParquetWriter
    ParquetReader: typeof ParquetReader
  }
  export default parquet
}
