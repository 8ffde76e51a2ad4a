import type {
  Classification,
  ClassifyContext,
  Destination,
  DestinationInput,
  HttpResponseLike,
  ProfileSnapshot,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify, parseJson, quotaRetry } from '../shared/classify.js'
import {
  chunk,
  idempotencyKey,
  itemIdsOfKey,
  mapTraits,
  jsonRequests,
  partitionSupported,
  profileEmail,
  resolveListId,
  skip,
} from '../shared/profile-fields.js'
import { manifest, type HubspotSettings } from './manifest.js'

const API = 'https://api.hubapi.com'

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<HubspotSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const s = ctx.settings
  const headers = { authorization: `Bearer ${s.accessToken}`, 'content-type': 'application/json' }
  const http = jsonRequests(ctx.destinationId, 'hubspot', headers)
  // One record per email: HubSpot refuses a unique-property batch that names a record twice,
  // so jobs for the same contact are merged (traits in job order, the later one wins) and the
  // record is attributed to all of them.
  type Item = { ids: string[]; email: string; traits: Record<string, unknown> }
  const upsertBody = (items: Item[]) => ({
    inputs: items.map((i) => ({
      id: i.email,
      idProperty: 'email',
      properties: { ...stringify(mapTraits(i.traits, s.propertyMapping)), email: i.email },
    })),
  })
  const keys = (items: Item[]) =>
    Object.fromEntries(
      items.map((i): [string, string | string[]] => [
        i.email,
        i.ids.length === 1 ? i.ids[0]! : i.ids,
      ]),
    )
  const idsOf = (items: Item[]) => items.flatMap((i) => i.ids)
  const add = (into: Map<string, Item>, id: string, email: string, profile: ProfileSnapshot) => {
    const hit = into.get(email)
    if (hit) {
      hit.ids.push(id)
      hit.traits = { ...hit.traits, ...profile.traits }
    } else into.set(email, { ids: [id], email, traits: { ...profile.traits } })
  }

  const upserts = new Map<string, Item>()
  const adds = new Map<string, Map<string, Item>>()
  const removes = new Map<string, Map<string, Item>>()
  for (const input of supported) {
    if (input.kind === 'event') continue
    const email = profileEmail(input.profile)
    if (!email) {
      result.skipped.push(
        skip(input.id, 'MISSING_IDENTIFIER', 'HubSpot contacts are matched by email'),
      )
      continue
    }
    if (input.kind === 'profile') add(upserts, input.id, email, input.profile)
    else if (input.kind === 'delete') {
      result.effects.push(
        http(
          'delete',
          [input.id],
          'POST',
          `${API}/crm/v3/objects/contacts/gdpr-delete`,
          { objectId: email, idProperty: 'email' },
          { okStatuses: [404] },
        ),
      )
    } else if (input.kind === 'audience') {
      const listId = resolveListId(s.listId, s.listIdsByAudience, input.audience.key)
      if (!listId) {
        result.skipped.push(
          skip(
            input.id,
            'NO_LIST_CONFIGURED',
            `no HubSpot list for audience ${input.audience.key}: set listId or listIdsByAudience`,
          ),
        )
        continue
      }
      const map = input.action === 'add' ? adds : removes
      const members = map.get(listId) ?? new Map<string, Item>()
      map.set(listId, members)
      add(members, input.id, email, input.profile)
    }
  }
  for (const part of chunk([...upserts.values()], 100)) {
    result.effects.push(
      http(
        'upsert',
        idsOf(part),
        'POST',
        `${API}/crm/v3/objects/contacts/batch/upsert`,
        upsertBody(part),
        {
          itemKeys: keys(part),
        },
      ),
    )
  }
  const membership = (listId: string, items: Item[], add: boolean) => {
    const itemIds = idsOf(items)
    const chain = `hubspot:${add ? 'add' : 'remove'}:${idempotencyKey(ctx.destinationId, listId, itemIds)}`
    // Adding creates missing contacts (upsert); removing only looks them up (batch read, whose
    // body the spec requires to name propertiesWithHistory, even empty).
    const first = add
      ? http(
          `upsert:${listId}`,
          itemIds,
          'POST',
          `${API}/crm/v3/objects/contacts/batch/upsert`,
          upsertBody(items),
          { itemKeys: keys(items) },
        )
      : http(`read:${listId}`, itemIds, 'POST', `${API}/crm/v3/objects/contacts/batch/read`, {
          idProperty: 'email',
          inputs: items.map((i) => ({ id: i.email })),
          properties: ['email'],
          propertiesWithHistory: [],
        })
    result.effects.push(
      { ...first, chain, captures: [{ name: 'recordIds', pointer: '/results/*/id' }] },
      http(
        `members:${listId}`,
        itemIds,
        'PUT',
        `${API}/crm/v3/lists/${encodeURIComponent(listId)}/memberships/add-and-remove`,
        {
          recordIdsToAdd: add ? '${recordIds}' : [],
          recordIdsToRemove: add ? [] : '${recordIds}',
        },
        { chain, skipIfEmpty: 'recordIds' },
      ),
    )
  }
  for (const [listId, items] of adds)
    for (const part of chunk([...items.values()], 100)) membership(listId, part, true)
  for (const [listId, items] of removes)
    for (const part of chunk([...items.values()], 100)) membership(listId, part, false)
  return result
}

/** HubSpot properties are strings on the wire. */
function stringify(props: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(props).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  )
}

/**
 * HubSpot batch endpoints answer 207 Multi-Status with `errors[]`; each error names the inputs it
 * concerns in `context.ids` (or only in its message). Errors that name none of our records make the
 * whole request fail, so the dispatcher bisects it.
 */
export function classifyResponse(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  const keys = ctx.effect.itemKeys
  if (res.status === 207 && keys) {
    const json = parseJson(res.body) as
      | { errors?: { message?: string; context?: Record<string, unknown>; category?: string }[] }
      | undefined
    const errors = json?.errors ?? []
    const failed = new Map<string, { itemId: string; message: string; retryable: boolean }>()
    let unattributed = 0
    for (const e of errors) {
      const ids = [e.context?.ids, e.context?.id]
        .flat()
        .filter((x): x is string => typeof x === 'string')
      const message = e.message ?? e.category ?? 'error'
      const matched = Object.keys(keys).filter(
        (email) =>
          ids.some((i) => i.toLowerCase() === email) || message.toLowerCase().includes(email),
      )
      if (matched.length === 0) unattributed++
      for (const email of matched)
        for (const itemId of itemIdsOfKey(keys, email))
          failed.set(itemId, { itemId, message, retryable: e.category === 'RATE_LIMITS' })
    }
    if (unattributed > 0)
      return { outcome: 'fail', message: `HTTP 207: ${errors[0]?.message ?? 'batch errors'}` }
    return failed.size === 0
      ? { outcome: 'success' }
      : { outcome: 'partial', failed: [...failed.values()] }
  }
  if (res.status === 429) return classifyLimit(res, ctx)
  return defaultClassify(res, ctx)
}

const QUARTER_HOUR = 15 * 60_000

/**
 * HubSpot's 429s name the limit they hit (`policyName`) and state it in `X-HubSpot-RateLimit-*`
 * headers, with no Retry-After (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines).
 * - DAILY: resets at midnight in the account's time zone, which the API does not say. Every
 *   time zone in use is offset by a multiple of 15 minutes, so the job waits for the next
 *   quarter hour and tries again, without using an attempt: a day of 429s costs at most 96
 *   requests, and the first quarter hour after the reset gets through.
 * - the secondly / ten-secondly rolling limit: wait the stated interval
 *   (`X-HubSpot-RateLimit-Interval-Milliseconds`), also a quota wait.
 * A Retry-After, should HubSpot send one, wins (the shared rules).
 */
function classifyLimit(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  const base = defaultClassify(res, ctx)
  if (base.outcome !== 'retry' || base.retryAfterMs !== undefined) return base
  const json = parseJson(res.body) as { policyName?: string } | undefined
  const policy = json?.policyName ?? ''
  if (policy === 'DAILY' || res.headers['x-hubspot-ratelimit-daily-remaining'] === '0') {
    const next = (Math.floor(ctx.now / QUARTER_HOUR) + 1) * QUARTER_HOUR
    return quotaRetry(`${base.message} (daily limit: waiting for its reset)`, next - ctx.now)
  }
  const interval = Number(res.headers['x-hubspot-ratelimit-interval-milliseconds'])
  if (Number.isFinite(interval) && interval > 0) return quotaRetry(base.message, interval)
  return base
}

export const hubspot: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse,
})
