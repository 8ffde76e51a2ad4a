/**
 * Mailchimp Marketing API v3 (audience = "list").
 * Docs followed:
 * - https://mailchimp.com/developer/marketing/api/list-members/add-or-update-list-member/
 *   (PUT /lists/{list_id}/members/{subscriber_hash}; hash = MD5 of the lower-cased email;
 *   `status_if_new` applies only when the member is created)
 * - https://mailchimp.com/developer/marketing/api/list-member-tags/add-or-remove-member-tags/
 *   (POST /lists/{list_id}/members/{subscriber_hash}/tags, `{tags:[{name,status:"active"|"inactive"}]}`)
 * - https://mailchimp.com/developer/marketing/api/list-members/archive-list-member/
 *   (DELETE …/members/{hash} archives) and …/actions/delete-permanent (privacy deletion)
 * - https://mailchimp.com/developer/marketing/docs/fundamentals/ (data center = API key suffix,
 *   `https://<dc>.api.mailchimp.com/3.0`, HTTP Basic with any user name and the key; 10
 *   simultaneous connections per user).
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const mailchimpSettings = z.object({
  apiKey: z
    .string()
    .regex(/^[0-9a-f]+-[a-z]+[0-9]+$/, 'a Mailchimp API key ends with the data center, e.g. -us21')
    .describe(
      'Mailchimp API key (Account → Extras → API keys); its suffix (e.g. us21) is the data center.',
    ),
  listId: z
    .string()
    .min(1)
    .describe('Audience (list) id from Audience → Settings → Audience name and defaults.'),
  statusIfNew: z
    .enum(['subscribed', 'pending', 'transactional', 'unsubscribed'])
    .default('subscribed')
    .describe(
      'Status for contacts that are new to the audience (pending sends a double opt-in email).',
    ),
  mergeFields: z
    .record(z.string(), z.string())
    .default({ first_name: 'FNAME', last_name: 'LNAME' })
    .describe('Profile trait → Mailchimp merge tag.'),
  onAudienceRemove: z
    .enum(['untag', 'archive'])
    .default('untag')
    .describe(
      'When a profile leaves a Kindred audience: mark its tag inactive, or archive the member.',
    ),
})
export type MailchimpSettings = z.infer<typeof mailchimpSettings>

export const manifest: DestinationManifest<typeof mailchimpSettings> = {
  id: 'builtin.mailchimp',
  name: 'Mailchimp',
  description:
    'Upserts audience members, tags them per Kindred audience, archives or deletes them.',
  category: 'email',
  purpose: 'marketing',
  settings: mailchimpSettings,
  secretFields: ['apiKey'],
  secretTransport: { apiKey: 'header' },
  actions: ['upsertProfiles', 'syncAudience', 'delete'],
  maxBatchSize: 50,
  rateLimit: 10,
  supportsDeletion: true,
  docs: [
    'https://mailchimp.com/developer/marketing/api/list-members/add-or-update-list-member/',
    'https://mailchimp.com/developer/marketing/api/list-member-tags/add-or-remove-member-tags/',
    'https://mailchimp.com/developer/marketing/api/list-members/archive-list-member/',
    'https://mailchimp.com/developer/marketing/docs/fundamentals/',
  ],
  vendorApi: { name: 'Mailchimp Marketing API', version: '3.0' },
  limits: [
    'One member per request; 10 concurrent connections per API key.',
    '429 when over the connection limit.',
  ],
}
