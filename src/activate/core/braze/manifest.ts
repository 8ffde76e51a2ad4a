/**
 * Braze REST API (`Authorization: Bearer <REST API key>`, REST endpoint per instance, e.g.
 * https://rest.iad-01.braze.com).
 * Docs followed:
 * - https://www.braze.com/docs/api/endpoints/user_data/post_user_track/
 *   (POST /users/track with `attributes[]`, `events[]`, `purchases[]`; 201 with non-fatal
 *   `errors[]` naming `input_array` and `index`)
 * - https://www.braze.com/docs/api/api_limits/ (/users/track: up to 75 objects in total across
 *   attributes, events and purchases per request; 3,000 requests per 3 seconds; 429 with
 *   X-RateLimit-Reset in UTC epoch seconds). Monthly Active Users CY 24-25 contracts allow 50
 *   updates combined: the `maxObjectsPerRequest` setting.
 * - https://www.braze.com/docs/api/objects_filters/event_object/ and
 *   https://www.braze.com/docs/api/objects_filters/user_attributes_object/ (property names and
 *   values; the `phone` and `email` profile fields)
 * - https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/ (POST /users/delete,
 *   up to 50 external_ids)
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const brazeSettings = z.object({
  restEndpoint: z
    .url()
    .describe(
      'Your instance REST endpoint, e.g. https://rest.iad-01.braze.com (Settings → APIs and identifiers).',
    ),
  apiKey: z.string().min(8).describe('REST API key with users.track and users.delete permissions.'),
  audienceAttribute: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('kindred_audiences')
    .describe('Array custom attribute that lists the Kindred audiences a user belongs to.'),
  maxObjectsPerRequest: z
    .number()
    .int()
    .min(1)
    .max(75)
    .default(75)
    .describe(
      'Objects (attributes and events combined) per /users/track request: 75 by default; set 50 for Monthly Active Users CY 24-25 contracts, whose limit is 50 updates combined.',
    ),
})
export type BrazeSettings = z.infer<typeof brazeSettings>

export const manifest: DestinationManifest<typeof brazeSettings> = {
  id: 'builtin.braze',
  name: 'Braze',
  description: 'Sends user attributes, custom events and audience membership via /users/track.',
  category: 'messaging',
  purpose: 'marketing',
  settings: brazeSettings,
  secretFields: ['apiKey'],
  secretTransport: { apiKey: 'header' },
  endpointFields: { restEndpoint: 'url' },
  actions: ['forwardEvents', 'upsertProfiles', 'syncAudience', 'delete'],
  maxBatchSize: 75,
  rateLimit: 100,
  supportsDeletion: true,
  docs: [
    'https://www.braze.com/docs/api/endpoints/user_data/post_user_track/',
    'https://www.braze.com/docs/api/api_limits/',
    'https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/',
  ],
  vendorApi: { name: 'Braze REST API (/users/track, /users/delete)', version: 'unversioned' },
  limits: [
    '/users/track: 75 objects combined per request (50 on Monthly Active Users CY 24-25 contracts: setting `maxObjectsPerRequest`); 3,000 requests per 3 seconds.',
    '/users/delete: 50 ids per request.',
    'Event property names without leading `$`, at most 255 characters; string values at most 255.',
    '429 waits for X-RateLimit-Reset (a quota wait).',
  ],
}
