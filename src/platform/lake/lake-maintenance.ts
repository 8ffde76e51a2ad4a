/**
 * @module platform/lake/lake-maintenance
 * What the lake writer does besides appending, each one commit per table:
 *
 * - **compaction**: a partition with many small files gets one file instead (remove + add,
 *   `dataChange: false`: the same rows, rearranged). Profiles keep only each profile's latest
 *   version when compacted (older versions leave the table, so that commit says `dataChange:
 *   true`), and a periodic pass rewrites profile files that are mostly superseded.
 * - **privacy erasure**: every live file holding the person's rows is rewritten without them
 *   (remove + add), then the removed files, every not-yet-vacuumed file of the workspace and any
 *   orphan are deleted from disk at once: a deletion does not wait for a retention window.
 * - **vacuum**: files removed by compaction are deleted once the retention has passed (readers
 *   that planned a query on the older snapshot finish first).
 *
 * A commit whose files changed underneath (another writer compacted them) is not made: `plan`
 * finds a file it removes no longer live, returns null, and the new file is deleted again.
 */
import { rm } from 'node:fs/promises'
import { filesIn } from './delta-log.js'
import { commitInfo, removeOf, type LakeTable } from './lake-table.js'
import type { LakeErasureSubject } from './lake-tables.js'
import {
  selectFromFiles,
  sqlIdent,
  sqlList,
  sqlString,
  writeDataFile,
  type Duck,
} from './parquet-files.js'
import {
  fromActionPath,
  partitionSegment,
  type AddAction,
  type Snapshot,
} from './delta-protocol.js'

export interface MaintenanceContext {
  duck: Duck
  now: () => number
}

const numRecords = (a: AddAction) =>
  a.stats === undefined ? 0 : (JSON.parse(a.stats) as { numRecords: number }).numRecords

const allLive = (s: Snapshot, files: readonly AddAction[]) =>
  files.every((f) => s.files.has(f.path))

/** The (profile, version) pairs that are each profile's latest in the workspace's live files. */
function latestRows(t: LakeTable, workspaceId: string): string | undefined {
  const by = t.spec.latestBy
  if (!by) return undefined
  const files = [...t.delta.snapshot().files.values()]
    .filter((a) => a.partitionValues.workspace_id === workspaceId)
    .map((a) => t.delta.absolute(a.path))
  if (files.length === 0) return undefined
  return `SELECT ${sqlIdent(by.key)} AS k, max(${sqlIdent(by.version)}) AS v
    FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true) GROUP BY 1`
}

/**
 * Rewrites `files` (all in the partition `values`) as one file, keeping the latest profile
 * versions for profiles; returns how many files it replaced (0 when it did not commit).
 */
export async function rewriteFiles(
  ctx: MaintenanceContext,
  t: LakeTable,
  values: Record<string, string>,
  files: readonly AddAction[],
  operation: string,
): Promise<number> {
  if (files.length === 0) return 0
  const source = await selectFromFiles(
    ctx.duck,
    t.spec.columns,
    files.map((f) => t.delta.absolute(f.path)),
  )
  const latest = latestRows(t, values.workspace_id ?? '')
  const by = t.spec.latestBy
  const select =
    latest && by
      ? `SELECT f.* FROM (${source}) f JOIN (${latest}) l
           ON f.${sqlIdent(by.key)} = l.k AND f.${sqlIdent(by.version)} = l.v`
      : source
  const written = await writeDataFile(ctx.duck, t.spec, t.delta.dir, values, select, ctx.now)
  const before = files.reduce((n, f) => n + numRecords(f), 0)
  const after = written ? numRecords(written.add) : 0
  const dataChange = after !== before
  const version = await t.delta.commit((s) => {
    if (!allLive(s, files)) return null
    const now = ctx.now()
    return [
      commitInfo(now, operation, { predicate: JSON.stringify(values) }, { isBlindAppend: false }),
      ...files.map((f) => removeOf(f, now, dataChange)),
      ...(written ? [{ add: { ...written.add, dataChange } }] : []),
    ]
  })
  if (version === null) {
    if (written) await rm(written.absolute, { force: true })
    return 0
  }
  return files.length
}

/** Compacts the partition when it has at least `minFiles` files under `smallBytes`. */
export async function compactPartition(
  ctx: MaintenanceContext,
  t: LakeTable,
  values: Record<string, string>,
  opts: { minFiles: number; smallBytes: number },
): Promise<number> {
  const small = filesIn(t.delta.snapshot(), values).filter((f) => f.size < opts.smallBytes)
  if (small.length < opts.minFiles) return 0
  return rewriteFiles(ctx, t, values, small, 'OPTIMIZE')
}

/**
 * Profiles: rewrites every file of the workspace where at least half the rows are superseded by
 * a later version of their profile (the latest per profile stays; small files are compaction's).
 */
export async function dropSupersededProfiles(
  ctx: MaintenanceContext,
  t: LakeTable,
  workspaceId: string,
): Promise<number> {
  const by = t.spec.latestBy
  const latest = latestRows(t, workspaceId)
  if (!by || !latest) return 0
  const live = [...t.delta.snapshot().files.values()].filter(
    (a) => a.partitionValues.workspace_id === workspaceId,
  )
  const byFile = new Map(live.map((a) => [t.delta.absolute(a.path), a]))
  const rows = await ctx.duck.all(
    `SELECT f.filename AS file, count(*) AS n,
       count(*) FILTER (WHERE l.v IS NULL OR f.${sqlIdent(by.version)} < l.v) AS stale
     FROM read_parquet([${[...byFile.keys()].map(sqlString).join(', ')}], union_by_name = true,
       filename = true) f
     LEFT JOIN (${latest}) l ON f.${sqlIdent(by.key)} = l.k
     GROUP BY 1 HAVING count(*) FILTER (WHERE l.v IS NULL OR f.${sqlIdent(by.version)} < l.v) * 2 >= count(*)`,
  )
  const groups = new Map<string, { values: Record<string, string>; files: AddAction[] }>()
  for (const r of rows) {
    const a = byFile.get(String(r.file))
    if (!a) continue
    const key = JSON.stringify(a.partitionValues)
    const g = groups.get(key) ?? { values: a.partitionValues, files: [] }
    g.files.push(a)
    groups.set(key, g)
  }
  let n = 0
  for (const g of groups.values()) n += await rewriteFiles(ctx, t, g.values, g.files, 'OPTIMIZE')
  return n
}

export interface TableErasure {
  filesRewritten: number
  rowsRemoved: number
  filesDeleted: number
}

/**
 * Removes the subject's rows from every live file of the table, commits, and deletes from disk
 * what held them (the replaced files, any removed file not yet vacuumed in the workspace, orphans).
 */
export async function eraseFromTable(
  ctx: MaintenanceContext,
  t: LakeTable,
  subject: LakeErasureSubject,
): Promise<TableErasure> {
  // NULL is not false: `NOT (a IN … OR b IN …)` is NULL, and the row dropped, whenever b is
  // NULL, so the predicate is made two-valued before it is negated.
  const predicate = `coalesce(${t.spec.erasePredicate(subject, sqlList)}, false)`
  const result: TableErasure = { filesRewritten: 0, rowsRemoved: 0, filesDeleted: 0 }
  for (let attempt = 0; ; attempt++) {
    const s = await t.delta.refresh()
    const live = [...s.files.values()].filter(
      (a) => a.partitionValues.workspace_id === subject.workspaceId,
    )
    const byFile = new Map(live.map((a) => [t.delta.absolute(a.path), a]))
    const hits =
      live.length === 0
        ? []
        : await ctx.duck.all(
            `SELECT filename AS file, count(*) FILTER (WHERE ${predicate}) AS hit, count(*) AS n
             FROM read_parquet([${[...byFile.keys()].map(sqlString).join(', ')}],
               union_by_name = true, filename = true)
             GROUP BY 1 HAVING count(*) FILTER (WHERE ${predicate}) > 0`,
          )
    const affected = hits
      .map((h) => ({ add: byFile.get(String(h.file)), hit: Number(h.hit), n: Number(h.n) }))
      .filter((h): h is { add: AddAction; hit: number; n: number } => h.add !== undefined)
    const written: { absolute: string; add: AddAction }[] = []
    for (const h of affected) {
      if (h.hit === h.n) continue
      const source = await selectFromFiles(ctx.duck, t.spec.columns, [t.delta.absolute(h.add.path)])
      const file = await writeDataFile(
        ctx.duck,
        t.spec,
        t.delta.dir,
        h.add.partitionValues,
        `SELECT * FROM (${source}) WHERE NOT ${predicate}`,
        ctx.now,
      )
      if (file) written.push(file)
    }
    const version =
      affected.length === 0
        ? -1
        : await t.delta.commit((snap) => {
            if (
              !allLive(
                snap,
                affected.map((h) => h.add),
              )
            )
              return null
            const now = ctx.now()
            return [
              // The predicate is not written: it would name the person in the log for ever.
              commitInfo(
                now,
                'DELETE',
                { predicate: 'privacy deletion' },
                { isBlindAppend: false },
              ),
              ...affected.map((h) => removeOf(h.add, now, true)),
              ...written.map((w) => ({ add: w.add })),
            ]
          })
    if (version === null) {
      // Another writer changed these files meanwhile: read the log again and start over.
      for (const w of written) await rm(w.absolute, { force: true })
      if (attempt >= 5) throw new Error(`lake table ${t.spec.name}: erasure kept conflicting`)
      continue
    }
    result.filesRewritten += affected.length
    result.rowsRemoved += affected.reduce((n, h) => n + h.hit, 0)
    break
  }
  // Files of the workspace removed earlier and not yet vacuumed (a compaction's inputs) may hold
  // the person too: they go now, whatever their retention.
  const dir = `${partitionSegment('workspace_id', subject.workspaceId)}/`
  const gone = await t.delta.vacuum(Number.POSITIVE_INFINITY, (r) =>
    r.partitionValues
      ? r.partitionValues.workspace_id === subject.workspaceId
      : fromActionPath(r.path).startsWith(dir),
  )
  const orphans = await t.delta.removeOrphans(Number.POSITIVE_INFINITY)
  result.filesDeleted = gone.length + orphans.length
  return result
}
