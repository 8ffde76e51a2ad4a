/**
 * Klaviyo JSON:API (`revision` header required, `Authorization: Klaviyo-API-Key <private key>`).
 * Docs followed:
 * - https://developers.klaviyo.com/en/reference/spawn_bulk_profile_import_job
 *   (POST /api/profile-bulk-import-jobs: upsert up to 10,000 profiles, optionally adding them to
 *   lists through `relationships.lists`)
 * - https://developers.klaviyo.com/en/reference/remove_profiles_from_list
 *   (DELETE /api/lists/{id}/relationships/profiles, profile ids, at most 1000 per call;
 *   burst 10/s, steady 150/m) and https://developers.klaviyo.com/en/reference/get_profiles
 *   (resolve emails to profile ids with `filter=any(email,[…])`, page size ≤ 100)
 * - https://developers.klaviyo.com/en/reference/request_profile_deletion
 *   (POST /api/data-privacy-deletion-jobs, one identifier per request)
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const klaviyoSettings = z.object({
  privateApiKey: z
    .string()
    .min(8)
    .describe(
      'Private API key (pk_…) with profiles:write, lists:write and data-privacy:write scopes.',
    ),
  listId: z.string().default('').describe('List that Kindred audience members are added to.'),
  listIdsByAudience: z
    .record(z.string(), z.string())
    .default({})
    .describe('Optional: Kindred audience key → Klaviyo list id (overrides listId).'),
  defaultCountry: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .default('US')
    .describe(
      'Country (ISO 3166-1 alpha-2) used to read phone numbers written without a country code; Klaviyo needs E.164.',
    ),
  revision: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .default('2026-10-15')
    .describe('Klaviyo API revision date sent in the revision header.'),
})
export type KlaviyoSettings = z.infer<typeof klaviyoSettings>

export const manifest: DestinationManifest<typeof klaviyoSettings> = {
  id: 'builtin.klaviyo',
  name: 'Klaviyo',
  description: 'Upserts profiles and keeps list membership in step with Kindred audiences.',
  category: 'email',
  purpose: 'marketing',
  settings: klaviyoSettings,
  secretFields: ['privateApiKey'],
  secretTransport: { privateApiKey: 'header' },
  actions: ['upsertProfiles', 'syncAudience', 'delete'],
  maxBatchSize: 100,
  rateLimit: 10,
  supportsDeletion: true,
  docs: [
    'https://developers.klaviyo.com/en/reference/spawn_bulk_profile_import_job',
    'https://developers.klaviyo.com/en/reference/remove_profiles_from_list',
    'https://developers.klaviyo.com/en/reference/get_profiles',
    'https://developers.klaviyo.com/en/reference/request_profile_deletion',
  ],
  vendorApi: { name: 'Klaviyo REST API', versionSetting: 'revision' },
  limits: [
    'Bulk import: up to 10,000 profiles and 5 MB per job; burst 10/s, steady 150/min.',
    'List removal: up to 1,000 profiles per call; profile lookup pages of 100.',
    '429 with Retry-After (a quota wait).',
  ],
}
