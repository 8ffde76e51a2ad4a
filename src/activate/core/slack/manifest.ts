/**
 * Slack incoming webhook: one message per item, text rendered from a LiquidJS template.
 * Docs followed: https://api.slack.com/messaging/webhooks (POST JSON `{"text": …}` to the
 * webhook URL; errors come back as plain text such as `invalid_payload`, `no_service`,
 * `channel_is_archived`) and https://api.slack.com/apis/rate-limits (about one message per
 * second per webhook, 429 with `Retry-After`).
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'
import { checkTemplate } from '../template.js'

const template = z
  .string()
  .min(1)
  .refine((t) => checkTemplate(t) === null, {
    message:
      'not a valid LiquidJS template (syntax error, unknown filter, or over the time or size limits)',
  })

export const slackSettings = z.object({
  webhookUrl: z
    .url()
    .describe(
      'Incoming webhook URL from your Slack app (https://hooks.slack.com/services/…). It is a credential.',
    ),
  eventTemplate: template
    .default(
      '{{ traits.first_name | default: "Someone" }} did *{{ event.event | default: event.type }}*',
    )
    .describe('LiquidJS template for events. Variables: event, properties, traits, profile.'),
  audienceTemplate: template
    .default(
      '{{ traits.email | default: profile.id | strip }} {% if action == "add" %}entered{% else %}left{% endif %} *{{ audience.name }}*',
    )
    .describe(
      'LiquidJS template for audience changes. Variables: action, audience, traits, profile.',
    ),
  eventNames: z
    .array(z.string())
    .default([])
    .describe('Only post these track event names (empty: every event).'),
})
export type SlackSettings = z.infer<typeof slackSettings>

export const manifest: DestinationManifest<typeof slackSettings> = {
  id: 'builtin.slack',
  name: 'Slack',
  description: 'Posts a templated message to a Slack channel for events and audience changes.',
  category: 'messaging',
  purpose: 'analytics',
  settings: slackSettings,
  secretFields: ['webhookUrl'],
  secretTransport: { webhookUrl: 'url' },
  endpointFields: { webhookUrl: 'url' },
  actions: ['forwardEvents', 'syncAudience'],
  maxBatchSize: 20,
  rateLimit: 1,
  supportsDeletion: false,
  docs: ['https://api.slack.com/messaging/webhooks', 'https://api.slack.com/apis/rate-limits'],
  vendorApi: { name: 'Slack incoming webhooks', version: 'unversioned' },
  limits: [
    "About 1 message per second per webhook (Slack's rate-limit docs).",
    'Text at most 40,000 characters.',
    '429 with Retry-After.',
  ],
}
