import type {
  Classification,
  ClassifyContext,
  Destination,
  DestinationInput,
  HttpResponseLike,
  InputOf,
  ProfileSnapshot,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { normalisePhoneE164 } from '../shared/hashing.js'
import {
  chunk,
  idempotencyKey,
  jsonRequests,
  partitionSupported,
  profileEmail,
  profilePhone,
  profileUserId,
  resolveListId,
  skip,
} from '../shared/profile-fields.js'
import { manifest, type KlaviyoSettings } from './manifest.js'

const API = 'https://a.klaviyo.com/api'
const STANDARD: Record<string, string> = {
  first_name: 'first_name',
  last_name: 'last_name',
  organization: 'organization',
  title: 'title',
  image: 'image',
}
const IDENTIFIERS = new Set(['email', 'phone', 'phone_number', 'user_id', 'external_id'])

/** A Klaviyo `profile` resource: standard attributes, the rest of the traits as properties. */
export function klaviyoProfile(
  profile: ProfileSnapshot,
  email: string | undefined,
  defaultCountry = 'US',
) {
  const attributes: Record<string, unknown> = {}
  if (email) attributes.email = email
  const phone = klaviyoPhone(profile, defaultCountry)
  if (phone) attributes.phone_number = phone
  const externalId = profileUserId(profile)
  if (externalId) attributes.external_id = externalId
  const properties: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(profile.traits)) {
    if (v === undefined || IDENTIFIERS.has(k)) continue
    const std = STANDARD[k]
    if (std) attributes[std] = v
    else properties[k] = v
  }
  properties.kindred_profile_id = profile.id
  attributes.properties = properties
  return { type: 'profile', attributes }
}

/** E.164, as Klaviyo's `phone_number` requires; national numbers read in `defaultCountry`. */
function klaviyoPhone(profile: ProfileSnapshot, defaultCountry: string): string | undefined {
  return normalisePhoneE164(profilePhone(profile), defaultCountry)
}

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<KlaviyoSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const s = ctx.settings
  const headers = {
    authorization: `Klaviyo-API-Key ${s.privateApiKey}`,
    revision: s.revision,
    accept: 'application/vnd.api+json',
    'content-type': 'application/vnd.api+json',
  }
  const http = jsonRequests(ctx.destinationId, 'klaviyo', headers)
  const importJob = (
    items: { id: string; profile: ProfileSnapshot; email?: string }[],
    listId?: string,
  ) => {
    const attributes = {
      profiles: { data: items.map((i) => klaviyoProfile(i.profile, i.email, s.defaultCountry)) },
    }
    const data: Record<string, unknown> = { type: 'profile-bulk-import-job', attributes }
    if (listId) data.relationships = { lists: { data: [{ type: 'list', id: listId }] } }
    return http(
      listId ? `import:${listId}` : 'import',
      items.map((i) => i.id),
      'POST',
      `${API}/profile-bulk-import-jobs`,
      { data },
    )
  }

  const upserts: { id: string; profile: ProfileSnapshot; email?: string }[] = []
  const adds = new Map<string, { id: string; profile: ProfileSnapshot; email: string }[]>()
  const removes = new Map<string, { id: string; email: string }[]>()
  for (const input of supported) {
    const email = profileEmail(input.profile)
    if (input.kind === 'profile') {
      // The identifiers as they will be sent: a phone that does not parse is not sent, so it
      // cannot be the profile's identifier (Klaviyo would accept the job and drop the profile).
      if (
        !email &&
        !klaviyoPhone(input.profile, s.defaultCountry) &&
        !profileUserId(input.profile)
      ) {
        result.skipped.push(
          skip(
            input.id,
            'MISSING_IDENTIFIER',
            'Klaviyo needs an email, a valid phone (E.164, or national in defaultCountry) or a user id',
          ),
        )
      } else
        upserts.push(
          email
            ? { id: input.id, profile: input.profile, email }
            : { id: input.id, profile: input.profile },
        )
      continue
    }
    if (!email) {
      result.skipped.push(
        skip(input.id, 'MISSING_IDENTIFIER', 'Klaviyo list sync and deletion use the email'),
      )
      continue
    }
    if (input.kind === 'delete') {
      result.effects.push(
        http('delete', [input.id], 'POST', `${API}/data-privacy-deletion-jobs`, {
          data: {
            type: 'data-privacy-deletion-job',
            attributes: { profile: { data: { type: 'profile', attributes: { email } } } },
          },
        }),
      )
      continue
    }
    const a = input as InputOf<'audience'>
    const listId = resolveListId(s.listId, s.listIdsByAudience, a.audience.key)
    if (!listId) {
      result.skipped.push(
        skip(
          input.id,
          'NO_LIST_CONFIGURED',
          `no Klaviyo list for audience ${a.audience.key}: set listId or listIdsByAudience`,
        ),
      )
      continue
    }
    if (a.action === 'add') {
      adds.set(listId, [...(adds.get(listId) ?? []), { id: a.id, profile: a.profile, email }])
    } else {
      removes.set(listId, [...(removes.get(listId) ?? []), { id: a.id, email }])
    }
  }
  if (upserts.length > 0) result.effects.push(importJob(upserts))
  for (const [listId, items] of adds) result.effects.push(importJob(items, listId))
  for (const [listId, items] of removes) {
    for (const part of chunk(items, 100)) {
      const itemIds = part.map((p) => p.id)
      const chain = `klaviyo:remove:${idempotencyKey(ctx.destinationId, listId, itemIds)}`
      const filter = `any(email,[${part.map((p) => JSON.stringify(p.email)).join(',')}])`
      result.effects.push(
        http(
          'lookup',
          itemIds,
          'GET',
          `${API}/profiles?filter=${encodeURIComponent(filter)}&fields%5Bprofile%5D=email&page%5Bsize%5D=100`,
          null,
          {
            chain,
            captures: [{ name: 'profiles', pointer: '/data', pick: ['type', 'id'] }],
          },
        ),
        http(
          `remove:${listId}`,
          itemIds,
          'DELETE',
          `${API}/lists/${encodeURIComponent(listId)}/relationships/profiles`,
          { data: '${profiles}' },
          {
            chain,
            skipIfEmpty: 'profiles',
          },
        ),
      )
    }
  }
  return result
}

/** Klaviyo answers JSON:API errors; 429 carries Retry-After. The shared rules read both. */
export function classifyResponse(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  return defaultClassify(res, ctx)
}

export const klaviyo: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse,
})
