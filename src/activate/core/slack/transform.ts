import type {
  Destination,
  DestinationInput,
  TransformContext,
  TransformResult,
} from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { idempotencyKey, partitionSupported, skip } from '../shared/profile-fields.js'
import { defaultTemplateLimits, renderTemplate } from '../template.js'
import { manifest, type SlackSettings } from './manifest.js'

function scopeFor(input: DestinationInput): Record<string, unknown> {
  switch (input.kind) {
    case 'event':
      return {
        event: input.event,
        properties: input.event.properties,
        traits: input.profile?.traits ?? input.event.traits,
        profile: input.profile,
      }
    case 'audience':
      return {
        action: input.action,
        audience: input.audience,
        traits: input.profile.traits,
        profile: input.profile,
      }
    default:
      return { profile: input.profile, traits: input.profile.traits }
  }
}

export function transform(
  inputs: DestinationInput[],
  ctx: TransformContext<SlackSettings>,
): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  const names = ctx.settings.eventNames
  for (const input of supported) {
    if (input.kind === 'event' && names.length > 0 && !names.includes(input.event.event ?? '')) {
      result.skipped.push(skip(input.id, 'FILTERED', 'event name is not in eventNames'))
      continue
    }
    const template =
      input.kind === 'event' ? ctx.settings.eventTemplate : ctx.settings.audienceTemplate
    // Data is escaped for Slack (&, <, >): a profile's name must not @channel the workspace.
    const text = renderTemplate(template, scopeFor(input), defaultTemplateLimits, 'slack')
    if (text.trim() === '') {
      result.skipped.push(skip(input.id, 'EMPTY_MESSAGE', 'the template rendered an empty message'))
      continue
    }
    result.effects.push({
      type: 'http',
      method: 'POST',
      url: ctx.settings.webhookUrl,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      idempotencyKey: idempotencyKey(ctx.destinationId, 'slack', [input.id]),
      itemIds: [input.id],
    })
  }
  return result
}

export const slack: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse: defaultClassify,
})
