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
  partitionSupported,
  profileUserId,
  skip,
} from '../shared/profile-fields.js'
import { manifest, type BrazeSettings } from './manifest.js'

type Ident = { external_id: string } | { user_alias: { alias_name: string; alias_label: string } }

/** Braze user: the customer's user id; else the Kindred profile id; else an anonymous alias. */
function ident(
  profile: ProfileSnapshot | null,
  userId?: string | null,
  anonymousId?: string | null,
): Ident | undefined {
  const ext = userId ?? profileUserId(profile) ?? profile?.id
  if (ext) return { external_id: ext }
  if (anonymousId) return { user_alias: { alias_name: anonymousId, alias_label: 'anonymous_id' } }
  return undefined
}

const RESERVED = new Set(['user_id', 'userId', 'id', 'external_id', 'phone_number'])

function attributesFrom(traits: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(traits)) {
    if (v === undefined || RESERVED.has(k)) continue
    out[k === 'phone_number' ? 'phone' : k] = v
  }
  return out
}

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<BrazeSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const s = ctx.settings
  const base = s.restEndpoint.replace(/\/+$/, '')
  const headers = { authorization: `Bearer ${s.apiKey}`, 'content-type': 'application/json' }

  type Obj = { itemId: string; array: 'attributes' | 'events'; value: Record<string, unknown> }
  const objects: Obj[] = []
  const deletes: { itemId: string; externalId: string }[] = []
  for (const input of supported) {
    if (input.kind === 'delete') {
      const id = ident(input.profile)
      if (id && 'external_id' in id) deletes.push({ itemId: input.id, externalId: id.external_id })
      else result.skipped.push(skip(input.id, 'MISSING_IDENTIFIER', 'no external id to delete'))
      continue
    }
    if (input.kind === 'event') {
      const e = input.event
      const id = ident(input.profile, e.userId, e.anonymousId)
      if (!id) {
        result.skipped.push(skip(input.id, 'MISSING_IDENTIFIER', 'event has no user'))
      } else if (e.type === 'track' && e.event) {
        objects.push({
          itemId: input.id,
          array: 'events',
          value: { ...id, name: e.event, time: e.timestamp, properties: e.properties },
        })
      } else if (e.type === 'identify') {
        objects.push({
          itemId: input.id,
          array: 'attributes',
          value: { ...id, ...attributesFrom(e.traits) },
        })
      } else {
        result.skipped.push(
          skip(
            input.id,
            'UNSUPPORTED_EVENT_TYPE',
            `Braze receives track and identify events, not ${e.type}`,
          ),
        )
      }
      continue
    }
    const id = ident(input.profile)
    if (!id) {
      result.skipped.push(skip(input.id, 'MISSING_IDENTIFIER', 'profile has no id'))
    } else if (input.kind === 'profile') {
      objects.push({
        itemId: input.id,
        array: 'attributes',
        value: { ...id, ...attributesFrom(input.profile.traits) },
      })
    } else {
      const op = input.action === 'add' ? 'add' : 'remove'
      objects.push({
        itemId: input.id,
        array: 'attributes',
        value: { ...id, [s.audienceAttribute]: { [op]: [input.audience.key] } },
      })
    }
  }
  for (const part of chunk(objects, 75)) {
    const attributes = part.filter((o) => o.array === 'attributes')
    const events = part.filter((o) => o.array === 'events')
    const body: Record<string, unknown> = {}
    if (attributes.length > 0) body.attributes = attributes.map((o) => o.value)
    if (events.length > 0) body.events = events.map((o) => o.value)
    const itemKeys: Record<string, string> = {}
    attributes.forEach((o, i) => (itemKeys[`attributes:${i}`] = o.itemId))
    events.forEach((o, i) => (itemKeys[`events:${i}`] = o.itemId))
    const itemIds = [...new Set(part.map((o) => o.itemId))]
    result.effects.push({
      type: 'http',
      method: 'POST',
      url: `${base}/users/track`,
      headers,
      body: JSON.stringify(body),
      idempotencyKey: idempotencyKey(ctx.destinationId, 'braze:track', itemIds),
      itemIds,
      itemKeys,
    })
  }
  for (const part of chunk(deletes, 50)) {
    const itemIds = part.map((d) => d.itemId)
    result.effects.push({
      type: 'http',
      method: 'POST',
      url: `${base}/users/delete`,
      headers,
      body: JSON.stringify({ external_ids: part.map((d) => d.externalId) }),
      idempotencyKey: idempotencyKey(ctx.destinationId, 'braze:delete', itemIds),
      itemIds,
    })
  }
  return result
}

/** 201 can carry non-fatal per-object `errors: [{type, input_array, index}]`. */
export function classifyResponse(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  const base = defaultClassify(res, ctx)
  if (base.outcome !== 'success' || !ctx.effect.itemKeys) return base
  const json = parseJson(res.body) as
    { errors?: { type?: string; input_array?: string; index?: number }[] } | undefined
  const failed = new Map<string, { itemId: string; message: string; retryable: boolean }>()
  for (const e of json?.errors ?? []) {
    const itemId = ctx.effect.itemKeys[`${e.input_array}:${e.index}`]
    if (itemId)
      failed.set(itemId, { itemId, message: e.type ?? 'rejected by Braze', retryable: false })
  }
  return failed.size > 0 ? { outcome: 'partial', failed: [...failed.values()] } : base
}

export const braze: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse,
})
