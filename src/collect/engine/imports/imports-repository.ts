/**
 * The `imports` table (migrations 0300, 0312): one record per import, its checkpoint and counters.
 * Every change of a running import is conditional on it still being `running`, so a cancel (from
 * any node) wins over a run that finishes or checkpoints at the same moment.
 */
import type { Queryable } from '../../../platform/store/db.js'
import type { FieldIssue } from '../../../protocol/errors.js'
import type { ImportFormat, ImportKind, ImportMapping } from '../../core/import-mapping.js'

export type ImportStatus = 'awaiting_upload' | 'running' | 'completed' | 'failed' | 'cancelled'

/** Statuses an import never leaves. */
export const finishedStatuses: ReadonlySet<ImportStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
])

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
  /** Resumes on start since the import last stopped cleanly (see `beginResume`). */
  resumeAttempts: number
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
  resume_attempts: string | number
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
  resumeAttempts: Number(r.resume_attempts),
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
       WHERE workspace_id = $1 AND id = $2 AND status = 'awaiting_upload' RETURNING *`,
      [workspaceId, id, f.importKey, f.fileHash, f.fileSize, f.rejectsPath, f.now.toISOString()],
    )
    const row = res.rows[0]
    return row ? toRecord(row) : undefined
  },
  /**
   * Runs a failed or cancelled import again (the CLI re-run of the same file): someone asked for
   * it, so the resume count starts over.
   */
  async reopen(
    db: Queryable,
    workspaceId: string,
    id: string,
    now: Date,
  ): Promise<ImportRecord | undefined> {
    const res = await db.query<Row>(
      `UPDATE imports SET status = 'running', error = NULL, finished_at = NULL, resume_attempts = 0,
         updated_at = $3
       WHERE workspace_id = $1 AND id = $2 AND status IN ('running', 'failed', 'cancelled')
       RETURNING *`,
      [workspaceId, id, now.toISOString()],
    )
    const row = res.rows[0]
    return row ? toRecord(row) : undefined
  },
  /** True when the import is still `running` (not cancelled or finished meanwhile). */
  async isRunning(db: Queryable, workspaceId: string, id: string): Promise<boolean> {
    const res = await db.query(
      `SELECT 1 FROM imports WHERE workspace_id = $1 AND id = $2 AND status = 'running'`,
      [workspaceId, id],
    )
    return res.rows.length > 0
  },
  /**
   * Counts one more resume on start, or parks the import when it has had `maxAttempts` already:
   * an import that takes the process down must not do it again on every start.
   */
  async beginResume(
    db: Queryable,
    workspaceId: string,
    id: string,
    maxAttempts: number,
    now: Date,
  ): Promise<{ resumed: true; record: ImportRecord } | { resumed: false; reason: string | null }> {
    const res = await db.query<Row>(
      `UPDATE imports SET resume_attempts = resume_attempts + 1, updated_at = $4
       WHERE workspace_id = $1 AND id = $2 AND status = 'running' AND resume_attempts < $3
       RETURNING *`,
      [workspaceId, id, maxAttempts, now.toISOString()],
    )
    const row = res.rows[0]
    if (row) return { resumed: true, record: toRecord(row) }
    const reason =
      `parked: the import was interrupted ${maxAttempts} times while resuming, so it is not ` +
      'resumed again; fix the cause and import the file again'
    const parked = await db.query(
      `UPDATE imports SET status = 'failed', error = $3, finished_at = $4, updated_at = $4
       WHERE workspace_id = $1 AND id = $2 AND status = 'running'`,
      [workspaceId, id, reason, now.toISOString()],
    )
    return { resumed: false, reason: parked.rowCount > 0 ? reason : null }
  },
  /** The run stopped cleanly at a checkpoint (server stop): that interruption was not its fault. */
  async clearResumeAttempts(db: Queryable, workspaceId: string, id: string): Promise<void> {
    await db.query(
      `UPDATE imports SET resume_attempts = 0 WHERE workspace_id = $1 AND id = $2 AND status = 'running'`,
      [workspaceId, id],
    )
  },
  /** Cancels an import that has not finished; undefined when there is none to cancel. */
  async cancel(
    db: Queryable,
    workspaceId: string,
    id: string,
    now: Date,
  ): Promise<ImportRecord | undefined> {
    const res = await db.query<Row>(
      `UPDATE imports SET status = 'cancelled', error = 'cancelled', finished_at = $3, updated_at = $3
       WHERE workspace_id = $1 AND id = $2 AND status IN ('awaiting_upload', 'running')
       RETURNING *`,
      [workspaceId, id, now.toISOString()],
    )
    const row = res.rows[0]
    return row ? toRecord(row) : undefined
  },
  async checkpoint(
    db: Queryable,
    workspaceId: string,
    id: string,
    c: Checkpoint,
    now: Date,
  ): Promise<boolean> {
    const res = await db.query(
      `UPDATE imports SET rows_read = $3, rows_accepted = $4, rows_rejected = $5, bytes_read = $6,
         checkpoint_row = $7, rejects_bytes = $8, errors = $9, updated_at = $10
       WHERE workspace_id = $1 AND id = $2 AND status = 'running'`,
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
    // False: cancelled meanwhile (maybe on another node), so the run must stop.
    return res.rowCount > 0
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
       WHERE workspace_id = $1 AND id = $2 AND status = 'running'`,
      [workspaceId, id, status, error, now.toISOString()],
    )
  },
}
