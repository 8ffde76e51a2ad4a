import type {
  Destination,
  DestinationInput,
  HttpEffect,
  ProfileSnapshot,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { normaliseEmailForGoogle, normalisePhoneE164, sha256Hex } from '../shared/hashing.js'
import { idempotencyKey, partitionSupported, profilePhone, skip } from '../shared/profile-fields.js'
import { manifest, type GoogleAdsSettings } from './manifest.js'

/** Hashed identifiers for one profile, as Customer Match `userIdentifiers`. */
export function userIdentifiers(profile: ProfileSnapshot, defaultCountry: string) {
  const ids: Record<string, string>[] = []
  const rawEmail = profile.traits.email ?? profile.identities.find((i) => i.type === 'email')?.value
  const email = normaliseEmailForGoogle(rawEmail)
  if (email) ids.push({ hashedEmail: sha256Hex(email) })
  const phone = normalisePhoneE164(profilePhone(profile), defaultCountry)
  if (phone) ids.push({ hashedPhoneNumber: sha256Hex(phone) })
  return ids
}

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<GoogleAdsSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const s = ctx.settings
  const operations: Record<string, unknown>[] = []
  const itemIds: string[] = []
  for (const input of supported) {
    if (input.kind !== 'audience') continue
    const ids = userIdentifiers(input.profile, s.defaultCountry)
    if (ids.length === 0) {
      result.skipped.push(
        skip(input.id, 'MISSING_IDENTIFIER', 'Customer Match needs an email or a valid phone'),
      )
      continue
    }
    operations.push({ [input.action === 'add' ? 'create' : 'remove']: { userIdentifiers: ids } })
    itemIds.push(input.id)
  }
  if (operations.length === 0) return result

  const root = `https://googleads.googleapis.com/${s.apiVersion}`
  const headers: Record<string, string> = {
    authorization: `Bearer ${s.accessToken}`,
    'developer-token': s.developerToken,
    'content-type': 'application/json',
  }
  if (s.loginCustomerId) headers['login-customer-id'] = s.loginCustomerId
  const key = idempotencyKey(ctx.destinationId, 'google-ads', itemIds)
  const chain = `google-ads:${key}`
  const step = (
    op: string,
    url: string,
    body: unknown,
    extra: Partial<HttpEffect> = {},
  ): HttpEffect => ({
    type: 'http',
    method: 'POST',
    url,
    headers,
    body: JSON.stringify(body),
    idempotencyKey: `${key}:${op}`,
    itemIds,
    chain,
    ...extra,
  })
  result.effects.push(
    step(
      'create',
      `${root}/customers/${s.customerId}/offlineUserDataJobs:create`,
      {
        job: {
          type: 'CUSTOMER_MATCH_USER_LIST',
          customerMatchUserListMetadata: {
            userList: `customers/${s.customerId}/userLists/${s.userListId}`,
            consent: { adUserData: 'GRANTED', adPersonalization: 'GRANTED' },
          },
        },
      },
      { captures: [{ name: 'job', pointer: '/resourceName' }] },
    ),
    step('add', `${root}/\${job}:addOperations`, { enablePartialFailure: true, operations }),
    step('run', `${root}/\${job}:run`, {}),
  )
  return result
}

export const googleAds: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse: defaultClassify,
})
