/**
 * Profile API and identity rules: lookup by any identifier, the golden record with provenance,
 * identities, merges, events (paged), search, and split (unmerge).
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { z } from 'zod'
import {
  deterministicProfileIds,
  extractIdentifiers,
  identifierKey,
  normalizeIdentifier,
  normalizeIdentifierType,
  parseIdentityRules,
  planSplit,
  type Identifier,
} from '../core/identity/index.js'
import {
  describeTraits,
  goldenRecordSchema,
  materializeTraits,
  recomputeSplitRecords,
  survivorshipSettingsSchema,
  traitUpdateFromEvent,
  type GoldenRecord,
  type TraitUpdate,
} from '../core/profiles/index.js'
import { KindredError } from '../../protocol/errors.js'
import { cursorCodec, cursorField } from '../../protocol/cursor.js'
import type { KindredEvent } from '../../protocol/event-schema.js'
import type { Queryable } from '../../platform/store/db.js'
import type { IdentitySettingsCache } from '../engine/identity-settings.js'
import { splitConsent } from '../../govern/engine/consent/consent-split.js'
import type { Auth } from '../../platform/http/auth.js'
import type { AppContext } from '../../platform/http/context.js'
import { jsonBody, notFound, parseQuery } from '../../platform/http/http-helpers.js'

const READ = 'read:profiles'

interface ProfileRow {
  id: string
  traits: Record<string, unknown>
  merged_into: string | null
  created_at: Date | string
  updated_at: Date | string
  first_seen_at: Date | string | null
  last_seen_at: Date | string | null
  merge_count: number
}

const isoOrNull = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString())

const pageQuery = z.object({
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

/** Cursors are `[timestamp, id]`; anything else is refused before it reaches a SQL cast. */
const cursor = cursorCodec(cursorField.timestamp(), cursorField.text(1024))

const likePrefix = (text: string) => `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

/** The canonical event back from its stored columns. */
function eventFromRow(r: {
  payload: Record<string, unknown>
  properties: unknown
  traits: unknown
  context: unknown
}): KindredEvent {
  return {
    ...r.payload,
    properties: r.properties,
    traits: r.traits,
    context: r.context,
  } as KindredEvent
}

// Built once: a zod schema built per request, and the parser it compiles on first use, cost the
// hot lookup route more CPU than its SQL once statements were prepared.
const lookupQuery = z.object({
  type: z.string().min(1).max(64),
  value: z.string().min(1).max(1024),
})
export function registerProfileRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  auth: Auth,
  identitySettings: IdentitySettingsCache,
): void {
  const db = ctx.db

  async function loadProfile(
    q: Queryable,
    workspaceId: string,
    id: string,
  ): Promise<ProfileRow | undefined> {
    const res = await q.query<ProfileRow>(
      `SELECT id, traits, merged_into, created_at, updated_at, first_seen_at, last_seen_at, merge_count
       FROM profiles WHERE workspace_id = $1 AND id = $2`,
      [workspaceId, id],
    )
    return res.rows[0]
  }

  async function identitiesOf(workspaceId: string, profileId: string) {
    const res = await db.query<{
      type: string
      value: string
      source_id: string | null
      message_id: string | null
      first_seen_at: Date | string
    }>(
      `SELECT type, value, source_id, message_id, first_seen_at FROM identities
       WHERE workspace_id = $1 AND profile_id = $2 ORDER BY type, value`,
      [workspaceId, profileId],
    )
    return res.rows
  }

  async function segmentsOf(workspaceId: string, profileId: string) {
    const res = await db.query<{
      segment_id: string
      name: string | null
      entered_at: Date | string
    }>(
      `SELECT m.segment_id, s.name, m.entered_at FROM segment_members m
       LEFT JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
       WHERE m.workspace_id = $1 AND m.profile_id = $2 ORDER BY m.entered_at`,
      [workspaceId, profileId],
    )
    return res.rows.map((r) => ({
      id: r.segment_id,
      name: r.name ?? r.segment_id,
      enteredAt: new Date(r.entered_at).toISOString(),
      exitedAt: null,
    }))
  }

  async function consentOf(workspaceId: string, profileId: string) {
    const res = await db.query<{ purpose: string; status: string; updated_at: Date | string }>(
      'SELECT purpose, status, updated_at FROM profile_consents WHERE workspace_id = $1 AND profile_id = $2',
      [workspaceId, profileId],
    )
    return Object.fromEntries(
      res.rows.map((r) => [
        r.purpose,
        { status: r.status, updatedAt: new Date(r.updated_at).toISOString() },
      ]),
    )
  }

  async function computedOf(workspaceId: string, profileId: string) {
    const res = await db.query<{
      computed_trait_id: string
      name: string | null
      definition: unknown
      value: unknown
      updated_at: Date | string
    }>(
      `SELECT v.computed_trait_id, t.name, t.definition, v.value, v.updated_at FROM computed_trait_values v
       LEFT JOIN computed_traits t ON t.workspace_id = v.workspace_id AND t.id = v.computed_trait_id
       WHERE v.workspace_id = $1 AND v.profile_id = $2 ORDER BY t.name`,
      [workspaceId, profileId],
    )
    return res.rows.map((r) => ({
      id: r.computed_trait_id,
      name: r.name ?? r.computed_trait_id,
      definition: r.definition,
      value: r.value,
      updatedAt: new Date(r.updated_at).toISOString(),
    }))
  }

  async function fullProfile(workspaceId: string, row: ProfileRow) {
    const [identities, segments, consent, computedTraits] = await Promise.all([
      identitiesOf(workspaceId, row.id),
      segmentsOf(workspaceId, row.id),
      consentOf(workspaceId, row.id),
      computedOf(workspaceId, row.id),
    ])
    return {
      id: row.id,
      traits: row.traits,
      identities: identities.map((i) => ({ type: i.type, value: i.value })),
      segments,
      computedTraits,
      consent,
      mergeCount: row.merge_count,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
      firstSeenAt: isoOrNull(row.first_seen_at),
      lastSeenAt: isoOrNull(row.last_seen_at),
    }
  }

  /**
   * The lookup's whole answer in one statement (identity → profile → identities, segments,
   * consent, computed traits as json aggregates): one round trip instead of six, which on the
   * embedded store (one connection, queries queued) is most of the p99.
   * Same rows and order as fullProfile's queries; timestamps come back as json text.
   */
  async function lookupProfile(workspaceId: string, type: string, value: string) {
    const res = await db.query<
      ProfileRow & {
        identities: Identifier[]
        segments: Array<{ id: string; name: string | null; enteredAt: string }>
        consent: Array<{ purpose: string; status: string; updatedAt: string }>
        computed: Array<{
          id: string
          name: string | null
          definition: unknown
          value: unknown
          updatedAt: string
        }>
      }
    >(
      `SELECT p.id, p.traits, p.merged_into, p.created_at, p.updated_at, p.first_seen_at,
         p.last_seen_at, p.merge_count,
         (SELECT coalesce(jsonb_agg(jsonb_build_object('type', x.type, 'value', x.value)
            ORDER BY x.type, x.value), '[]') FROM identities x
          WHERE x.workspace_id = p.workspace_id AND x.profile_id = p.id) AS identities,
         (SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.segment_id, 'name', s.name,
            'enteredAt', m.entered_at) ORDER BY m.entered_at), '[]')
          FROM segment_members m
          LEFT JOIN segments s ON s.workspace_id = m.workspace_id AND s.id = m.segment_id
          WHERE m.workspace_id = p.workspace_id AND m.profile_id = p.id) AS segments,
         (SELECT coalesce(jsonb_agg(jsonb_build_object('purpose', c.purpose, 'status', c.status,
            'updatedAt', c.updated_at)), '[]') FROM profile_consents c
          WHERE c.workspace_id = p.workspace_id AND c.profile_id = p.id) AS consent,
         (SELECT coalesce(jsonb_agg(jsonb_build_object('id', v.computed_trait_id, 'name', t.name,
            'definition', t.definition, 'value', v.value, 'updatedAt', v.updated_at)
            ORDER BY t.name), '[]')
          FROM computed_trait_values v
          LEFT JOIN computed_traits t ON t.workspace_id = v.workspace_id AND t.id = v.computed_trait_id
          WHERE v.workspace_id = p.workspace_id AND v.profile_id = p.id) AS computed
       FROM identities i JOIN profiles p ON p.workspace_id = i.workspace_id AND p.id = i.profile_id
       WHERE i.workspace_id = $1 AND i.type = $2 AND i.value = $3`,
      [workspaceId, type, value],
    )
    return res.rows[0]
  }

  /** A live profile, or a redirect to the survivor of a merged-away one. */
  async function liveOrRedirect(
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

  app.get('/api/v1/identity/rules', async (req) => {
    const { workspaceId } = await auth.admin(req, 'read:identity')
    const s = await identitySettings.get(db, workspaceId)
    return { rules: s.rules, survivorship: s.survivorship }
  })

  app.put('/api/v1/identity/rules', async (req) => {
    const { workspaceId } = await auth.admin(req, 'write:identity')
    const body = jsonBody(
      req,
      // Strict: a misspelt field is an error, not a silent no-op that rewrites the rules.
      z.strictObject({ rules: z.unknown().optional(), survivorship: z.unknown().optional() }),
    )
    const current = await identitySettings.get(db, workspaceId)
    const rules = body.rules === undefined ? current.rules : parseIdentityRules(body.rules)
    const survivorship =
      body.survivorship === undefined
        ? current.survivorship
        : survivorshipSettingsSchema.parse(body.survivorship)
    await db.query(
      `INSERT INTO identity_settings (workspace_id, rules, survivorship, updated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (workspace_id) DO UPDATE SET rules = EXCLUDED.rules, survivorship = EXCLUDED.survivorship, updated_at = now()`,
      [workspaceId, JSON.stringify(rules), JSON.stringify(survivorship)],
    )
    identitySettings.invalidate(workspaceId)
    return { rules, survivorship }
  })

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
    const row = await lookupProfile(workspaceId, type, normalized.identifier.value)
    if (!row) throw notFound(`profile with ${type} ${normalized.identifier.value}`)
    return {
      id: row.id,
      traits: row.traits,
      identities: row.identities,
      segments: row.segments.map((m) => ({
        id: m.id,
        name: m.name ?? m.id,
        enteredAt: new Date(m.enteredAt).toISOString(),
        exitedAt: null,
      })),
      computedTraits: row.computed.map((c) => ({
        id: c.id,
        name: c.name ?? c.id,
        definition: c.definition,
        value: c.value,
        updatedAt: new Date(c.updatedAt).toISOString(),
      })),
      consent: Object.fromEntries(
        row.consent.map((c) => [
          c.purpose,
          { status: c.status, updatedAt: new Date(c.updatedAt).toISOString() },
        ]),
      ),
      mergeCount: row.merge_count,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
      firstSeenAt: isoOrNull(row.first_seen_at),
      lastSeenAt: isoOrNull(row.last_seen_at),
    }
  })

  app.get('/api/v1/profiles', async (req) => {
    const { workspaceId } = await auth.admin(req, READ)
    const q = parseQuery(pageQuery.extend({ q: z.string().max(200).optional() }), req.query)
    const after = cursor.decode(q.cursor)
    const text = q.q?.trim() ?? ''
    const params: unknown[] = [workspaceId, q.limit + 1]
    let where = 'p.workspace_id = $1 AND p.merged_into IS NULL'
    if (text) {
      const lower = text.toLowerCase()
      params.push(text, `%${likePrefix(lower)}`, likePrefix(text), likePrefix(lower))
      // Identifiers by prefix, as typed or lower-cased (emails are stored lower-cased): two range
      // scans of the identities prefix index. Names by substring.
      where += ` AND (p.id = $3 OR p.id IN (SELECT i.profile_id FROM identities i WHERE i.workspace_id = $1
        AND (i.value LIKE $5 OR i.value LIKE $6))
        OR lower(coalesce(p.traits->>'name', '') || ' ' || coalesce(p.traits->>'first_name', '') || ' ' ||
                 coalesce(p.traits->>'last_name', '') || ' ' || coalesce(p.traits->>'email', '')) LIKE $4)`
    }
    if (after) {
      params.push(after[0], after[1])
      where += ` AND (p.updated_at, p.id) < ($${params.length - 1}::timestamptz, $${params.length}::text)`
    }
    const res = await db.query<ProfileRow>(
      `SELECT p.id, p.traits, p.merged_into, p.created_at, p.updated_at, p.first_seen_at, p.last_seen_at, p.merge_count
       FROM profiles p WHERE ${where} ORDER BY p.updated_at DESC, p.id DESC LIMIT $2`,
      params,
    )
    const page = res.rows.slice(0, q.limit)
    const ids = page.map((p) => p.id)
    const idents = ids.length
      ? await db.query<{ profile_id: string; type: string; value: string }>(
          'SELECT profile_id, type, value FROM identities WHERE workspace_id = $1 AND profile_id = ANY($2) ORDER BY type, value',
          [workspaceId, ids],
        )
      : { rows: [] }
    const byProfile = new Map<string, Identifier[]>()
    for (const i of idents.rows) {
      let list = byProfile.get(i.profile_id)
      if (!list) byProfile.set(i.profile_id, (list = []))
      list.push({ type: i.type, value: i.value })
    }
    const last = page.at(-1)
    return {
      data: page.map((p) => ({
        id: p.id,
        traits: p.traits,
        identities: byProfile.get(p.id) ?? [],
        createdAt: new Date(p.created_at).toISOString(),
        updatedAt: new Date(p.updated_at).toISOString(),
      })),
      nextCursor:
        res.rows.length > q.limit && last
          ? cursor.encode([new Date(last.updated_at).toISOString(), last.id])
          : null,
    }
  })

  app.get<{ Params: { id: string } }>('/api/v1/profiles/:id', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const row = await liveOrRedirect(workspaceId, req.params.id, reply, '')
    return row ? fullProfile(workspaceId, row) : reply
  })

  app.get<{ Params: { id: string } }>('/api/v1/profiles/:id/identities', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const row = await liveOrRedirect(workspaceId, req.params.id, reply, '/identities')
    if (!row) return reply
    const rows = await identitiesOf(workspaceId, row.id)
    return {
      data: rows.map((i) => ({
        type: i.type,
        value: i.value,
        sourceId: i.source_id,
        messageId: i.message_id,
        firstSeenAt: new Date(i.first_seen_at).toISOString(),
      })),
    }
  })

  app.get<{ Params: { id: string } }>('/api/v1/profiles/:id/traits', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const row = await liveOrRedirect(workspaceId, req.params.id, reply, '/traits')
    if (!row) return reply
    const res = await db.query<{ golden: unknown }>(
      'SELECT golden FROM profiles WHERE workspace_id = $1 AND id = $2',
      [workspaceId, row.id],
    )
    const golden = goldenRecordSchema.parse(res.rows[0]?.golden ?? { traits: {} }) as GoldenRecord
    const { survivorship } = await identitySettings.get(db, workspaceId)
    return { data: describeTraits(golden, survivorship) }
  })

  app.get<{ Params: { id: string } }>('/api/v1/profiles/:id/segments', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const row = await liveOrRedirect(workspaceId, req.params.id, reply, '/segments')
    if (!row) return reply
    return { data: await segmentsOf(workspaceId, row.id) }
  })

  app.get<{ Params: { id: string } }>('/api/v1/profiles/:id/merges', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const row = await liveOrRedirect(workspaceId, req.params.id, reply, '/merges')
    if (!row) return reply
    // Merges into this profile, and into any profile that was later merged into it.
    const res = await db.query<{
      id: number
      kind: string
      from_profile_id: string
      into_profile_id: string
      message_id: string | null
      source_id: string | null
      rule: string
      identifiers: Identifier[]
      joined_with: Identifier[]
      details: unknown
      at: Date | string
    }>(
      `SELECT id, kind, from_profile_id, into_profile_id, message_id, source_id, rule, identifiers, joined_with, details, at
       FROM profile_merges m WHERE m.workspace_id = $1 AND (
         m.into_profile_id = $2 OR m.from_profile_id = $2 OR m.into_profile_id IN (
           SELECT id FROM profiles WHERE workspace_id = $1 AND merged_into = $2))
       ORDER BY m.at DESC, m.id DESC LIMIT 1000`,
      [workspaceId, row.id],
    )
    return {
      data: res.rows.map((m) => ({
        id: String(m.id),
        kind: m.kind,
        fromProfileId: m.from_profile_id,
        intoProfileId: m.into_profile_id,
        at: new Date(m.at).toISOString(),
        reason:
          m.kind === 'split'
            ? 'split requested'
            : m.rule === 'alias'
              ? 'alias call'
              : m.rule === 'probabilistic'
                ? 'probabilistic match'
                : 'shared identifier',
        rule: m.rule,
        identifiers: m.identifiers,
        joinedWith: m.joined_with,
        messageId: m.message_id,
        sourceId: m.source_id,
        details: m.details,
      })),
    }
  })

  app.get<{ Params: { id: string } }>('/api/v1/profiles/:id/events', async (req, reply) => {
    const { workspaceId } = await auth.admin(req, READ)
    const q = parseQuery(
      pageQuery.extend({
        type: z.string().max(20).optional(),
        event: z.string().max(1024).optional(),
      }),
      req.query,
    )
    const row = await liveOrRedirect(workspaceId, req.params.id, reply, '/events')
    if (!row) return reply
    const after = cursor.decode(q.cursor)
    const params: unknown[] = [workspaceId, row.id, q.limit + 1]
    let where = 'workspace_id = $1 AND profile_id = $2'
    if (q.type) {
      params.push(q.type)
      where += ` AND type = $${params.length}`
    }
    if (q.event) {
      params.push(q.event)
      where += ` AND event = $${params.length}`
    }
    if (after) {
      params.push(after[0], after[1])
      where += ` AND ("timestamp", message_id) < ($${params.length - 1}::timestamptz, $${params.length}::text)`
    }
    const res = await db.query<{
      message_id: string
      type: string
      event: string | null
      timestamp: Date | string
      received_at: Date | string
      source_id: string
      properties: Record<string, unknown>
      traits: Record<string, unknown>
      context: Record<string, unknown>
      payload: Record<string, unknown>
    }>(
      `SELECT message_id, type, event, "timestamp", received_at, source_id, properties, traits, context, payload
       FROM events WHERE ${where} ORDER BY "timestamp" DESC, message_id DESC LIMIT $3`,
      params,
    )
    const page = res.rows.slice(0, q.limit)
    const last = page.at(-1)
    return {
      data: page.map((e) => ({
        messageId: e.message_id,
        type: e.type,
        event: e.event,
        timestamp: new Date(e.timestamp).toISOString(),
        receivedAt: new Date(e.received_at).toISOString(),
        sourceId: e.source_id,
        userId: e.payload.userId ?? null,
        anonymousId: e.payload.anonymousId ?? null,
        properties: e.properties,
        traits: e.traits,
        context: e.context,
      })),
      nextCursor:
        res.rows.length > q.limit && last
          ? cursor.encode([new Date(last.timestamp).toISOString(), last.message_id])
          : null,
    }
  })

  app.post<{ Params: { id: string } }>('/api/v1/profiles/:id/split', async (req) => {
    const { workspaceId, key } = await auth.admin(req, 'write:profiles')
    const body = jsonBody(
      req,
      z.object({
        identifiers: z
          .array(z.object({ type: z.string().min(1).max(64), value: z.string().min(1).max(1024) }))
          .min(1)
          .max(1000),
      }),
    )
    const settings = await identitySettings.get(db, workspaceId)
    const detach: Identifier[] = body.identifiers.map((i) => {
      const type = normalizeIdentifierType(i.type)
      const n = type ? normalizeIdentifier(type, i.value, settings.compiled) : undefined
      if (!n?.ok)
        throw new KindredError('VALIDATION_FAILED', `"${i.value}" is not a usable ${i.type}`)
      return n.identifier
    })
    const at = ctx.clock().getTime()
    return db.transaction(async (tx) => {
      const row = await loadProfile(tx, workspaceId, req.params.id)
      if (!row) throw notFound(`profile ${req.params.id}`)
      if (row.merged_into !== null) {
        throw new KindredError(
          'CONFLICT',
          `profile ${row.id} was merged into ${row.merged_into}; split that profile`,
        )
      }
      await tx.query('SELECT id FROM profiles WHERE workspace_id = $1 AND id = $2 FOR UPDATE', [
        workspaceId,
        row.id,
      ])
      const idents = await tx.query<Identifier>(
        'SELECT type, value FROM identities WHERE workspace_id = $1 AND profile_id = $2 ORDER BY type, value',
        [workspaceId, row.id],
      )
      const evRows = await tx.query<{
        source_id: string
        payload: Record<string, unknown>
        properties: unknown
        traits: unknown
        context: unknown
      }>(
        `SELECT source_id, payload, properties, traits, context FROM events
         WHERE workspace_id = $1 AND profile_id = $2 ORDER BY received_at, seq`,
        [workspaceId, row.id],
      )
      const events = evRows.rows.map((r) => ({ sourceId: r.source_id, event: eventFromRow(r) }))
      const seed = `split:${row.id}:${detach.map(identifierKey).sort().join(',')}`
      const plan = planSplit({
        profile: { id: row.id, identifiers: idents.rows },
        detach,
        events: events.map(({ sourceId, event }) => {
          const extracted = extractIdentifiers(event, settings.compiled)
          return {
            messageId: event.messageId,
            sourceId,
            timestamp: Date.parse(event.receivedAt),
            identifiers: extracted.identifiers,
            ...(extracted.previousId === undefined ? {} : { previousId: extracted.previousId }),
          }
        }),
        rules: settings.rules,
        newProfileId: deterministicProfileIds(workspaceId)({ messageId: seed }, at),
        at,
        requestedBy: key.id,
      })
      const newId = plan.newProfile.id
      await tx.query(
        `INSERT INTO profiles (workspace_id, id, created_at, updated_at, identifier_counts)
         VALUES ($1, $2, to_timestamp($3 / 1000.0), now(), $4)`,
        [workspaceId, newId, plan.newProfile.createdAt, JSON.stringify(plan.counts.created)],
      )
      await tx.query(
        `UPDATE identities i SET profile_id = $3 FROM unnest($4::text[], $5::text[]) AS d(type, value)
         WHERE i.workspace_id = $1 AND i.profile_id = $2 AND i.type = d.type AND i.value = d.value`,
        [
          workspaceId,
          row.id,
          newId,
          plan.detached.map((d) => d.type),
          plan.detached.map((d) => d.value),
        ],
      )
      if (plan.movedEvents.length > 0) {
        await tx.query(
          `UPDATE events e SET profile_id = $3 FROM unnest($4::text[], $5::text[]) AS m(source_id, message_id)
           WHERE e.workspace_id = $1 AND e.profile_id = $2 AND e.source_id = m.source_id AND e.message_id = m.message_id`,
          [
            workspaceId,
            row.id,
            newId,
            plan.movedEvents.map((m) => m.sourceId ?? ''),
            plan.movedEvents.map((m) => m.messageId),
          ],
        )
      }
      await splitConsent(tx, {
        workspaceId,
        originalId: row.id,
        newId,
        events,
        moved: plan.movedEvents,
      })
      const updates: TraitUpdate[] = []
      for (const { sourceId, event } of events) {
        const u = traitUpdateFromEvent(event, {
          sourceId,
          messageId: event.messageId,
          at: Date.parse(event.timestamp),
        })
        if (u) updates.push(u)
      }
      const records = recomputeSplitRecords(updates, plan.movedEvents, settings.survivorship)
      const firstLast = (side: 'moved' | 'kept') => {
        const moved = new Set(plan.movedEvents.map((m) => `${m.sourceId}/${m.messageId}`))
        const times = events
          .filter((e) => moved.has(`${e.sourceId}/${e.event.messageId}`) === (side === 'moved'))
          .map((e) => Date.parse(e.event.timestamp))
        return times.length
          ? [new Date(Math.min(...times)).toISOString(), new Date(Math.max(...times)).toISOString()]
          : [null, null]
      }
      for (const [id, record, counts, side] of [
        [row.id, records.original, plan.counts.original, 'kept'],
        [newId, records.created, plan.counts.created, 'moved'],
      ] as const) {
        const [first, last] = firstLast(side)
        await tx.query(
          `UPDATE profiles SET golden = $3, traits = $4, identifier_counts = $5, first_seen_at = $6, last_seen_at = $7, updated_at = now()
           WHERE workspace_id = $1 AND id = $2`,
          [
            workspaceId,
            id,
            JSON.stringify(record),
            JSON.stringify(materializeTraits(record)),
            JSON.stringify(counts),
            first,
            last,
          ],
        )
      }
      // The split sticks: later events carrying identifiers of both sides do not re-merge them.
      await tx.query(
        `INSERT INTO profile_separations (workspace_id, profile_id, other_profile_id, reason, created_at)
         VALUES ($1, $2, $3, 'split', to_timestamp($4 / 1000.0)), ($1, $3, $2, 'split', to_timestamp($4 / 1000.0))`,
        [workspaceId, row.id, newId, at],
      )
      await tx.query(
        `INSERT INTO profile_merges (workspace_id, kind, from_profile_id, into_profile_id, rule, identifiers, details, at)
         VALUES ($1, 'split', $2, $3, 'split', $4, $5, to_timestamp($6 / 1000.0))`,
        [
          workspaceId,
          row.id,
          newId,
          JSON.stringify(plan.detached),
          JSON.stringify(plan.record),
          at,
        ],
      )
      return {
        profileId: row.id,
        newProfileId: newId,
        movedEvents: plan.movedEvents.length,
        detached: plan.detached,
      }
    })
  })
}
