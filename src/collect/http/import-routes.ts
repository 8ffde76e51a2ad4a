/**
 * Imports API (two steps, so the file is never held in memory):
 * - `POST /api/v1/imports` `{ sourceId, kind, format, mapping?, fileName? }` → 201, the record
 *   (`status: awaiting_upload`) and its `uploadUrl`;
 * - `PUT /api/v1/imports/:id/file`, body = the raw file (any content type, no size limit), streamed
 *   to disk while hashed → 202, the import runs in the background;
 * - `GET /api/v1/imports`, `GET /api/v1/imports/:id` (status, counts, progress, first errors),
 *   `GET /api/v1/imports/:id/rejects` (the rejects file, JSONL);
 * - `POST /api/v1/imports/:id/cancel` → 200, the cancelled record; 409 once the import is over;
 * - `POST /api/v1/imports/preview` `{ sourceId, kind, format, sample, complete?, mapping? }` → the
 *   first rows of a sample mapped and checked as the import would, and a suggested mapping.
 * The uploaded file is removed when the import is over (completed, failed, parked or cancelled);
 * the rejects file stays.
 * An upload of a file already imported the same way finishes at once as a duplicate of nothing:
 * its events have the same messageIds, which the processor stores once.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, rmSync } from 'node:fs'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Transform, type Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { KindredError } from '../../protocol/errors.js'
import { sourcesRepository } from '../../platform/store/repositories/sources-repository.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { Auth } from '../../platform/http/auth.js'
import { jsonBody, notFound } from '../../platform/http/http-helpers.js'
import { importFormats, importKinds, importMappingSchema } from '../core/import-mapping.js'
import { describeImportMapping } from '../core/import-identity.js'
import { createIdentitySettingsCache } from '../../unify/index.js'
import type { CompiledIdentityRules } from '../../unify/core/index.js'
import { importsRepository, type ImportRecord } from '../engine/imports/imports-repository.js'
import { importKeyFor, newImportId } from '../engine/imports/import-runner.js'
import { previewImport } from '../engine/imports/import-preview.js'
import {
  startBackgroundRun,
  uploadPath,
  type BackgroundRunDeps,
} from '../engine/imports/background-runs.js'

const READ = 'read:imports'
const WRITE = 'write:imports'

/** A preview reads at most this much of the file (the console sends the file's first bytes). */
export const PREVIEW_SAMPLE_CHARS = 256 * 1024

const previewSchema = z.strictObject({
  sourceId: z.string().min(1),
  kind: z.enum(importKinds),
  format: z.enum(importFormats),
  /** The file's first bytes as text; `complete` says whether that is the whole file. */
  sample: z.string().max(PREVIEW_SAMPLE_CHARS),
  complete: z.boolean().default(false),
  mapping: importMappingSchema.optional(),
})

const createImportSchema = z.strictObject({
  sourceId: z.string().min(1),
  kind: z.enum(importKinds),
  format: z.enum(importFormats),
  mapping: importMappingSchema.optional(),
  fileName: z.string().max(512).optional(),
})

export type ImportRoutesDeps = BackgroundRunDeps

/** How long a cancel waits for a run of this node to stop before answering anyway. */
const CANCEL_WAIT_MS = 10_000

/**
 * An import as the API shows it. `mappingDescription` says which columns identify a person (a row
 * needs one with a value) and how each is normalised, under the workspace's rules as they are now.
 */
export function importView(r: ImportRecord, rules: CompiledIdentityRules) {
  const fraction =
    r.status === 'completed'
      ? 1
      : r.fileSize !== null && r.fileSize > 0
        ? Math.min(1, r.bytesRead / r.fileSize)
        : 0
  return {
    id: r.id,
    sourceId: r.sourceId,
    kind: r.kind,
    format: r.format,
    mapping: r.mapping,
    mappingDescription: describeImportMapping(r.mapping, r.kind, rules),
    fileName: r.fileName,
    fileSize: r.fileSize,
    fileHash: r.fileHash,
    status: r.status,
    counts: { read: r.rowsRead, accepted: r.rowsAccepted, rejected: r.rowsRejected },
    progress: { bytesRead: r.bytesRead, fraction, checkpointRow: r.checkpointRow },
    errors: r.errors,
    error: r.error,
    resumeAttempts: r.resumeAttempts,
    importTime: r.importTime,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    finishedAt: r.finishedAt,
    uploadUrl: r.status === 'awaiting_upload' ? `/api/v1/imports/${r.id}/file` : undefined,
    cancelUrl:
      r.status === 'awaiting_upload' || r.status === 'running'
        ? `/api/v1/imports/${r.id}/cancel`
        : undefined,
    rejectsUrl: `/api/v1/imports/${r.id}/rejects`,
  }
}

export function importRoutes(deps: ImportRoutesDeps): RouteModule {
  return (app, _ctx, auth) => registerImportRoutes(app, auth, deps)
}

function registerImportRoutes(app: FastifyInstance, auth: Auth, deps: ImportRoutesDeps): void {
  const { db } = deps
  // Read each time (ttl 0): an admin reading an import wants the rules as they are now.
  const identitySettings = createIdentitySettingsCache(() => 0, 0)
  const rulesOf = async (workspaceId: string) =>
    (await identitySettings.get(db, workspaceId)).compiled

  app.get('/api/v1/imports', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const rules = await rulesOf(workspaceId)
    return {
      data: (await importsRepository.list(db, workspaceId)).map((r) => importView(r, rules)),
    }
  })

  app.get('/api/v1/imports/:id', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const { id } = req.params as { id: string }
    const r = await importsRepository.get(db, workspaceId, id)
    if (!r) throw notFound(`import ${id}`)
    return importView(r, await rulesOf(workspaceId))
  })

  app.get('/api/v1/imports/:id/rejects', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const { id } = req.params as { id: string }
    const r = await importsRepository.get(db, workspaceId, id)
    if (!r) throw notFound(`import ${id}`)
    void reply.type('application/x-ndjson')
    if (r.rejectsPath === null || !existsSync(r.rejectsPath)) return reply.send('')
    // Only the checkpointed part: a running import may be mid-write.
    if (r.rejectsBytes === 0) return reply.send('')
    return reply.send(createReadStream(r.rejectsPath, { start: 0, end: r.rejectsBytes - 1 }))
  })

  app.post<{ Params: { id: string } }>('/api/v1/imports/:id/cancel', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const { id } = req.params
    const cancelled = await importsRepository.cancel(db, workspaceId, id, deps.clock())
    if (!cancelled) {
      const r = await importsRepository.get(db, workspaceId, id)
      if (!r) throw notFound(`import ${id}`)
      throw new KindredError('CONFLICT', `import ${id} is already ${r.status}: nothing to cancel`, {
        details: { status: r.status },
      })
    }
    // A run of this node stops after its current row; one on another node at its next checkpoint
    // (the record no longer says running), and that node removes its upload.
    const run = deps.running.get(id)
    if (run) {
      run.cancel.abort()
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        run.done,
        new Promise((r) => (timer = setTimeout(r, CANCEL_WAIT_MS).unref())),
      ])
      clearTimeout(timer)
    } else {
      rmSync(uploadPath(deps.workDir, cancelled), { force: true })
    }
    const now = await importsRepository.get(db, workspaceId, id)
    return importView(now ?? cancelled, await rulesOf(workspaceId))
  })

  app.post('/api/v1/imports/preview', async (req) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const body = jsonBody(req, previewSchema)
    const source = await sourcesRepository.get(db, workspaceId, body.sourceId)
    if (!source) throw notFound(`source ${body.sourceId}`)
    return previewImport({
      db,
      source,
      rules: await rulesOf(workspaceId),
      kind: body.kind,
      format: body.format,
      sample: body.sample,
      complete: body.complete,
      mapping: body.mapping,
      now: deps.clock(),
    })
  })

  app.post('/api/v1/imports', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, WRITE)
    const body = jsonBody(req, createImportSchema)
    const source = await sourcesRepository.get(db, workspaceId, body.sourceId)
    if (!source) throw notFound(`source ${body.sourceId}`)
    const record = await importsRepository.insert(db, {
      workspaceId,
      id: newImportId(),
      sourceId: body.sourceId,
      kind: body.kind,
      format: body.format,
      mapping: body.mapping ?? importMappingSchema.parse({}),
      importKey: null,
      fileName: body.fileName ?? null,
      fileHash: null,
      fileSize: null,
      rejectsPath: null,
      status: 'awaiting_upload',
      now: deps.clock(),
    })
    return reply.code(201).send(importView(record, await rulesOf(workspaceId)))
  })

  // The upload streams: its own context with a content-type parser that hands the raw request
  // stream through untouched (the app's parser buffers bodies up to ~1 MB).
  void app.register(async (child) => {
    child.removeAllContentTypeParsers()
    child.addContentTypeParser('*', (_req, payload, done) => done(null, payload))
    child.put('/api/v1/imports/:id/file', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, WRITE)
      const { id } = req.params as { id: string }
      const record = await importsRepository.get(db, workspaceId, id)
      if (!record) throw notFound(`import ${id}`)
      if (record.status !== 'awaiting_upload') {
        throw new KindredError('CONFLICT', `import ${id} already has its file (${record.status})`)
      }
      mkdirSync(deps.workDir, { recursive: true })
      const filePath = uploadPath(deps.workDir, record)
      const hash = createHash('sha256')
      let size = 0
      const body = (req.body as Readable | undefined) ?? req.raw
      try {
        await pipeline(
          body,
          new Transform({
            transform(chunk: Buffer, _enc, cb) {
              hash.update(chunk)
              size += chunk.length
              cb(null, chunk)
            },
          }),
          createWriteStream(filePath),
        )
      } catch (err) {
        rmSync(filePath, { force: true })
        throw new KindredError('VALIDATION_FAILED', 'the upload was interrupted; send it again', {
          cause: err,
        })
      }
      const fileHash = hash.digest('hex')
      const attached = await importsRepository.attachFile(db, workspaceId, id, {
        importKey: importKeyFor({ ...record, workspaceId, fileHash }),
        fileHash,
        fileSize: size,
        rejectsPath: path.join(deps.workDir, `${id}.rejects.jsonl`),
        now: deps.clock(),
      })
      if (!attached) {
        // Cancelled while the file was arriving: nothing runs, and nothing of it is kept.
        rmSync(filePath, { force: true })
        const now = await importsRepository.get(db, workspaceId, id)
        if (!now) throw notFound(`import ${id}`)
        throw new KindredError('CONFLICT', `import ${id} was ${now.status} during the upload`)
      }
      startBackgroundRun(deps, attached, filePath)
      return reply.code(202).send(importView(attached, await rulesOf(workspaceId)))
    })
  })
}
