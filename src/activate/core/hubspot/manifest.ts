/**
 * HubSpot CRM (private app access token, `Authorization: Bearer`).
 * Docs followed:
 * - https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts
 *   (POST /crm/v3/objects/contacts/batch/upsert, `inputs:[{id, idProperty:"email", properties}]`,
 *   up to 100 inputs; 207 multi-status with `errors[]`)
 * - https://developers.hubspot.com/docs/api-reference/latest/crm/lists/memberships/update-list-memberships
 *   (PUT /crm/v3/lists/{listId}/memberships/add-and-remove, `recordIdsToAdd`/`recordIdsToRemove`:
 *   record ids, so emails are resolved first; MANUAL or SNAPSHOT lists only)
 * - https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/read-contacts
 *   (POST /crm/v3/objects/contacts/batch/read with idProperty=email; the spec requires
 *   `propertiesWithHistory`)
 * - https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines (429 with
 *   `policyName` DAILY or the secondly limit, `X-HubSpot-RateLimit-*` headers, no Retry-After)
 * - https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr-delete
 *   (POST /crm/v3/objects/contacts/gdpr-delete)
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const hubspotSettings = z.object({
  accessToken: z
    .string()
    .min(8)
    .describe(
      'Private app access token with the crm.objects.contacts.read, crm.objects.contacts.write, crm.lists.read and crm.lists.write scopes (batch read and list membership need the read scopes).',
    ),
  listId: z
    .string()
    .default('')
    .describe('Id of a MANUAL (static) list that mirrors the Kindred audience.'),
  listIdsByAudience: z
    .record(z.string(), z.string())
    .default({})
    .describe('Optional: Kindred audience key → HubSpot list id (overrides listId).'),
  propertyMapping: z
    .record(z.string(), z.string())
    .default({ first_name: 'firstname', last_name: 'lastname', phone: 'phone', company: 'company' })
    .describe('Profile trait → HubSpot contact property (internal name). email is always sent.'),
})
export type HubspotSettings = z.infer<typeof hubspotSettings>

export const manifest: DestinationManifest<typeof hubspotSettings> = {
  id: 'builtin.hubspot',
  name: 'HubSpot',
  description: 'Batch-upserts contacts by email and keeps a static list in step with an audience.',
  category: 'crm',
  purpose: 'marketing',
  settings: hubspotSettings,
  secretFields: ['accessToken'],
  secretTransport: { accessToken: 'header' },
  actions: ['upsertProfiles', 'syncAudience', 'delete'],
  maxBatchSize: 100,
  rateLimit: 10,
  supportsDeletion: true,
  docs: [
    'https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts',
    'https://developers.hubspot.com/docs/api-reference/latest/crm/lists/memberships/update-list-memberships',
    'https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/read-contacts',
    'https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr-delete',
  ],
  vendorApi: { name: 'HubSpot CRM API', version: 'v3' },
  limits: [
    'Batch endpoints: up to 100 inputs per request.',
    'Daily and per-10-seconds limits, stated in X-HubSpot-RateLimit-* headers; a DAILY 429 waits for the reset (probed each quarter hour).',
    'One record per email in a batch upsert.',
  ],
}
