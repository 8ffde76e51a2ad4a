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
import { normaliseEmail, normalisePhoneE164, sha256Hex } from '../shared/hashing.js'
import {
  chunk,
  idempotencyKey,
  partitionSupported,
  profilePhone,
  skip,
} from '../shared/profile-fields.js'
import { manifest, type MetaSettings } from './manifest.js'

/** `[hash(email) | '', hash(phone digits) | '']`, or undefined when both are missing. */
export function metaRow(
  profile: ProfileSnapshot,
  defaultCountry: string,
): [string, string] | undefined {
  const email = normaliseEmail(
    profile.traits.email ?? profile.identities.find((i) => i.type === 'email')?.value,
  )
  const e164 = normalisePhoneE164(profilePhone(profile), defaultCountry)
  if (!email && !e164) return undefined
  return [email ? sha256Hex(email) : '', e164 ? sha256Hex(e164.replace(/^\+/, '')) : '']
}

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<MetaSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const s = ctx.settings
  const groups = {
    add: [] as { id: string; row: [string, string] }[],
    remove: [] as { id: string; row: [string, string] }[],
  }
  for (const input of supported) {
    if (input.kind !== 'audience') continue
    const row = metaRow(input.profile, s.defaultCountry)
    if (!row) {
      result.skipped.push(
        skip(input.id, 'MISSING_IDENTIFIER', 'Custom Audiences need an email or a valid phone'),
      )
      continue
    }
    groups[input.action].push({ id: input.id, row })
  }
  for (const action of ['add', 'remove'] as const) {
    for (const part of chunk(groups[action], 10_000)) {
      const itemIds = part.map((p) => p.id)
      result.effects.push({
        type: 'http',
        method: action === 'add' ? 'POST' : 'DELETE',
        url: `https://graph.facebook.com/${s.apiVersion}/${s.audienceId}/users`,
        headers: { authorization: `Bearer ${s.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          payload: { schema: ['EMAIL', 'PHONE'], data: part.map((p) => p.row) },
        }),
        idempotencyKey: idempotencyKey(ctx.destinationId, `meta:${action}`, itemIds),
        itemIds,
      })
    }
  }
  return result
}

/** Graph API throttling codes (4, 17, 32, 613, 80003) come back as 400: they are retryable. */
const THROTTLE_CODES = new Set([4, 17, 32, 613, 80003])

export function classifyResponse(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  const base = defaultClassify(res, ctx)
  if (base.outcome === 'success' && res.status >= 200 && res.status < 300)
    return invalidEntries(res, ctx)
  if (base.outcome !== 'fail') return base
  const code = (parseJson(res.body) as { error?: { code?: number } } | undefined)?.error?.code
  if (code !== undefined && THROTTLE_CODES.has(code)) {
    // Meta's rate limits, not the request: a quota wait of Meta's usual hour-window cool-down
    // start (https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
    return quotaRetry(base.message, 60_000)
  }
  return base
}

/**
 * A 200 can still refuse rows: `num_invalid_entries` counts them and `invalid_entry_samples`
 * maps some of the refused values to Meta's reason. Rows are matched to items through the
 * request body (row i carries item i); refused rows Meta does not name make the request fail,
 * so the dispatcher bisects until each refused row is alone (adding a row twice is harmless).
 */
function invalidEntries(res: HttpResponseLike, ctx: ClassifyContext): Classification {
  const json = parseJson(res.body) as
    { num_invalid_entries?: number; invalid_entry_samples?: unknown } | undefined
  const invalid = Number(json?.num_invalid_entries ?? 0)
  if (!(invalid > 0)) return { outcome: 'success' }
  const samples = json?.invalid_entry_samples
  const reasons = new Map<string, string>(
    samples && typeof samples === 'object' && !Array.isArray(samples)
      ? Object.entries(samples as Record<string, unknown>).map(([k, v]) => [k, String(v)])
      : [],
  )
  const rows =
    (parseJson(ctx.effect.body ?? '') as { payload?: { data?: string[][] } } | undefined)?.payload
      ?.data ?? []
  const failed: { itemId: string; message: string; retryable: boolean }[] = []
  rows.forEach((row, i) => {
    const itemId = ctx.effect.itemIds[i]
    const hit = row.find((v) => v !== '' && reasons.has(v))
    if (itemId && hit !== undefined)
      failed.push({
        itemId,
        message: `Meta refused the entry: ${reasons.get(hit)}`,
        retryable: false,
      })
  })
  const [only] = ctx.effect.itemIds
  if (failed.length === 0 && ctx.effect.itemIds.length === 1 && only)
    return {
      outcome: 'partial',
      failed: [
        {
          itemId: only,
          message: 'Meta refused the entry (num_invalid_entries: 1)',
          retryable: false,
        },
      ],
    }
  if (failed.length < invalid)
    return {
      outcome: 'fail',
      message: `Meta refused ${invalid} of ${rows.length} entries without naming them all`,
    }
  return { outcome: 'partial', failed }
}

export const meta: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse,
})
