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
import {
  defaultClassify,
  delayUntilEpochSeconds,
  parseJson,
  quotaRetry,
} from '../shared/classify.js'
import { normaliseEmail } from '../shared/hashing.js'
import {
  chunk,
  idempotencyKey,
  itemIdsOfKey,
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

const RESERVED = new Set(['user_id', 'userId', 'id', 'external_id'])

/**
 * User attributes from traits. `phone_number` is Braze's `phone` profile field; the email is
 * trimmed and lower-cased (Braze answers 400 for whitespace in an email, which fails the whole
 * request), and an email that is not an address is left out rather than sink the batch.
 */
function attributesFrom(traits: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(traits)) {
    if (v === undefined || RESERVED.has(k)) continue
    if (k === 'email') {
      const email = normaliseEmail(v)
      if (email) out.email = email
      continue
    }
    out[k === 'phone_number' ? 'phone' : k] = v
  }
  return out
}

/** Braze's event property limits (event object docs): names and string values. */
const MAX_PROPERTY_CHARS = 255

/**
 * Event properties Braze accepts: names without leading `$` (stripped; a name that is only
 * dollars is dropped), names of at most 255 characters (longer ones dropped: a cut name would
 * collide or mislead), string values cut to 255 characters.
 */
export function eventProperties(props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(props)) {
    const name = k.replace(/^\$+/, '')
    if (name === '' || name.length > MAX_PROPERTY_CHARS || v === undefined) continue
    out[name] = typeof v === 'string' ? v.slice(0, MAX_PROPERTY_CHARS) : v
  }
  return out
}

/**
 * An alias-only user exists in Braze only if an attributes object with `_update_existing_only:
 * false` creates it: without it alias attributes are dropped, and alias events are always
 * update-only, so an unknown alias's events vanish behind a 201.
 */
function aliasCreate(id: Ident): Record<string, unknown> {
  return 'user_alias' in id ? { _update_existing_only: false } : {}
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
  // The objects of one input stay together (an alias's creation before its event).
  const objects: Obj[][] = []
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
        const value = {
          ...id,
          name: e.event,
          time: e.timestamp,
          properties: eventProperties(e.properties),
        }
        const event: Obj = { itemId: input.id, array: 'events', value }
        objects.push(
          'user_alias' in id
            ? [
                { itemId: input.id, array: 'attributes', value: { ...id, ...aliasCreate(id) } },
                event,
              ]
            : [event],
        )
      } else if (e.type === 'identify') {
        objects.push([
          {
            itemId: input.id,
            array: 'attributes',
            value: { ...id, ...aliasCreate(id), ...attributesFrom(e.traits) },
          },
        ])
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
      objects.push([
        {
          itemId: input.id,
          array: 'attributes',
          value: { ...id, ...attributesFrom(input.profile.traits) },
        },
      ])
    } else {
      const op = input.action === 'add' ? 'add' : 'remove'
      objects.push([
        {
          itemId: input.id,
          array: 'attributes',
          value: { ...id, [s.audienceAttribute]: { [op]: [input.audience.key] } },
        },
      ])
    }
  }
  for (const part of packObjects(objects, s.maxObjectsPerRequest)) {
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

/** Inputs' objects packed into requests of at most `max` objects, an input never split. */
function packObjects<T>(groups: T[][], max: number): T[][] {
  const out: T[][] = []
  let current: T[] = []
  for (const g of groups) {
    if (current.length > 0 && current.length + g.length > max) {
      out.push(current)
      current = []
    }
    current.push(...g)
  }
  if (current.length > 0) out.push(current)
  return out
}

/** 201 can carry non-fatal per-object `errors: [{type, input_array, index}]`. */
export function classifyResponse(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  const base = defaultClassify(res, ctx)
  // Braze states its limits in X-RateLimit-Limit/-Remaining/-Reset (UTC epoch seconds), with no
  // Retry-After: https://www.braze.com/docs/api/api_limits/#monitoring-your-rate-limits
  if (res.status === 429 && base.outcome === 'retry') {
    const reset = delayUntilEpochSeconds(res.headers['x-ratelimit-reset'], ctx.now)
    if (reset !== undefined) return quotaRetry(base.message, reset)
  }
  if (base.outcome !== 'success' || !ctx.effect.itemKeys) return base
  const json = parseJson(res.body) as
    { errors?: { type?: string; input_array?: string; index?: number }[] } | undefined
  const failed = new Map<string, { itemId: string; message: string; retryable: boolean }>()
  for (const e of json?.errors ?? []) {
    for (const itemId of itemIdsOfKey(ctx.effect.itemKeys, `${e.input_array}:${e.index}`))
      failed.set(itemId, { itemId, message: e.type ?? 'rejected by Braze', retryable: false })
  }
  return failed.size > 0 ? { outcome: 'partial', failed: [...failed.values()] } : base
}

export const braze: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse,
})
