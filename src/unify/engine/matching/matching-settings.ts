/**
 * Per-workspace matching settings (`GET/PUT /api/v1/identity/matching/settings`): thresholds,
 * which traits feed which compared field, and the schedule. Defaults when a workspace has none.
 */
import { z } from 'zod'
import type { Queryable } from '../../../platform/store/db.js'

import { MATCH_FIELDS, type MatchField } from '../../core/matching-records.js'

export { MATCH_FIELDS, type MatchField }

/**
 * Trait paths read for each field, first non-empty wins. Covers the Segment spec's identify
 * traits (`firstName`, `address.postalCode`, `birthday`), snake_case variants and common CRM
 * column names. Dots walk into objects.
 */
export const DEFAULT_TRAIT_MAPPING: Readonly<Record<MatchField, readonly string[]>> = {
  given_name: ['firstName', 'first_name', 'givenName', 'given_name', 'firstname'],
  surname: ['lastName', 'last_name', 'surname', 'familyName', 'family_name', 'lastname'],
  full_name: ['name', 'fullName', 'full_name'],
  street_number: ['address.streetNumber', 'address.street_number', 'streetNumber', 'street_number'],
  address: ['address.street', 'address.line1', 'address_1', 'street', 'address'],
  city: ['address.city', 'city', 'suburb', 'town'],
  postcode: [
    'address.postalCode',
    'address.postal_code',
    'address.postcode',
    'postalCode',
    'postcode',
    'zip',
  ],
  state: ['address.state', 'state', 'region'],
  date_of_birth: ['birthday', 'dateOfBirth', 'date_of_birth', 'dob', 'birthdate'],
  email: ['email', 'emailAddress', 'email_address'],
  // CRM exports name the column every way; a phone left unread is a disagreement never seen.
  phone: ['phone', 'mobile', 'phoneNumber', 'phone_number', 'mobilePhone', 'mobile_phone'],
}

const tracePath = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^.\s][^\s]*$/, 'a trait key; dots walk into objects')

export const matchingSettingsSchema = z
  .object({
    /**
     * Pairs at or above merge without review. 0.99: on the three FEBRL files (no labels, no
     * soc_sec_id) no pair at or above 0.5 was a false match, and 0.99 still auto-merges
     * 97–99.6% of the true pairs; the margin is for CDP profiles, which often carry fewer fields
     * than FEBRL's nine, so EM sees less evidence per pair.
     */
    autoMergeThreshold: z.number().gt(0).max(1).default(0.99),
    /**
     * Pairs at or above (and below the auto threshold) wait for review; below: nothing stored.
     * 0.8 keeps the queue to the pairs that are more likely than not the same person by a wide
     * margin: on FEBRL it holds 0.3–1.3% of the true pairs and no false one.
     */
    reviewThreshold: z.number().gt(0).max(1).default(0.8),
    /** false: every pair at or above the review threshold waits for a person (no auto-merge). */
    autoMerge: z.boolean().default(true),
    /** Field → trait paths (first non-empty wins); replaces the default paths of that field. */
    traitMapping: z.partialRecord(z.enum(MATCH_FIELDS), z.array(tracePath).max(20)).default({}),
    /** Run every N minutes (changed profiles only); null: only on demand and after imports. */
    scheduleMinutes: z.number().int().min(1).max(10_080).nullable().default(null),
    /** Run after an import of profiles completes (and its rows were processed). */
    runAfterImport: z.boolean().default(true),
    /**
     * Whether a run started by an import may merge on its own. Off: nobody asked for that run,
     * so it only fills the review queue (a CRM import once merged 40 different customers with
     * nobody watching); a manual or scheduled run still auto-merges when `autoMerge` is on.
     */
    autoMergeAfterImport: z.boolean().default(false),
    /** Profiles holding fewer compared fields are not matched (an email alone is not a person). */
    minFields: z.number().int().min(1).max(MATCH_FIELDS.length).default(2),
  })
  .strict()
  .refine((s) => s.reviewThreshold <= s.autoMergeThreshold, {
    message: 'reviewThreshold must not exceed autoMergeThreshold',
    path: ['reviewThreshold'],
  })

export type MatchingSettings = z.infer<typeof matchingSettingsSchema>
export type MatchingSettingsInput = z.input<typeof matchingSettingsSchema>

export const DEFAULT_MATCHING_SETTINGS: MatchingSettings = matchingSettingsSchema.parse({})

export function traitMapping(s: MatchingSettings): Record<MatchField, readonly string[]> {
  return { ...DEFAULT_TRAIT_MAPPING, ...s.traitMapping }
}

export async function loadMatchingSettings(
  q: Queryable,
  workspaceId: string,
): Promise<{ settings: MatchingSettings; updatedAt: string | null }> {
  const res = await q.query<{ settings: unknown; updated_at: Date | string }>(
    'SELECT settings, updated_at FROM matching_settings WHERE workspace_id = $1',
    [workspaceId],
  )
  const row = res.rows[0]
  if (!row) return { settings: DEFAULT_MATCHING_SETTINGS, updatedAt: null }
  return {
    settings: matchingSettingsSchema.parse(row.settings),
    updatedAt: new Date(row.updated_at).toISOString(),
  }
}

export async function saveMatchingSettings(
  q: Queryable,
  workspaceId: string,
  settings: MatchingSettings,
  now: Date,
): Promise<void> {
  await q.query(
    `INSERT INTO matching_settings (workspace_id, settings, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (workspace_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = EXCLUDED.updated_at`,
    [workspaceId, JSON.stringify(settings), now.toISOString()],
  )
  // New fields or mapping: the kept model no longer describes the records; retrain next run.
  await q.query('DELETE FROM matching_models WHERE workspace_id = $1', [workspaceId])
}
