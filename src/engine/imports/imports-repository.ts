/** The `imports` table (migration 0300): one record per import, its checkpoint and counters. */
import type { Queryable } from '../../store/db.js'
import type { FieldIssue } from '../../protocol/errors.js'
import type { ImportFormat, ImportKind, ImportMapping } from './mapping.js'

export type ImportStatus = 'awaiting_upload' | 'running' | 'completed' | 'failed'

export interface RejectSample {
  row: number
  errors: FieldIssue[]
}

export interface ImportRecord {
  workspaceId: string
  id: string
  sourceId: string
  kind: ImportKind
  format: ImportFormat
  mapping: ImportMapping
  importKey: string | null
  fileName: string | null
  fileHash: string | null
  fileSize: number | null
  rejectsPath: string | null
  status: ImportStatus
  importTime: string
  rowsRead: number
  rowsAccepted: number
  rowsRejected: number
  bytesRead: number
  checkpointRow: number
  rejectsBytes: number
  errors: RejectSample[]
  error: string | null
  createdAt: string
  updatedAt: string
  finishedAt: string | null
}

interface Row {
  workspace_id: string
  id: string
  source_id: string
  kind: ImportKind
  format: ImportFormat
  mapping: ImportMapping
  import_key: string | null
  file_name: string | null
  file_hash: string | null
  file_size: string | number | null
  rejects_path: string | null
  status: ImportStatus
  import_time: Date | string
  rows_read: string | number
  rows_accepted: string | number
  rows_rejected: string | number
  bytes_read: string | number
  checkpoint_row: string | number
  rejects_bytes: string | number
  errors: RejectSample[]
  error: string | null
  created_at: Date | string
  updated_at: Date | string
  finished_at: Date | string | null
}

const iso = (d: Date | string) => new Date(d).toISOString()

const toRecord = (r: Row): ImportRecord => ({
  workspaceId: r.workspace_id,
  id: r.id,
  sourceId: r.source_id,
  kind: r.kind,
  format: r.format,
  mapping: r.mapping,
  importKey: r.import_key,
  fileName: r.file_name,
  fileHash: r.file_hash,
  fileSize: r.file_size === null ? null : Number(r.file_size),
  rejectsPath: r.rejects_path,
  status: r.status,
  importTime: iso(r.import_time),
  rowsRead: Number(r.rows_read),
  rowsAccepted: Number(r.rows_accepted),
  rowsRejected: Number(r.rows_rejected),
  bytesRead: Number(r.bytes_read),
  checkpointRow: Number(r.checkpoint_row),
  rejectsBytes: Number(r.rejects_bytes),
  errors: r.errors,
  error: r.error,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
  finishedAt: r.finished_at === null ? null : iso(r.finished_at),
})

export interface Checkpoint {
  rowsRead: number
  rowsAccepted: number
  rowsRejected: number
  bytesRead: number
  checkpointRow: number
  rejectsBytes: number
  errors: RejectSample[]
}

export const importsRepository = {
  async insert(
    db: Queryable,
    r: {
      workspaceId: string
      id: string
      sourceId: string
      kind: ImportKind
      format: ImportFormat
      mapping: ImportMapping
      importKey: string | null
      fileName: string | null
      fileHash: string | null
      fileSize: number | null
      rejectsPath: string | null
      status: ImportStatus
      now: Date
    },
  ): Promise<ImportRecord> {
    const res = await db.query<Row>(
      `INSERT INTO imports (workspace_id, id, source_id, kind, format, mapping, import_key,
         file_name, file_hash, file_size, rejects_path, status, import_time, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13) RETURNING *`,
      [
        r.workspaceId,
        r.id,
        r.sourceId,
        r.kind,
        r.format,
        JSON.stringify(r.mapping),
        r.importKey,
        r.fileName,
        r.fileHash,
        r.fileSize,
        r.rejectsPath,
        r.status,
        r.now.toISOString(),
      ],
    )
    return toRecord(res.rows[0] as Row)
  },
  async get(db: Queryable, workspaceId: string, id: string): Promise<ImportRecord | undefined> {
    const res = await db.query<Row>('SELECT * FROM imports WHERE workspace_id = $1 AND id = $2', [
      workspaceId,
      id,
    ])
    const row = res.rows[0]
    return row ? toRecord(row) : undefined
  },
  /** The latest import of the same file, source and mapping. */
  async findByKey(
    db: Queryable,
    workspaceId: string,
    importKey: string,
  ): Promise<ImportRecord | undefined> {
    const res = await db.query<Row>(
      `SELECT * FROM imports WHERE workspace_id = $1 AND import_key = $2
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [workspaceId, importKey],
    )
    const row = res.rows[0]
    return row ? toRecord(row) : undefined
  },
  async list(db: Queryable, workspaceId: string, limit = 100): Promise<ImportRecord[]> {
    const res = await db.query<Row>(
      `SELECT * FROM imports WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
      [workspaceId, limit],
    )
    return res.rows.map(toRecord)
  },
  /** Imports left running (a crash or a stop mid-import), every workspace. */
  async listRunning(db: Queryable): Promise<ImportRecord[]> {
    const res = await db.query<Row>(
      `SELECT * FROM imports WHERE status = 'running' ORDER BY created_at, id`,
    )
    return res.rows.map(toRecord)
  },
  /** Attaches the uploaded file (two-step API) and marks the import running. */
  async attachFile(
    db: Queryable,
    workspaceId: string,
    id: string,
    f: {
      importKey: string
      fileHash: string
      fileSize: number
      rejectsPath: string
      now: Date
    },
  ): Promise<ImportRecord | undefined> {
    const res = await db.query<Row>(
      `UPDATE imports SET import_key = $3, file_hash = $4, file_size = $5, rejects_path = $6,
         status = 'running', updated_at = $7
       WHERE workspace_id = $1 AND id = $2 RETURNING *`,
      [workspaceId, id, f.importKey, f.fileHash, f.fileSize, f.rejectsPath, f.now.toISOString()],
    )
    const row = res.rows[0]
    return row ? toRecord(row) : undefined
  },
  async markRunning(db: Queryable, workspaceId: string, id: string, now: Date): Promise<void> {
    await db.query(
      `UPDATE imports SET status = 'running', error = NULL, finished_at = NULL, updated_at = $3
       WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, now.toISOString()],
    )
  },
  async checkpoint(
    db: Queryable,
    workspaceId: string,
    id: string,
    c: Checkpoint,
    now: Date,
  ): Promise<void> {
    await db.query(
      `UPDATE imports SET rows_read = $3, rows_accepted = $4, rows_rejected = $5, bytes_read = $6,
         checkpoint_row = $7, rejects_bytes = $8, errors = $9, updated_at = $10
       WHERE workspace_id = $1 AND id = $2`,
      [
        workspaceId,
        id,
        c.rowsRead,
        c.rowsAccepted,
        c.rowsRejected,
        c.bytesRead,
        c.checkpointRow,
        c.rejectsBytes,
        JSON.stringify(c.errors),
        now.toISOString(),
      ],
    )
  },
  async finish(
    db: Queryable,
    workspaceId: string,
    id: string,
    status: 'completed' | 'failed',
    error: string | null,
    now: Date,
  ): Promise<void> {
    await db.query(
      `UPDATE imports SET status = $3, error = $4, finished_at = $5, updated_at = $5
       WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id, status, error, now.toISOString()],
    )
  },
}
