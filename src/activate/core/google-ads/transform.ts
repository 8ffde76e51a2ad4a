import type {
  Classification,
  ClassifyContext,
  Destination,
  HttpResponseLike,
  DestinationInput,
  HttpEffect,
  ProfileSnapshot,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify, parseJson, parseProtoDuration, quotaRetry } from '../shared/classify.js'
import { normaliseEmailForGoogle, normalisePhoneE164, sha256Hex } from '../shared/hashing.js'
import {
  idempotencyKey,
  itemIdsOfKey,
  partitionSupported,
  profilePhone,
  skip,
} from '../shared/profile-fields.js'
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
  // Google refuses a job that mixes creations and removals (OfflineUserDataJobError
  // CONFLICTING_OPERATION), so entries and exits go in jobs of their own.
  const byAction = { create: [] as Op[], remove: [] as Op[] }
  for (const input of supported) {
    if (input.kind !== 'audience') continue
    const ids = userIdentifiers(input.profile, s.defaultCountry)
    if (ids.length === 0) {
      result.skipped.push(
        skip(input.id, 'MISSING_IDENTIFIER', 'Customer Match needs an email or a valid phone'),
      )
      continue
    }
    byAction[input.action === 'add' ? 'create' : 'remove'].push({ itemId: input.id, ids })
  }
  for (const op of ['create', 'remove'] as const)
    if (byAction[op].length > 0) result.effects.push(...jobChain(op, byAction[op], ctx))
  return result
}

type Op = { itemId: string; ids: Record<string, string>[] }

/** create → addOperations → run for one kind of operation. */
function jobChain(
  op: 'create' | 'remove',
  ops: Op[],
  ctx: TransformContext<GoogleAdsSettings>,
): HttpEffect[] {
  const s = ctx.settings
  const itemIds = ops.map((o) => o.itemId)
  const root = `https://googleads.googleapis.com/${s.apiVersion}`
  const headers: Record<string, string> = {
    authorization: `Bearer ${s.accessToken}`,
    'developer-token': s.developerToken,
    'content-type': 'application/json',
  }
  if (s.loginCustomerId) headers['login-customer-id'] = s.loginCustomerId
  const key = idempotencyKey(ctx.destinationId, `google-ads:${op}`, itemIds)
  const chain = `google-ads:${key}`
  const step = (
    name: string,
    url: string,
    body: unknown,
    extra: Partial<HttpEffect> = {},
  ): HttpEffect => ({
    type: 'http',
    method: 'POST',
    url,
    headers,
    body: JSON.stringify(body),
    idempotencyKey: `${key}:${name}`,
    itemIds,
    chain,
    ...extra,
  })
  return [
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
    step(
      'add',
      `${root}/\${job}:addOperations`,
      {
        enablePartialFailure: true,
        operations: ops.map((o) => ({ [op]: { userIdentifiers: o.ids } })),
      },
      // partialFailureError locates each refused operation by its index.
      { itemKeys: Object.fromEntries(ops.map((o, i) => [`operations:${i}`, o.itemId])) },
    ),
    step('run', `${root}/\${job}:run`, {}),
  ]
}

type GoogleAdsError = {
  errorCode?: Record<string, string>
  message?: string
  location?: { fieldPathElements?: { fieldName?: string; index?: number }[] }
  details?: { quotaErrorDetails?: { retryDelay?: string } }
}

/** The GoogleAdsFailure errors inside a google.rpc.Status's `details`. */
function adsErrors(status: unknown): GoogleAdsError[] {
  const details = (status as { details?: unknown } | undefined)?.details
  if (!Array.isArray(details)) return []
  return details.flatMap((d) => {
    const errors = (d as { errors?: unknown } | null)?.errors
    return Array.isArray(errors) ? (errors as GoogleAdsError[]) : []
  })
}

function reason(e: GoogleAdsError): string {
  const code = Object.values(e.errorCode ?? {})[0]
  const msg = e.message ?? 'refused by Google Ads'
  return code ? `${code}: ${msg}` : msg
}

/**
 * Google Ads answers, as its docs describe them:
 * - a 200 with `partialFailureError` (requested by `enablePartialFailure`): each error names its
 *   operation in `location.fieldPathElements` (`operations[index]`), which `itemKeys` maps to the
 *   item; an error that names none fails the whole request, which the dispatcher then bisects.
 * - 429 RESOURCE_EXHAUSTED with `QuotaErrorDetails.retryDelay`: wait that long, a quota wait.
 * - 409 ABORTED (CONCURRENT_MODIFICATION: "retry the request"): transient, retried with backoff
 *   and never bisected (splitting a batch would only make more jobs compete for the list).
 * https://developers.google.com/google-ads/api/docs/best-practices/partial-failures
 * https://developers.google.com/google-ads/api/docs/best-practices/quotas
 */
export function classifyResponse(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  const json = parseJson(res.body) as
    | { partialFailureError?: { code?: number; message?: string }; error?: { status?: string } }
    | undefined
  if (res.status >= 200 && res.status < 300) {
    const pf = json?.partialFailureError
    if (!pf || !pf.code) return { outcome: 'success' }
    const keys = ctx.effect.itemKeys ?? {}
    const failed = new Map<string, { itemId: string; message: string; retryable: boolean }>()
    const errors = adsErrors(pf)
    for (const e of errors) {
      const first = e.location?.fieldPathElements?.[0]
      const itemId =
        first?.fieldName === 'operations' && first.index !== undefined
          ? itemIdsOfKey(keys, `operations:${first.index}`)[0]
          : undefined
      if (!itemId)
        return { outcome: 'fail', message: `partial failure: ${pf.message ?? reason(e)}` }
      if (!failed.has(itemId)) failed.set(itemId, { itemId, message: reason(e), retryable: false })
    }
    if (failed.size === 0)
      return { outcome: 'fail', message: `partial failure: ${pf.message ?? 'unattributed'}` }
    return { outcome: 'partial', failed: [...failed.values()] }
  }
  const base = defaultClassify(res, ctx)
  if (res.status === 429) {
    const delays = adsErrors(json?.error)
      .map((e) => parseProtoDuration(e.details?.quotaErrorDetails?.retryDelay))
      .filter((d): d is number => d !== undefined)
    if (delays.length > 0 && base.outcome === 'retry')
      return quotaRetry(base.message, Math.max(...delays))
  }
  if (res.status === 409 && json?.error?.status === 'ABORTED' && base.outcome === 'fail')
    return { outcome: 'retry', message: base.message }
  return base
}

export const googleAds: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse,
})
