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
  if (base.outcome !== 'fail') return base
  const code = (parseJson(res.body) as { error?: { code?: number } } | undefined)?.error?.code
  if (code !== undefined && THROTTLE_CODES.has(code)) {
    return { outcome: 'retry', message: base.message, retryAfterMs: 60_000 }
  }
  return base
}

export const meta: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse,
})
