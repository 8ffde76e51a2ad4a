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
import { defaultClassify, parseJson } from '../shared/classify.js'
import {
  chunk,
  idempotencyKey,
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
  type Item = { id: string; email: string; profile: ProfileSnapshot }
  const upsertBody = (items: Item[]) => ({
    inputs: items.map((i) => ({
      id: i.email,
      idProperty: 'email',
      properties: { ...stringify(mapTraits(i.profile.traits, s.propertyMapping)), email: i.email },
    })),
  })
  const keys = (items: Item[]) => Object.fromEntries(items.map((i) => [i.email, i.id]))

  const upserts: Item[] = []
  const adds = new Map<string, Item[]>()
  const removes = new Map<string, Item[]>()
  for (const input of supported) {
    if (input.kind === 'event') continue
    const email = profileEmail(input.profile)
    if (!email) {
      result.skipped.push(
        skip(input.id, 'MISSING_IDENTIFIER', 'HubSpot contacts are matched by email'),
      )
      continue
    }
    const item = { id: input.id, email, profile: input.profile }
    if (input.kind === 'profile') upserts.push(item)
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
      map.set(listId, [...(map.get(listId) ?? []), item])
    }
  }
  for (const part of chunk(upserts, 100)) {
    result.effects.push(
      http(
        'upsert',
        part.map((p) => p.id),
        'POST',
        `${API}/crm/v3/objects/contacts/batch/upsert`,
        upsertBody(part),
        { itemKeys: keys(part) },
      ),
    )
  }
  const membership = (listId: string, items: Item[], add: boolean) => {
    const itemIds = items.map((p) => p.id)
    const chain = `hubspot:${add ? 'add' : 'remove'}:${idempotencyKey(ctx.destinationId, listId, itemIds)}`
    // Adding creates missing contacts (upsert); removing only looks them up (batch read).
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
    for (const part of chunk(items, 100)) membership(listId, part, true)
  for (const [listId, items] of removes)
    for (const part of chunk(items, 100)) membership(listId, part, false)
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
      const matched = Object.entries(keys).filter(
        ([email]) =>
          ids.some((i) => i.toLowerCase() === email) || message.toLowerCase().includes(email),
      )
      if (matched.length === 0) unattributed++
      for (const [, itemId] of matched)
        failed.set(itemId, { itemId, message, retryable: e.category === 'RATE_LIMITS' })
    }
    if (unattributed > 0)
      return { outcome: 'fail', message: `HTTP 207: ${errors[0]?.message ?? 'batch errors'}` }
    return failed.size === 0
      ? { outcome: 'success' }
      : { outcome: 'partial', failed: [...failed.values()] }
  }
  return defaultClassify(res, ctx)
}

export const hubspot: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse,
})
