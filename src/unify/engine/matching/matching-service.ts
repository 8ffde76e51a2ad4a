/**
 * Starts matching runs (on demand, on the schedule, after imports) and keeps those in flight so
 * that stop() can wait for them. One run per workspace at a time, across nodes (a partial unique
 * index on running runs).
 */
import type { Logger } from 'pino'
import type { Db, Queryable } from '../../../platform/store/db.js'
import type { ProfileHooks } from '../../../platform/module-contract.js'
import type { WorkspaceIdentitySettings } from '../identity-settings.js'
import {
  cancelRun,
  createRun,
  executeRun,
  getRun,
  type MatchingRunView,
  type RunTrigger,
} from './runs.js'
import { matchingSettingsSchema } from './matching-settings.js'
import { importRowMessageId } from '../../../protocol/ids.js'

export interface MatchingService {
  db: Db
  clock: () => Date
  identitySettings: (q: Queryable, workspaceId: string) => Promise<WorkspaceIdentitySettings>
  /** What follows a merge in its transaction (segments, computed traits): see ProfileHooks. */
  profileHooks: readonly ProfileHooks[]
  /**
   * Creates a run and executes it in the background; undefined when one is already running.
   * `importId`: the import that started it (trigger `import`).
   */
  start(
    workspaceId: string,
    trigger: RunTrigger,
    importId?: string,
  ): Promise<MatchingRunView | undefined>
  /**
   * Cancels a running run of the workspace: `not_found` for no such run here, `finished` for one
   * that is over. A run of this node is also told to stop.
   */
  cancel(
    workspaceId: string,
    runId: string,
  ): Promise<
    | { ok: true; run: MatchingRunView }
    | { ok: false; reason: 'not_found' }
    | { ok: false; reason: 'finished'; run: MatchingRunView }
  >
  /** Runs due by schedule or by a completed profile import, started now. */
  tick(): Promise<string[]>
  /** Resolves when every run in flight on this node has finished. */
  idle(): Promise<void>
}

/** How many of an import's last rows are looked for among processed events (rows may be rejected). */
const IMPORT_TAIL_ROWS = 50

export function createMatchingService(deps: {
  db: Db
  clock: () => Date
  logger: Logger
  identitySettings: MatchingService['identitySettings']
  profileHooks?: readonly ProfileHooks[]
}): MatchingService {
  const { db, clock, logger } = deps
  const inFlight = new Map<string, Promise<unknown>>()
  const cancels = new Map<string, AbortController>()

  async function start(workspaceId: string, trigger: RunTrigger, importId?: string) {
    const run = await createRun(db, workspaceId, trigger, clock(), importId ?? null)
    if (run === undefined) return undefined
    const cancel = new AbortController()
    cancels.set(run.id, cancel)
    const p = executeRun(deps, workspaceId, run.id, cancel.signal)
      .then((r) => {
        if (r.status === 'failed')
          logger.warn({ runId: r.id, error: r.error }, 'matching run failed')
      })
      .catch((err: unknown) => logger.error({ err, runId: run.id }, 'matching run crashed'))
      .finally(() => {
        inFlight.delete(run.id)
        cancels.delete(run.id)
      })
    inFlight.set(run.id, p)
    return run
  }

  type Due = { workspaceId: string; trigger: RunTrigger; importId?: string }
  async function due(): Promise<Due[]> {
    const now = clock()
    const out: Due[] = []
    const ws = await db.query<{
      workspace_id: string
      settings: unknown
      last: Date | string | null
    }>(
      `SELECT w.id AS workspace_id, s.settings,
         (SELECT max(started_at) FROM matching_runs r WHERE r.workspace_id = w.id) AS last
       FROM workspaces w LEFT JOIN matching_settings s ON s.workspace_id = w.id`,
    )
    for (const w of ws.rows) {
      const settings = matchingSettingsSchema.parse(w.settings ?? {})
      const last = w.last === null ? 0 : new Date(w.last).getTime()
      if (
        settings.scheduleMinutes !== null &&
        now.getTime() - last >= settings.scheduleMinutes * 60_000
      ) {
        out.push({ workspaceId: w.workspace_id, trigger: 'schedule' })
        continue
      }
      if (!settings.runAfterImport) continue
      // An import of profiles completed since the last run, and the processor has reached its
      // last rows (imports go through the event log, so "completed" alone is not "processed").
      const imports = await db.query<{ id: string; import_key: string | null; rows_read: number }>(
        `SELECT id, import_key, rows_read FROM imports WHERE workspace_id = $1 AND kind = 'profiles'
           AND status = 'completed' AND finished_at > $2 ORDER BY finished_at DESC LIMIT 1`,
        [w.workspace_id, new Date(last).toISOString()],
      )
      const imp = imports.rows[0]
      if (!imp?.import_key) continue
      const rows = Number(imp.rows_read)
      const tail: string[] = []
      for (let r = Math.max(1, rows - IMPORT_TAIL_ROWS + 1); r <= rows; r++)
        tail.push(importRowMessageId(imp.import_key, r))
      const seen = await db.query(
        'SELECT 1 FROM events WHERE workspace_id = $1 AND message_id = ANY($2::text[]) LIMIT 1',
        [w.workspace_id, tail],
      )
      if (seen.rows.length > 0)
        out.push({ workspaceId: w.workspace_id, trigger: 'import', importId: imp.id })
    }
    return out
  }

  return {
    db,
    clock,
    identitySettings: deps.identitySettings,
    profileHooks: deps.profileHooks ?? [],
    start,
    async cancel(workspaceId, runId) {
      const run = await cancelRun(db, workspaceId, runId, clock())
      if (run === undefined) {
        const existing = await getRun(db, workspaceId, runId)
        return existing === undefined
          ? { ok: false, reason: 'not_found' }
          : { ok: false, reason: 'finished', run: existing }
      }
      cancels.get(runId)?.abort()
      return { ok: true, run }
    },
    async tick() {
      const started: string[] = []
      for (const d of await due()) {
        const run = await start(d.workspaceId, d.trigger, d.importId)
        if (run) started.push(run.id)
      }
      return started
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()])
    },
  }
}
