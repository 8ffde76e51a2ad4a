/**
 * Webhook: POSTs JSON to a URL the customer controls, signed with HMAC-SHA256.
 *
 * Signature scheme (modelled on the Standard Webhooks / Stripe convention):
 * `X-Kindred-Timestamp: <unix seconds>` and
 * `X-Kindred-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
 * The receiver recomputes the HMAC over the timestamp and the raw body, compares in constant
 * time and rejects timestamps older than a few minutes (replay protection).
 * Docs followed: https://www.standardwebhooks.com/ ; https://docs.stripe.com/webhooks#verify-manually
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const webhookSettings = z.object({
  url: z.url().describe('Endpoint that receives the POST requests (https recommended).'),
  signingSecret: z
    .string()
    .min(16)
    .optional()
    .describe(
      'Shared secret for the X-Kindred-Signature HMAC-SHA256 header (at least 16 characters).',
    ),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe('Extra request headers, e.g. an Authorization header your endpoint expects.'),
  batch: z
    .boolean()
    .default(false)
    .describe('Send several items per request as {"batch":[…]} instead of one request per item.'),
})
export type WebhookSettings = z.infer<typeof webhookSettings>

export const manifest: DestinationManifest<typeof webhookSettings> = {
  id: 'builtin.webhook',
  name: 'Webhook',
  description: 'Signed JSON POSTs of events, profile updates, audience changes and deletions.',
  category: 'webhook',
  purpose: 'analytics',
  settings: webhookSettings,
  secretFields: ['signingSecret', 'headers'],
  secretTransport: { signingSecret: 'signing', headers: 'header' },
  endpointFields: { url: 'url' },
  actions: ['forwardEvents', 'upsertProfiles', 'syncAudience', 'delete'],
  maxBatchSize: 100,
  rateLimit: 50,
  supportsDeletion: true,
  docs: ['https://www.standardwebhooks.com/', 'https://docs.stripe.com/webhooks#verify-manually'],
  vendorApi: {
    name: 'Kindred webhook (JSON POST, Standard Webhooks signature)',
    version: 'v1 signature',
  },
  limits: [
    'One POST per input, or up to 100 inputs per POST with `batch` on.',
    'Redirects are not followed; 2xx is success, 429 and 5xx are retried (Retry-After honoured).',
  ],
}
