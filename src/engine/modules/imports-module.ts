/**
 * Batch imports (issue 8): the HTTP API (`/api/v1/imports`, two-step upload) and background runs.
 * Uploaded files and rejects files live in `<data-dir>/imports` (a temp dir for in-memory stores).
 * On start, imports left `running` by a crash whose uploaded file is still here are resumed.
 */
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { registerImportRoutes } from '../imports/import-routes.js'
import { importsRepository } from '../imports/imports-repository.js'
import { runImport } from '../imports/import-runner.js'
import type { ModuleFactory } from './module.js'

export const importsModule: ModuleFactory = (deps) => {
  const workDir =
    deps.dataDir === undefined
      ? path.join(tmpdir(), `kindred-imports-${process.pid}`)
      : path.join(deps.dataDir, 'imports')
  const running = new Map<string, Promise<unknown>>()
  const abort = new AbortController()
  const stopRuns = async () => {
    abort.abort()
    await Promise.allSettled([...running.values()])
  }
  const serves = deps.role === 'all' || deps.role === 'ingest'
  return {
    name: 'imports',
    routes: [
      (app, _ctx, auth) => {
        // Before the event log closes (the runtime closes HTTP first): stop runs at a checkpoint.
        app.addHook('onClose', stopRuns)
        registerImportRoutes(app, auth, {
          db: deps.db,
          eventLog: deps.eventLog,
          clock: deps.clock,
          logger: deps.logger,
          workDir,
          running,
          signal: abort.signal,
        })
      },
    ],
    async start() {
      if (!serves) return
      for (const record of await importsRepository.listRunning(deps.db)) {
        const filePath = path.join(workDir, `${record.id}.${record.format}`)
        if (running.has(record.id) || !existsSync(filePath)) continue
        deps.logger.info({ importId: record.id }, 'resuming interrupted import')
        const run = runImport({
          db: deps.db,
          eventLog: deps.eventLog,
          record,
          filePath,
          clock: deps.clock,
          signal: abort.signal,
        })
          .catch((err: unknown) => deps.logger.error({ err, importId: record.id }, 'import failed'))
          .finally(() => running.delete(record.id))
        running.set(record.id, run)
      }
    },
    stop: stopRuns,
  }
}
