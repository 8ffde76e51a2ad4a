/**
 * @module platform/lake/delta-protocol
 * The parts of the Delta Lake transaction protocol (delta-io/delta PROTOCOL.md) the lake uses,
 * without I/O: the actions and their JSON, log file names, action reconciliation (how a snapshot
 * follows from the log), the schema as Delta's `schemaString`, per-file statistics and how data
 * file paths are encoded. Protocol 1/2: no table features, so every Delta reader (Spark,
 * delta-rs, DuckDB's delta extension, Trino) can read the tables.
 */

/** Reader 1 / writer 2: plain Parquet, partition values, stats, append-only and invariants. */
export const PROTOCOL = { minReaderVersion: 1, minWriterVersion: 2 } as const

export interface ProtocolAction {
  minReaderVersion: number
  minWriterVersion: number
}

export interface MetadataAction {
  id: string
  name?: string
  description?: string
  format: { provider: 'parquet'; options: Record<string, string> }
  schemaString: string
  partitionColumns: string[]
  createdTime?: number
  configuration: Record<string, string>
}

export interface AddAction {
  /** URI-encoded, relative to the table root. */
  path: string
  partitionValues: Record<string, string>
  size: number
  modificationTime: number
  dataChange: boolean
  /** JSON text: numRecords, minValues, maxValues, nullCount. */
  stats?: string
  tags?: Record<string, string>
}

export interface RemoveAction {
  path: string
  deletionTimestamp: number
  dataChange: boolean
  extendedFileMetadata?: boolean
  partitionValues?: Record<string, string>
  size?: number
  stats?: string
}

export interface TxnAction {
  appId: string
  version: number
  lastUpdated?: number
}

export type CommitInfo = Record<string, unknown>

export type Action =
  | { protocol: ProtocolAction }
  | { metaData: MetadataAction }
  | { add: AddAction }
  | { remove: RemoveAction }
  | { txn: TxnAction }
  | { commitInfo: CommitInfo }

/** A table at one version (PROTOCOL.md "Action Reconciliation"). */
export interface Snapshot {
  /** -1 before the first commit. */
  version: number
  protocol: ProtocolAction | undefined
  metadata: MetadataAction | undefined
  /** Live logical files by (URI-encoded) path; there are no deletion vectors here. */
  files: Map<string, AddAction>
  /** Removed files not yet vacuumed (tombstones, kept in checkpoints for VACUUM). */
  tombstones: Map<string, RemoveAction>
  txns: Map<string, TxnAction>
}

export function emptySnapshot(): Snapshot {
  return {
    version: -1,
    protocol: undefined,
    metadata: undefined,
    files: new Map(),
    tombstones: new Map(),
    txns: new Map(),
  }
}

/** Applies one commit's actions to `s` (in place): the newest reference to a file wins. */
export function applyActions(s: Snapshot, version: number, actions: readonly Action[]): void {
  for (const a of actions) {
    if ('protocol' in a) s.protocol = a.protocol
    else if ('metaData' in a) s.metadata = a.metaData
    else if ('txn' in a) s.txns.set(a.txn.appId, a.txn)
    else if ('add' in a) {
      s.files.set(a.add.path, a.add)
      s.tombstones.delete(a.add.path)
    } else if ('remove' in a) {
      s.files.delete(a.remove.path)
      s.tombstones.set(a.remove.path, a.remove)
    }
  }
  s.version = version
}

export function cloneSnapshot(s: Snapshot): Snapshot {
  return {
    ...s,
    files: new Map(s.files),
    tombstones: new Map(s.tombstones),
    txns: new Map(s.txns),
  }
}

/** `00000000000000000042`: versions are zero-padded to 20 digits. */
export function versionName(version: number): string {
  return String(version).padStart(20, '0')
}
export const commitFileName = (version: number) => `${versionName(version)}.json`
export const checkpointFileName = (version: number) => `${versionName(version)}.checkpoint.parquet`
export const LAST_CHECKPOINT = '_last_checkpoint'
export const COMMIT_FILE = /^(\d{20})\.json$/
export const CHECKPOINT_FILE = /^(\d{20})\.checkpoint\.parquet$/

/** A commit file: one action per line (newline-delimited JSON). */
export function encodeCommit(actions: readonly Action[]): string {
  return actions.map((a) => JSON.stringify(a)).join('\n') + '\n'
}

export function decodeCommit(text: string): Action[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Action)
}

// --- Schema ---------------------------------------------------------------------------------

export type DeltaPrimitive =
  | 'string'
  | 'long'
  | 'integer'
  | 'boolean'
  | 'double'
  | 'timestamp'
  | 'date'
  | `decimal(${number},${number})`

export type DeltaType =
  | DeltaPrimitive
  | { type: 'array'; elementType: DeltaType; containsNull: boolean }
  | { type: 'struct'; fields: DeltaField[] }

export interface DeltaField {
  name: string
  type: DeltaType
  nullable: boolean
  metadata: Record<string, unknown>
}

/** Delta's `schemaString`: Spark's JSON schema of a struct. */
export function schemaString(fields: readonly DeltaField[]): string {
  return JSON.stringify({ type: 'struct', fields })
}

export function parseSchema(text: string): DeltaField[] {
  const parsed = JSON.parse(text) as { type: string; fields: DeltaField[] }
  return parsed.fields
}

/**
 * Schema evolution is additive: the wanted schema must keep every existing column with its type
 * (new columns may follow). Returns the columns added, or why the change is not additive.
 */
export function additiveChange(
  current: readonly DeltaField[],
  wanted: readonly DeltaField[],
): { ok: true; added: DeltaField[] } | { ok: false; reason: string } {
  const byName = new Map(wanted.map((f) => [f.name.toLowerCase(), f]))
  for (const f of current) {
    const w = byName.get(f.name.toLowerCase())
    if (!w) return { ok: false, reason: `column ${f.name} would be dropped` }
    if (JSON.stringify(w.type) !== JSON.stringify(f.type)) {
      return {
        ok: false,
        reason: `column ${f.name} would change type from ${JSON.stringify(f.type)} to ${JSON.stringify(w.type)}`,
      }
    }
  }
  const have = new Set(current.map((f) => f.name.toLowerCase()))
  return { ok: true, added: wanted.filter((f) => !have.has(f.name.toLowerCase())) }
}

// --- Statistics -----------------------------------------------------------------------------

/**
 * A statistics value as it goes into the stats JSON: `raw` is written as is (a decimal's exact
 * digits or an integer, which a JS number could round), anything else as a JSON string.
 */
export type StatValue = { raw: string } | string

export interface FileStats {
  numRecords: number
  minValues: Record<string, StatValue>
  maxValues: Record<string, StatValue>
  nullCount: Record<string, number>
}

const statJson = (v: StatValue) => (typeof v === 'string' ? JSON.stringify(v) : v.raw)
const objectJson = <T>(o: Record<string, T>, value: (v: T) => string) =>
  `{${Object.entries(o)
    .map(([k, v]) => `${JSON.stringify(k)}:${value(v)}`)
    .join(',')}}`

/** The `stats` string of an add action (PROTOCOL.md "Per-file Statistics"). */
export function encodeStats(s: FileStats): string {
  return (
    `{"numRecords":${s.numRecords},"minValues":${objectJson(s.minValues, statJson)},` +
    `"maxValues":${objectJson(s.maxValues, statJson)},"nullCount":${objectJson(s.nullCount, String)}}`
  )
}

/** String statistics are cut to a prefix: a cut minimum is still a lower bound, a maximum is not. */
export const STRING_STATS_PREFIX = 32

// --- Paths ----------------------------------------------------------------------------------

/**
 * A partition directory name, `column=value`, with Hive's escaping of the value (anything but
 * letters, digits, `_`, `.` and `-` as `%XX`), so any value makes one path segment.
 */
export function partitionSegment(column: string, value: string): string {
  const escaped = [...Buffer.from(value, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b)
      return /[A-Za-z0-9_.-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
    })
    .join('')
  return `${column}=${escaped}`
}

/**
 * The `path` of an add or remove action: an RFC 2396 URI relative to the table root, so the
 * `%` of an escaped partition value is itself encoded (`%253A`), as Spark writes it.
 */
export function toActionPath(relative: string): string {
  return relative
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%3D/g, '='))
    .join('/')
}

/** The relative file path an action's `path` names. */
export function fromActionPath(path: string): string {
  return path
    .split('/')
    .map((segment) => decodeURIComponent(segment))
    .join('/')
}
