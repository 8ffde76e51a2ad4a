/**
 * Meta (Facebook) Custom Audiences from customer lists, Marketing API.
 * POST /{version}/{audience_id}/users adds, DELETE removes; body
 * `{"payload":{"schema":["EMAIL","PHONE"],"data":[["<sha256>","<sha256>"],…]}}`, at most 10,000
 * rows per request. Email: trimmed, lower-case. Phone: digits only with country code, no `+` or
 * leading zeros. Both SHA-256 hex. Missing values are sent as empty strings.
 * The access token travels in the Authorization header (not the query string, so it stays out of
 * proxy and access logs).
 * Docs followed:
 * - https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users
 * - https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const metaSettings = z.object({
  audienceId: z.string().regex(/^\d+$/).describe('Custom Audience id (customer list audience).'),
  accessToken: z
    .string()
    .min(8)
    .describe('System user access token with ads_management permission.'),
  apiVersion: z
    .string()
    .regex(/^v\d+\.\d+$/)
    .default('v25.0')
    .describe('Graph API version, e.g. v25.0.'),
  defaultCountry: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .default('US')
    .describe('Country used to read phone numbers written without a country code.'),
})
export type MetaSettings = z.infer<typeof metaSettings>

export const manifest: DestinationManifest<typeof metaSettings> = {
  id: 'builtin.meta',
  name: 'Meta Custom Audiences',
  description: 'Adds and removes hashed emails and phone numbers in a Meta Custom Audience.',
  category: 'advertising',
  purpose: 'advertising',
  settings: metaSettings,
  secretFields: ['accessToken'],
  secretTransport: { accessToken: 'header' },
  actions: ['syncAudience'],
  maxBatchSize: 10000,
  rateLimit: 5,
  supportsDeletion: false,
  docs: [
    'https://developers.facebook.com/docs/marketing-api/reference/custom-audience/users',
    'https://developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences',
  ],
  vendorApi: { name: 'Meta Graph API, Custom Audience users', versionSetting: 'apiVersion' },
  limits: [
    'At most 10,000 rows per request.',
    'Throttling codes 4, 17, 32, 613 and 80003 wait 60 s (a quota wait).',
    "Rows counted in num_invalid_entries fail with Meta's reason.",
  ],
}
