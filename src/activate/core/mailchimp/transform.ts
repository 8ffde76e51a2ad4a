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
import { md5Hex } from '../shared/hashing.js'
import {
  mapTraits,
  jsonRequests,
  partitionSupported,
  profileEmail,
  skip,
} from '../shared/profile-fields.js'
import { manifest, type MailchimpSettings } from './manifest.js'

/** `us21` from `…-us21`. */
export function dataCenter(apiKey: string): string {
  const dc = apiKey.split('-').pop()
  return dc ?? 'us1'
}

export function subscriberHash(email: string): string {
  return md5Hex(email.trim().toLowerCase())
}

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<MailchimpSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const s = ctx.settings
  const base = `https://${dataCenter(s.apiKey)}.api.mailchimp.com/3.0/lists/${encodeURIComponent(s.listId)}/members`
  const headers = {
    authorization: `Basic ${Buffer.from(`kindred:${s.apiKey}`).toString('base64')}`,
    'content-type': 'application/json',
  }
  const request = jsonRequests(ctx.destinationId, 'mailchimp', headers)
  const http = (
    id: string,
    op: string,
    method: HttpEffect['method'],
    url: string,
    body: unknown,
    extra: Partial<HttpEffect> = {},
  ): HttpEffect => request(op, [id], method, url, body, extra)
  const upsert = (id: string, email: string, profile: ProfileSnapshot, chain?: string) =>
    http(
      id,
      'upsert',
      'PUT',
      `${base}/${subscriberHash(email)}`,
      {
        email_address: email,
        status_if_new: s.statusIfNew,
        merge_fields: mapTraits(profile.traits, s.mergeFields),
      },
      chain ? { chain } : {},
    )

  for (const input of supported) {
    const email = profileEmail(input.profile)
    if (!email) {
      result.skipped.push(skip(input.id, 'MISSING_IDENTIFIER', 'Mailchimp members need an email'))
      continue
    }
    const hash = subscriberHash(email)
    if (input.kind === 'profile') {
      result.effects.push(upsert(input.id, email, input.profile))
    } else if (input.kind === 'audience') {
      const tagUrl = `${base}/${hash}/tags`
      if (input.action === 'add') {
        const chain = `mailchimp:${input.id}`
        result.effects.push(upsert(input.id, email, input.profile, chain))
        result.effects.push(
          http(
            input.id,
            'tag',
            'POST',
            tagUrl,
            { tags: [{ name: input.audience.name, status: 'active' }] },
            { chain },
          ),
        )
      } else if (s.onAudienceRemove === 'archive') {
        // 404: the member is already gone, which is what we wanted.
        result.effects.push(
          http(input.id, 'archive', 'DELETE', `${base}/${hash}`, null, { okStatuses: [404] }),
        )
      } else {
        result.effects.push(
          http(
            input.id,
            'untag',
            'POST',
            tagUrl,
            { tags: [{ name: input.audience.name, status: 'inactive' }] },
            { okStatuses: [404] },
          ),
        )
      }
    } else if (input.kind === 'delete') {
      result.effects.push(
        http(input.id, 'delete', 'POST', `${base}/${hash}/actions/delete-permanent`, null, {
          okStatuses: [404],
        }),
      )
    }
  }
  return result
}

export const mailchimp: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse: defaultClassify,
})
