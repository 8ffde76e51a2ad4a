/**
 * The lake as a module (registered by src/app/runtime.ts): the writer runs in the roles `all` and
 * `scheduler` (one holds the lease at a time), on `<data dir>/lake` unless `KINDRED_LAKE_DIR`
 * names another directory. With the lake on, the store's triggers record changes from the start;
 * `KINDRED_LAKE=off` stops them and drops what was not written, but a lake that already has
 * tables keeps a writer for privacy erasures (a deletion must still reach those files).
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { KindredModule, ModuleFactory } from '../module-contract.js'
import { LAKE_TABLES } from './lake-tables.js'
import { registerLakeMetrics } from './lake-metrics.js'
import { forgetLake, lakeInUse, setCapture } from './lake-store.js'
import { createLakeWriter, type LakeWriter, type LakeWriterOptions } from './lake-writer.js'

export interface LakeModuleOptions {
  /** false: the lake is off (`KINDRED_LAKE=off`). Default true. */
  enabled?: boolean
  /** The lake's directory (`KINDRED_LAKE_DIR`); default `<data dir>/lake`. */
  dir?: string | undefined
  /** The writer flushes when the oldest change is this old (`KINDRED_LAKE_FLUSH_SECONDS`). */
  flushMs?: number | undefined
  /** Writer settings beyond these (tests, benchmarks). */
  writer?: Partial<Omit<LakeWriterOptions, 'db' | 'dir' | 'logger' | 'metrics'>>
  /** Hands the writer out once made (tests and benchmarks flush it). */
  onWriter?: (writer: LakeWriter) => void
}

/** The lake's directory: `dir`, else `<data dir>/lake`; none without either (in-memory stores). */
export function lakeDir(
  options: LakeModuleOptions,
  dataDir: string | undefined,
): string | undefined {
  if (options.dir !== undefined) return path.resolve(options.dir)
  return dataDir === undefined ? undefined : path.join(dataDir, 'lake')
}

export function createLakeModule(options: LakeModuleOptions = {}): ModuleFactory {
  return async (deps): Promise<KindredModule> => {
    const none: KindredModule = { name: 'lake' }
    const dir = lakeDir(options, deps.dataDir)
    if (dir === undefined || (deps.role !== 'all' && deps.role !== 'scheduler')) return none
    const enabled = options.enabled ?? true
    if (!enabled) {
      if (!(await lakeInUse(deps.db))) return none
      const hasTables = LAKE_TABLES.some((t) => existsSync(path.join(dir, t.name, '_delta_log')))
      if (!hasTables) {
        await forgetLake(deps.db)
        return none
      }
      await setCapture(deps.db, false)
      await deps.db.query('DELETE FROM lake_changes')
    } else {
      await setCapture(deps.db, true)
    }
    const writer = createLakeWriter({
      clock: () => deps.clock().getTime(),
      ...options.writer,
      ...(options.flushMs === undefined ? {} : { flushMs: options.flushMs }),
      capture: enabled,
      db: deps.db,
      dir,
      logger: deps.logger,
      metrics: registerLakeMetrics(deps.metrics),
    })
    options.onWriter?.(writer)
    return {
      name: 'lake',
      start() {
        writer.start()
        return Promise.resolve()
      },
      stop: () => writer.stop(),
      healthWarnings() {
        const w = writer.health().warning
        return w === undefined ? [] : [`lake: ${w}`]
      },
    }
  }
}
