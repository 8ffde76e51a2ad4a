/**
 * Database syncs API (`src/collect/engine/syncs/README.md`):
 * - connections: `GET|POST /api/v1/syncs/connections`, `GET|PUT|DELETE …/connections/:id`,
 *   `POST …/connections/:id/test` (connect, read-only transaction, `SELECT 1`; the server's own
 *   message on failure). The password is sealed at rest and answered as `********`.
 * - models: `GET|POST /api/v1/syncs/models`, `GET|PUT|DELETE …/models/:id`; `POST
 *   /api/v1/syncs/preview` (a model, saved or not: its first rows and what each becomes).
 * - runs: `POST …/models/:id/runs` (manual; 409 while one is queued or running), `GET
 *   …/models/:id/runs`, `GET /api/v1/syncs/runs/:id`, `GET …/runs/:id/rejects` (JSON lines).
 */
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import { type OutboundPolicy } from '../../protocol/outbound-policy.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'
import {
  connectionInputSchema,
  createSyncRowMapper,
  readQuery,
  scheduleSchema,
  syncModelSchema,
  type ConnectionInput,
} from '../core/sync-model.js'
import { nextRunAt, parseCron } from '../core/sync-schedule.js'
import { openSource, testSourceConnection } from '../engine/syncs/source-readers.js'
import { sourceConnectionOf } from '../engine/syncs/sync-runner.js'
import { queueRun } from '../engine/syncs/sync-worker.js'
import {
  syncsRepository as repo,
  type ConnectionRecord,
  type ModelRecord,
} from '../engine/syncs/syncs-repository.js'
import { createSyncSource, type SyncSecrets } from '../engine/syncs/sync-sources.js'

const READ = 'read:syncs'
const WRITE = 'write:syncs'
const REDACTED = '********'

export interface SyncRoutesDeps {
  clock: () => Date
  outbound: OutboundPolicy
  secrets: SyncSecrets
  /** Wakes this node's worker after a manual run was queued. */
  wake(): void
}

const modelInputSchema = z.strictObject({
  definition: syncModelSchema,
  schedule: scheduleSchema.nullable().default(null),
})

type ById = { Params: { id: string } }

function connectionView(c: ConnectionRecord) {
  return {
    id: c.id,
    name: c.name,
    ...c.settings,
    kind: c.kind,
    password: c.passwordSealed === null ? null : REDACTED,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  }
}

function modelView(m: ModelRecord) {
  return {
    id: m.id,
    name: m.name,
    connectionId: m.connectionId,
    sourceId: m.sourceId,
    definition: m.definition,
    schedule: m.schedule,
    nextRunAt: m.nextRunAt,
    watermark: m.watermark,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  }
}

function checkSchedule(schedule: z.infer<typeof scheduleSchema> | null): void {
  if (schedule === null || !('cron' in schedule)) return
  try {
    parseCron(schedule.cron)
  } catch (err) {
    throw new KindredError('VALIDATION_FAILED', (err as Error).message, {
      details: [{ path: 'schedule.cron', message: (err as Error).message }],
    })
  }
}

export function syncRoutes(deps: SyncRoutesDeps): RouteModule {
  return (app, ctx, auth) => registerSyncRoutes(app, ctx.db, auth, deps)
}

function registerSyncRoutes(
  app: FastifyInstance,
  db: Parameters<RouteModule>[1]['db'],
  auth: Auth,
  deps: SyncRoutesDeps,
): void {
  const engine = { db, openSecret: deps.secrets.open }
  const settingsOf = (input: ConnectionInput) => {
    const { name: _name, password: _password, ...settings } = input
    return settings
  }
  const connectionOr404 = async (workspaceId: string, id: string) => {
    const c = await repo.getConnection(db, workspaceId, id)
    if (!c) throw notFound(`connection ${id}`)
    return c
  }
  const modelOr404 = async (workspaceId: string, id: string) => {
    const m = await repo.getModel(db, workspaceId, id)
    if (!m) throw notFound(`model ${id}`)
    return m
  }

  app.get('/api/v1/syncs/connections', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    return { data: (await repo.listConnections(db, workspaceId)).map(connectionView) }
  })

  app.post('/api/v1/syncs/connections', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const input = jsonBody(req, connectionInputSchema)
    const c = await repo.insertConnection(
      db,
      {
        workspaceId,
        id: `scon_${deps.secrets.newToken()}`,
        name: input.name,
        kind: input.kind,
        settings: settingsOf(input),
        passwordSealed: input.password === undefined ? null : deps.secrets.seal(input.password),
      },
      deps.clock(),
    )
    return reply.code(201).send(connectionView(c))
  })

  app.get<ById>('/api/v1/syncs/connections/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    return connectionView(await connectionOr404(workspaceId, req.params.id))
  })

  app.put<ById>('/api/v1/syncs/connections/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const stored = await connectionOr404(workspaceId, req.params.id)
    const input = jsonBody(req, connectionInputSchema)
    const settings = settingsOf(input)
    // A kept password goes only where its owner sent it: moving the connection needs it again.
    const moved =
      settings.host !== stored.settings.host ||
      (settings.port ?? null) !== (stored.settings.port ?? null) ||
      settings.kind !== stored.kind
    let sealed = stored.passwordSealed
    if (input.password !== undefined && input.password !== REDACTED)
      sealed = deps.secrets.seal(input.password)
    else if (moved && stored.passwordSealed !== null)
      throw new KindredError(
        'VALIDATION_FAILED',
        'host, port or kind changed, so the stored password cannot be kept: enter it again',
        { details: [{ path: 'password', message: 're-enter the password' }] },
      )
    const c = await repo.updateConnection(
      db,
      {
        workspaceId,
        id: stored.id,
        name: input.name,
        kind: input.kind,
        settings,
        passwordSealed: sealed,
      },
      deps.clock(),
    )
    if (!c) throw notFound(`connection ${req.params.id}`)
    return connectionView(c)
  })

  app.delete<ById>('/api/v1/syncs/connections/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    await connectionOr404(workspaceId, req.params.id)
    const models = await repo.modelsOfConnection(db, workspaceId, req.params.id)
    if (models > 0)
      throw new KindredError(
        'CONFLICT',
        `${models} model(s) use this connection: delete them first`,
      )
    await repo.deleteConnection(db, workspaceId, req.params.id)
    return reply.code(204).send()
  })

  app.post<ById>('/api/v1/syncs/connections/:id/test', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    await connectionOr404(workspaceId, req.params.id)
    const source = await sourceConnectionOf(engine, workspaceId, req.params.id)
    if (!source) throw notFound(`connection ${req.params.id}`)
    return testSourceConnection(source, deps.outbound, () => deps.clock().getTime())
  })

  app.get('/api/v1/syncs/models', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    return { data: (await repo.listModels(db, workspaceId)).map(modelView) }
  })

  app.post('/api/v1/syncs/models', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const input = jsonBody(req, modelInputSchema)
    checkSchedule(input.schedule)
    await connectionOr404(workspaceId, input.definition.connectionId)
    // Each model writes through a source of its own, so provenance names the model.
    const sourceId = await createSyncSource(db, deps.secrets, workspaceId, input.definition.name)
    const m = await repo.insertModel(
      db,
      {
        workspaceId,
        id: `smod_${deps.secrets.newToken()}`,
        connectionId: input.definition.connectionId,
        sourceId,
        name: input.definition.name,
        definition: input.definition,
        schedule: input.schedule,
        nextRunAt: nextRunAt(input.schedule, deps.clock()),
      },
      deps.clock(),
    )
    return reply.code(201).send(modelView(m))
  })

  app.get<ById>('/api/v1/syncs/models/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    return modelView(await modelOr404(workspaceId, req.params.id))
  })

  app.put<ById>('/api/v1/syncs/models/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    await modelOr404(workspaceId, req.params.id)
    const input = jsonBody(req, modelInputSchema)
    checkSchedule(input.schedule)
    await connectionOr404(workspaceId, input.definition.connectionId)
    const m = await repo.updateModel(
      db,
      {
        workspaceId,
        id: req.params.id,
        connectionId: input.definition.connectionId,
        name: input.definition.name,
        definition: input.definition,
        schedule: input.schedule,
        nextRunAt: nextRunAt(input.schedule, deps.clock()),
      },
      deps.clock(),
    )
    if (!m) throw notFound(`model ${req.params.id}`)
    return modelView(m)
  })

  app.delete<ById>('/api/v1/syncs/models/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    await modelOr404(workspaceId, req.params.id)
    if (await repo.activeRun(db, workspaceId, req.params.id))
      throw new KindredError('CONFLICT', 'the model has a run queued or running: wait for it')
    await repo.deleteModel(db, workspaceId, req.params.id)
    return reply.code(204).send()
  })

  app.post('/api/v1/syncs/preview', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const body = jsonBody(
      req,
      z.strictObject({
        definition: syncModelSchema,
        limit: z.number().int().min(1).max(50).default(10),
      }),
    )
    const def = body.definition
    const source = await sourceConnectionOf(engine, workspaceId, def.connectionId)
    if (!source) throw notFound(`connection ${def.connectionId}`)
    const mapper = createSyncRowMapper(def, { defaultTimestamp: deps.clock().toISOString() })
    const reader = await openSource(source, deps.outbound).catch((err: unknown) => {
      throw previewError(err)
    })
    try {
      const rows: Array<{ row: Record<string, unknown>; result: unknown }> = []
      const q = readQuery(source.kind, def, { limit: body.limit })
      for await (const batch of reader.batches(q, body.limit)) {
        for (const row of batch) {
          const r = mapper(row)
          rows.push({
            row: Object.fromEntries(
              Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]),
            ),
            result: r.ok ? { event: r.event } : { issues: r.issues },
          })
        }
        break
      }
      return { data: rows }
    } catch (err) {
      throw previewError(err)
    } finally {
      await reader.close()
    }
  })

  app.post<ById>('/api/v1/syncs/models/:id/runs', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    await modelOr404(workspaceId, req.params.id)
    const run = await queueRun({ db, clock: deps.clock }, workspaceId, req.params.id, 'manual')
    if (!run) {
      const active = await repo.activeRun(db, workspaceId, req.params.id)
      throw new KindredError('CONFLICT', 'a run of this model is already queued or running', {
        details: { runId: active?.id ?? null },
      })
    }
    deps.wake()
    return reply.code(202).send(run)
  })

  app.get<ById>('/api/v1/syncs/models/:id/runs', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    await modelOr404(workspaceId, req.params.id)
    return { data: await repo.listRuns(db, workspaceId, req.params.id) }
  })

  app.get<ById>('/api/v1/syncs/runs/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const run = await repo.getRun(db, workspaceId, req.params.id)
    if (!run) throw notFound(`run ${req.params.id}`)
    return run
  })

  app.get<ById>('/api/v1/syncs/runs/:id/rejects', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const q = parseQuery(
      z.object({ limit: z.coerce.number().int().min(1).max(100_000).default(10_000) }),
      req.query,
    )
    const run = await repo.getRun(db, workspaceId, req.params.id)
    if (!run) throw notFound(`run ${req.params.id}`)
    const lines: string[] = []
    let after: string | null = null
    while (lines.length < q.limit) {
      const page = await repo.listRejects(
        db,
        workspaceId,
        run.id,
        after,
        Math.min(1000, q.limit - lines.length),
      )
      for (const r of page)
        lines.push(`${JSON.stringify({ key: r.rowKey, raw: r.raw, errors: r.errors })}\n`)
      if (page.length === 0) break
      after = page[page.length - 1]?.rowKey ?? null
    }
    void reply.type('application/x-ndjson')
    return reply.send(lines.join(''))
  })
}

/** A preview's source failure, as a 400 with the server's message (it is the user's to fix). */
function previewError(err: unknown): KindredError {
  if (err instanceof KindredError) return err
  const e = err as { code?: string; message?: string; transient?: boolean }
  return new KindredError(
    e.transient ? 'UNAVAILABLE' : 'VALIDATION_FAILED',
    e.message ?? String(err),
    {
      details: { code: e.code ?? 'SOURCE_QUERY_FAILED' },
    },
  )
}
