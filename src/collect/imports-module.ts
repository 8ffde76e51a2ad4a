/**
 * Batch imports: the HTTP API (`/api/v1/imports`, two-step upload) and background runs.
 * Uploaded files and rejects files live in `<data-dir>/imports` (a temp dir for in-memory stores).
 * On start, imports left `running` by a crash whose uploaded file is still here are resumed, up to
 * a few times: an import that keeps taking the process down is parked instead (see
 * `../imports/background-runs.ts`).
 */
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { importRoutes } from './http/import-routes.js'
import { resumeInterrupted, type RunningImport } from './engine/imports/background-runs.js'
import type { ModuleFactory } from '../platform/module-contract.js'

export const importsModule: ModuleFactory = (deps) => {
  const workDir =
    deps.dataDir === undefined
      ? path.join(tmpdir(), `kindred-imports-${process.pid}`)
      : path.join(deps.dataDir, 'imports')
  const running = new Map<string, RunningImport>()
  const abort = new AbortController()
  const stopRuns = async () => {
    abort.abort()
    await Promise.allSettled([...running.values()].map((r) => r.done))
  }
  const runDeps = {
    db: deps.db,
    eventLog: deps.eventLog,
    clock: deps.clock,
    logger: deps.logger,
    workDir,
    running,
    signal: abort.signal,
  }
  const serves = deps.role === 'all' || deps.role === 'ingest'
  return {
    name: 'imports',
    routes: [
      (app, ctx, auth) => {
        // Before the event log closes (the runtime closes HTTP first): stop runs at a checkpoint.
        app.addHook('onClose', stopRuns)
        importRoutes(runDeps)(app, ctx, auth)
      },
    ],
    async start() {
      if (!serves) return
      await resumeInterrupted(runDeps, existsSync)
    },
    stop: stopRuns,
  }
}
