/**
 * The Profile API: lookup by any identifier, the golden record with provenance, identities,
 * the 360 summary tiles, merges, events (paged), search, and split (unmerge). The SQL is in the read model and the split
 * service (`../engine/`); these routes parse, call and shape.
 * @module
 */
import type { FastifyReply } from 'fastify'
import { z } from 'zod'
import { describeTraits } from '../core/profiles/index.js'
import { normalizeIdentifier, normalizeIdentifierType } from '../core/identity/index.js'
import { KindredError } from '../../protocol/errors.js'
import { cursorCodec, cursorField } from '../../protocol/cursor.js'
import type { Queryable } from '../../platform/store/db.js'
import type { IdentitySettingsCache } from '../engine/identity-settings.js'
import {
  fullProfile,
  loadProfile,
  lookupProfile,
  profileEvents,
  profileGoldenRecord,
  profileIdentities,
  profileMerges,
  profileSegments,
  profileSummary,
  searchProfiles,
  type PagePosition,
  type ProfileRow,
} from '../engine/profile-read-model.js'
import { createProfileSplitter } from '../engine/profile-split.js'
import type { RouteModule } from '../../platform/http/app.js'
import type { ProfileHooks } from '../../platform/module-contract.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'

const READ = 'read:profiles'

const pageQuery = z.object({
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

/** Cursors are `[timestamp, id]`; anything else is refused before it reaches a SQL cast. */
const cursor = cursorCodec(cursorField.timestamp(), cursorField.text(1024))
const encodeCursor = (next: PagePosition | null): string | null =>
  next === null ? null : cursor.encode(next)
const decodeCursor = (text: string | undefined): PagePosition | undefined => cursor.decode(text)

// Built once: a zod schema built per request, and the parser it compiles on first use, cost the
// hot lookup route more CPU than its SQL once statements were prepared.
const lookupQuery = z.object({
  type: z.string().min(1).max(64),
  value: z.string().min(1).max(1024),
})
const searchQuery = pageQuery.extend({ q: z.string().max(200).optional() })
const eventsQuery = pageQuery.extend({
  type: z.string().max(20).optional(),
  event: z.string().max(1024).optional(),
})
const splitBody = z.object({
  identifiers: z
    .array(z.object({ type: z.string().min(1).max(64), value: z.string().min(1).max(1024) }))
    .min(1)
    .max(1000),
})

/** A live profile, or a redirect to the survivor of a merged-away one. */
async function liveOrRedirect(
  db: Queryable,
  workspaceId: string,
  id: string,
  reply: FastifyReply,
  suffix: string,
): Promise<ProfileRow | undefined> {
  const row = await loadProfile(db, workspaceId, id)
  if (!row) throw notFound(`profile ${id}`)
  if (row.merged_into !== null) {
    const location = `/api/v1/profiles/${encodeURIComponent(row.merged_into)}${suffix}`
    void reply
      .code(308)
      .header('Location', location)
      .send({ mergedInto: row.merged_into, location })
    return undefined
  }
  return row
}

export function profileRoutes(deps: {
  identitySettings: IdentitySettingsCache
  profileHooks?: readonly ProfileHooks[]
}): RouteModule {
  const { identitySettings } = deps
  return (app, ctx, auth) => {
    const { db } = ctx
    const splitProfile = createProfileSplitter({
      db,
      identitySettings,
      clock: () => ctx.clock().getTime(),
      profileHooks: deps.profileHooks,
    })
    type ById = { Params: { id: string } }

    app.get('/api/v1/profiles/lookup', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      const q = parseQuery(lookupQuery, req.query)
      const type = normalizeIdentifierType(q.type)
      if (!type) throw new KindredError('VALIDATION_FAILED', `unknown identifier type "${q.type}"`)
      const { compiled } = await identitySettings.get(db, workspaceId)
      const normalized = normalizeIdentifier(type, q.value, compiled)
      if (!normalized.ok) {
        throw new KindredError(
          'VALIDATION_FAILED',
          `"${q.value}" is not a usable ${type} (${normalized.reason})`,
        )
      }
      const profile = await lookupProfile(db, workspaceId, normalized.identifier)
      if (!profile) throw notFound(`profile with ${type} ${normalized.identifier.value}`)
      return profile
    })

    app.get('/api/v1/profiles', async (req) => {
      const { workspaceId } = await auth.admin(req, READ)
      const q = parseQuery(searchQuery, req.query)
      const after = decodeCursor(q.cursor)
      const page = await searchProfiles(db, workspaceId, {
        text: q.q?.trim() ?? '',
        limit: q.limit,
        after,
      })
      return { data: page.data, nextCursor: encodeCursor(page.next) }
    })

    app.get<ById>('/api/v1/profiles/:id', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const row = await liveOrRedirect(db, workspaceId, req.params.id, reply, '')
      return row ? fullProfile(db, workspaceId, row) : reply
    })

    app.get<ById>('/api/v1/profiles/:id/identities', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const row = await liveOrRedirect(db, workspaceId, req.params.id, reply, '/identities')
      return row ? { data: await profileIdentities(db, workspaceId, row.id) } : reply
    })

    app.get<ById>('/api/v1/profiles/:id/traits', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const row = await liveOrRedirect(db, workspaceId, req.params.id, reply, '/traits')
      if (!row) return reply
      const golden = await profileGoldenRecord(db, workspaceId, row.id)
      const { survivorship } = await identitySettings.get(db, workspaceId)
      return { data: describeTraits(golden, survivorship) }
    })

    app.get<ById>('/api/v1/profiles/:id/segments', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const row = await liveOrRedirect(db, workspaceId, req.params.id, reply, '/segments')
      return row ? { data: await profileSegments(db, workspaceId, row.id) } : reply
    })

    app.get<ById>('/api/v1/profiles/:id/summary', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const row = await liveOrRedirect(db, workspaceId, req.params.id, reply, '/summary')
      return row ? profileSummary(db, workspaceId, row.id) : reply
    })

    app.get<ById>('/api/v1/profiles/:id/merges', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const row = await liveOrRedirect(db, workspaceId, req.params.id, reply, '/merges')
      return row ? { data: await profileMerges(db, workspaceId, row.id) } : reply
    })

    app.get<ById>('/api/v1/profiles/:id/events', async (req, reply) => {
      const { workspaceId } = await auth.admin(req, READ)
      const q = parseQuery(eventsQuery, req.query)
      const row = await liveOrRedirect(db, workspaceId, req.params.id, reply, '/events')
      if (!row) return reply
      const after = decodeCursor(q.cursor)
      const page = await profileEvents(db, workspaceId, row.id, { ...q, after })
      return { data: page.data, nextCursor: encodeCursor(page.next) }
    })

    app.post<ById>('/api/v1/profiles/:id/split', async (req) => {
      const { workspaceId, key } = await auth.admin(req, 'write:profiles')
      const body = jsonBody(req, splitBody)
      return splitProfile({
        workspaceId,
        profileId: req.params.id,
        identifiers: body.identifiers,
        requestedBy: key.id,
      })
    })
  }
}
