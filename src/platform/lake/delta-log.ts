/**
 * @module platform/lake/delta-log
 * One Delta table on disk: reading its snapshot (the newest checkpoint, then the JSON commits
 * after it), committing, checkpoints, vacuum and orphan files.
 *
 * A commit is put in place all or nothing and only if its version is free: the actions are
 * written to a temporary file in `_delta_log/`, fsynced, then hard-linked to
 * `NNNNNNNNNNNNNNNNNNNN.json`. `link` fails when the name exists (the exclusive create that
 * `open(…, 'wx')` gives), and unlike `wx` a crash cannot leave a torn or empty commit under the
 * final name. Filesystems without hard links fall back to `wx` (one write of the whole commit).
 * The data files a commit names were fsynced and renamed before it (parquet-files.ts), so a
 * commit never points at a missing or half-written file.
 *
 * Checkpoints (classic, V1 spec) every `checkpointInterval` commits: `N.checkpoint.parquet`
 * written through a temporary name, then `_last_checkpoint` replaced by rename.
 */
import { randomUUID } from 'node:crypto'
import {
  link,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises'
import path from 'node:path'
import {
  CHECKPOINT_FILE,
  COMMIT_FILE,
  LAST_CHECKPOINT,
  applyActions,
  checkpointFileName,
  commitFileName,
  decodeCommit,
  emptySnapshot,
  encodeCommit,
  fromActionPath,
  type Action,
  type AddAction,
  type RemoveAction,
  type Snapshot,
} from './delta-protocol.js'
import { fsyncPath, sqlString, type Duck } from './parquet-files.js'

/** Another writer took the version first: read the log again and decide anew. */
export class CommitConflict extends Error {
  constructor(readonly version: number) {
    super(`Delta commit ${version} exists already`)
  }
}

const LOG_DIR = '_delta_log'

/** DuckDB types of a V1 checkpoint's columns (PROTOCOL.md "Checkpoint Schema"). */
const CHECKPOINT_COLUMNS = {
  protocol: 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)',
  metaData:
    'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], createdTime BIGINT, configuration MAP(VARCHAR, VARCHAR))',
  txn: 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
  add: 'STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))',
  remove:
    'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)',
} as const

/** Drops JSON nulls DuckDB gives for absent optional fields, so actions read back as written. */
function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutNulls) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    ) as T
  }
  return value
}

async function readCheckpoint(duck: Duck, file: string): Promise<Snapshot> {
  const s = emptySnapshot()
  const rows = await duck.all(
    `SELECT to_json(protocol)::VARCHAR AS protocol, to_json(metaData)::VARCHAR AS "metaData",
       to_json(txn)::VARCHAR AS txn, to_json("add")::VARCHAR AS "add",
       to_json(remove)::VARCHAR AS remove
     FROM read_parquet(${sqlString(file)})`,
  )
  const actions: Action[] = []
  for (const r of rows) {
    for (const key of Object.keys(CHECKPOINT_COLUMNS)) {
      const v = r[key]
      if (typeof v === 'string') actions.push({ [key]: withoutNulls(JSON.parse(v)) } as Action)
    }
  }
  applyActions(s, -1, actions)
  return s
}

export interface DeltaTableOptions {
  dir: string
  duck: Duck
  /** A checkpoint after every this many commits (Delta's default: 10). */
  checkpointInterval?: number
  /** A checkpoint failed: the commit stands (readers replay the JSON), the next one retries. */
  onCheckpointError?: (err: unknown) => void
}

export interface DeltaTable {
  readonly dir: string
  /** The newest snapshot read or written by this handle. */
  snapshot(): Snapshot
  /** Reads commits made since (by another writer, or before a restart). */
  refresh(): Promise<Snapshot>
  /**
   * Commits what `plan` makes of the newest snapshot, as the next version; when another writer
   * took that version, reads again and asks `plan` again. `plan` returning null commits nothing.
   */
  commit(plan: (s: Snapshot) => Action[] | null): Promise<number | null>
  /** Absolute path of an action's file. */
  absolute(actionPath: string): string
  /** Deletes removed files whose removal is older than `before` (epoch ms); returns them. */
  vacuum(before: number, only?: (r: RemoveAction) => boolean): Promise<string[]>
  /** Deletes data files no commit names (a crash between write and commit), older than `before`. */
  removeOrphans(before: number): Promise<string[]>
}

export async function openDeltaTable(options: DeltaTableOptions): Promise<DeltaTable> {
  const { dir, duck } = options
  const interval = options.checkpointInterval ?? 10
  const logDir = path.join(dir, LOG_DIR)
  await mkdir(logDir, { recursive: true, mode: 0o700 })
  let current = await load()

  async function load(): Promise<Snapshot> {
    const names = await readdir(logDir)
    let start = emptySnapshot()
    let from = -1
    const last = await readFile(path.join(logDir, LAST_CHECKPOINT), 'utf8').catch(() => undefined)
    const lastVersion = last === undefined ? undefined : (JSON.parse(last) as { version: number })
    const checkpoints = names
      .map((n) => CHECKPOINT_FILE.exec(n)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => b - a)
    const cp =
      lastVersion !== undefined && checkpoints.includes(lastVersion.version)
        ? lastVersion.version
        : checkpoints[0]
    if (cp !== undefined) {
      start = await readCheckpoint(duck, path.join(logDir, checkpointFileName(cp)))
      start.version = cp
      from = cp
    }
    return readCommitsAfter(start, from, names)
  }

  async function readCommitsAfter(s: Snapshot, from: number, names?: string[]): Promise<Snapshot> {
    const versions = (names ?? (await readdir(logDir)))
      .map((n) => COMMIT_FILE.exec(n)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .filter((v) => v > from)
      .sort((a, b) => a - b)
    let expected = from + 1
    for (const v of versions) {
      if (v !== expected) throw new Error(`Delta log of ${dir} has no commit ${expected}`)
      const text = await readFile(path.join(logDir, commitFileName(v)), 'utf8')
      applyActions(s, v, decodeCommit(text))
      expected++
    }
    return s
  }

  async function putIfAbsent(version: number, text: string): Promise<void> {
    const final = path.join(logDir, commitFileName(version))
    const tmp = path.join(logDir, `.tmp-${randomUUID()}`)
    await writeFile(tmp, text, { mode: 0o600 })
    await fsyncPath(tmp)
    try {
      await link(tmp, final)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw new CommitConflict(version)
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err
      const fh = await open(final, 'wx', 0o600).catch((e: NodeJS.ErrnoException) => {
        throw e.code === 'EEXIST' ? new CommitConflict(version) : e
      })
      try {
        await fh.writeFile(text)
        await fh.sync()
      } finally {
        await fh.close()
      }
    } finally {
      await unlink(tmp).catch(() => undefined)
    }
    await fsyncPath(logDir)
  }

  async function writeCheckpoint(s: Snapshot): Promise<void> {
    const rows: string[] = []
    if (s.protocol) rows.push(JSON.stringify({ protocol: s.protocol }))
    if (s.metadata) rows.push(JSON.stringify({ metaData: s.metadata }))
    for (const t of s.txns.values()) rows.push(JSON.stringify({ txn: t }))
    for (const a of s.files.values()) rows.push(JSON.stringify({ add: a }))
    for (const r of s.tombstones.values()) {
      // Tombstones in a checkpoint carry no stats or tags (only VACUUM reads them).
      const { stats: _stats, ...tombstone } = r
      rows.push(JSON.stringify({ remove: tombstone }))
    }
    const id = randomUUID()
    const staged = path.join(logDir, `.tmp-${id}.ndjson`)
    const tmp = path.join(logDir, `.tmp-${id}.parquet`)
    await writeFile(staged, rows.join('\n'), { mode: 0o600 })
    const columns = Object.entries(CHECKPOINT_COLUMNS)
      .map(([k, t]) => `${JSON.stringify(k)}: ${sqlString(t)}`)
      .join(', ')
    try {
      await duck.run(
        `COPY (SELECT * FROM read_json(${sqlString(staged)}, format = 'newline_delimited',
           columns = {${columns}}, maximum_object_size = 268435456))
         TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION snappy)`,
      )
      await fsyncPath(tmp)
      const final = path.join(logDir, checkpointFileName(s.version))
      await rename(tmp, final)
      const { size } = await stat(final)
      const last = path.join(logDir, `.tmp-${id}.last`)
      await writeFile(
        last,
        JSON.stringify({
          version: s.version,
          size: rows.length,
          sizeInBytes: size,
          numOfAddFiles: s.files.size,
        }),
        { mode: 0o600 },
      )
      await fsyncPath(last)
      await rename(last, path.join(logDir, LAST_CHECKPOINT))
      await fsyncPath(logDir)
    } finally {
      await rm(staged, { force: true })
      await rm(tmp, { force: true })
    }
  }

  const absolute = (actionPath: string) => path.join(dir, fromActionPath(actionPath))

  async function listDataFiles(d: string, rel = ''): Promise<string[]> {
    const out: string[] = []
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      // `_delta_log`, `_tmp` and anything else hidden are not data (PROTOCOL.md "Data Files").
      if (entry.name.startsWith('_') || entry.name.startsWith('.')) continue
      const r = rel ? `${rel}/${entry.name}` : entry.name
      if (entry.isDirectory()) out.push(...(await listDataFiles(path.join(d, entry.name), r)))
      else if (entry.name.endsWith('.parquet')) out.push(r)
    }
    return out
  }

  return {
    dir,
    snapshot: () => current,
    async refresh() {
      current = await readCommitsAfter(current, current.version)
      return current
    },
    async commit(plan) {
      for (;;) {
        const actions = plan(current)
        if (actions === null) return null
        const version = current.version + 1
        try {
          await putIfAbsent(version, encodeCommit(actions))
        } catch (err) {
          if (err instanceof CommitConflict) {
            current = await readCommitsAfter(current, current.version)
            continue
          }
          throw err
        }
        applyActions(current, version, actions)
        if (version > 0 && version % interval === 0) {
          await writeCheckpoint(current).catch((err: unknown) => options.onCheckpointError?.(err))
        }
        return version
      }
    },
    absolute,
    async vacuum(before, only) {
      const gone: string[] = []
      for (const [p, r] of current.tombstones) {
        if (r.deletionTimestamp > before || (only && !only(r))) continue
        await rm(absolute(p), { force: true })
        // Vacuumed: the tombstone has done its job and leaves the next checkpoint.
        current.tombstones.delete(p)
        gone.push(p)
      }
      return gone
    },
    async removeOrphans(before) {
      await rm(path.join(dir, '_tmp'), { recursive: true, force: true })
      const known = new Set(
        [...current.files.keys(), ...current.tombstones.keys()].map(fromActionPath),
      )
      const removed: string[] = []
      for (const rel of await listDataFiles(dir)) {
        if (known.has(rel)) continue
        const abs = path.join(dir, rel)
        const { mtimeMs } = await stat(abs)
        if (mtimeMs > before) continue
        await rm(abs, { force: true })
        removed.push(rel)
      }
      return removed
    },
  }
}

/** Newer `add` actions of a snapshot in one partition. */
export function filesIn(s: Snapshot, values: Record<string, string>): AddAction[] {
  return [...s.files.values()].filter((a) =>
    Object.entries(values).every(([k, v]) => a.partitionValues[k] === v),
  )
}
