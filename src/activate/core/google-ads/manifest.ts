/**
 * Google Ads Customer Match through the REST interface of the Google Ads API.
 *
 * Flow (one chain of three requests per batch and action: Google refuses a job that mixes
 * creations and removals, CONFLICTING_OPERATION; a retry starts the chain again, which only
 * leaves an unused job behind):
 * 1. POST /{version}/customers/{customerId}/offlineUserDataJobs:create with a
 *    CUSTOMER_MATCH_USER_LIST job for `customers/{customerId}/userLists/{userListId}` (consent for
 *    ad user data and personalization declared GRANTED: the dispatcher only sends profiles whose
 *    `advertising` consent allows it). Response `resourceName` is captured.
 * 2. POST /{version}/{resourceName}:addOperations with `create` (audience add) or `remove`
 *    operations; each carries `userIdentifiers` of SHA-256 hex hashes of the normalised email
 *    (trimmed, lower-case, dots removed for gmail.com/googlemail.com) and phone (E.164).
 *    `enablePartialFailure: true` so one bad identifier does not reject the rest: a 200 with
 *    `partialFailureError` fails the operations it locates (`operations[i]`), the job still runs.
 * 3. POST /{version}/{resourceName}:run — Google processes the job asynchronously (hours).
 *
 * Headers: `Authorization: Bearer <OAuth access token>`, `developer-token`, optional
 * `login-customer-id` (manager account). Refreshing the OAuth token is not done here: the setting
 * holds a current access token.
 * Docs followed:
 * - https://developers.google.com/google-ads/api/reference/rpc/latest/OfflineUserDataJobService
 * - https://developers.google.com/google-ads/api/docs/remarketing/audience-segments/customer-match/get-started
 * - https://developers.google.com/google-ads/api/rest/overview
 * - https://developers.google.com/google-ads/api/docs/best-practices/partial-failures and
 *   .../best-practices/quotas (RESOURCE_EXHAUSTED with QuotaErrorDetails.retryDelay; 409 ABORTED
 *   CONCURRENT_MODIFICATION is retried)
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const googleAdsSettings = z.object({
  customerId: z
    .string()
    .regex(/^\d{10}$/, '10 digits, no dashes')
    .describe('Google Ads customer id (10 digits, no dashes).'),
  userListId: z.string().regex(/^\d+$/).describe('Customer Match user list id.'),
  developerToken: z.string().min(8).describe('Google Ads API developer token.'),
  accessToken: z.string().min(8).describe('OAuth 2.0 access token with the adwords scope.'),
  loginCustomerId: z
    .string()
    .regex(/^\d{10}$/)
    .optional()
    .describe('Manager account id when access goes through a manager (login-customer-id header).'),
  apiVersion: z
    .string()
    .regex(/^v\d+$/)
    .default('v26')
    .describe(
      'Google Ads API version, e.g. v26 (the latest active one when this connector was written).',
    ),
  defaultCountry: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .default('US')
    .describe('Country used to read phone numbers written without a country code.'),
})
export type GoogleAdsSettings = z.infer<typeof googleAdsSettings>

export const manifest: DestinationManifest<typeof googleAdsSettings> = {
  id: 'builtin.google-ads',
  name: 'Google Ads Customer Match',
  description: 'Adds and removes hashed emails and phone numbers in a Customer Match list.',
  category: 'advertising',
  purpose: 'advertising',
  settings: googleAdsSettings,
  secretFields: ['developerToken', 'accessToken'],
  secretTransport: { developerToken: 'header', accessToken: 'header' },
  actions: ['syncAudience'],
  maxBatchSize: 1000,
  rateLimit: 1,
  supportsDeletion: false,
  docs: [
    'https://developers.google.com/google-ads/api/reference/rpc/latest/OfflineUserDataJobService',
    'https://developers.google.com/google-ads/api/docs/remarketing/audience-segments/customer-match/get-started',
    'https://developers.google.com/google-ads/api/rest/overview',
  ],
  vendorApi: {
    name: 'Google Ads API (REST), OfflineUserDataJobService',
    versionSetting: 'apiVersion',
  },
  limits: [
    'One offline user-data job per action (creations and removals never mixed).',
    'At most 100,000 identifiers per addOperations request, 20 per operation.',
    'RESOURCE_EXHAUSTED waits QuotaErrorDetails.retryDelay (a quota wait); 409 ABORTED is retried.',
  ],
}
