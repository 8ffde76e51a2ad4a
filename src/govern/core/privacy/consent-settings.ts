/**
 * Consent settings of a workspace: the purposes it asks consent for, how a consent platform's
 * categories map to them, and what to do when a profile never answered for a purpose.
 */
import { z } from 'zod'

export const defaultPurposes = ['analytics', 'marketing', 'advertising', 'personalization'] as const

export const purposeNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a purpose is lowercase letters, digits, "_" or "-" (≤ 64)')

export const consentStatusSchema = z.enum(['granted', 'denied'])
export type ConsentStatus = z.infer<typeof consentStatusSchema>

export const unknownDefaultSchema = z.enum(['allow', 'deny'])
export type UnknownDefault = z.infer<typeof unknownDefaultSchema>

export const consentSettingsSchema = z
  .object({
    purposes: z.array(purposeNameSchema).min(1).max(50),
    /** CMP category id (Segment's `categoryPreferences` keys, e.g. OneTrust `C0004`) → purpose. */
    categories: z.record(z.string().min(1).max(128), purposeNameSchema).default({}),
    /** Decision for a purpose the profile never answered (and for a profile-less event). */
    unknown: unknownDefaultSchema.default('allow'),
    /** Per-purpose overrides of `unknown`. */
    unknownByPurpose: z.record(purposeNameSchema, unknownDefaultSchema).default({}),
    /**
     * A `categoryPreferences` object that does not address a purpose's categories: `deny` (what
     * Segment does: unaddressed categories are false) or `ignore` (leave that purpose unchanged).
     */
    missingCategories: z.enum(['deny', 'ignore']).default('deny'),
  })
  .superRefine((s, ctx) => {
    const known = new Set(s.purposes)
    if (known.size !== s.purposes.length)
      ctx.addIssue({ code: 'custom', path: ['purposes'], message: 'purposes must be unique' })
    if (Object.keys(s.categories).length > 200)
      ctx.addIssue({ code: 'custom', path: ['categories'], message: 'at most 200 categories' })
    for (const [cat, p] of Object.entries(s.categories))
      if (!known.has(p))
        ctx.addIssue({
          code: 'custom',
          path: ['categories', cat],
          message: `"${p}" is not one of the purposes`,
        })
    for (const p of Object.keys(s.unknownByPurpose))
      if (!known.has(p))
        ctx.addIssue({
          code: 'custom',
          path: ['unknownByPurpose', p],
          message: `"${p}" is not one of the purposes`,
        })
  })

export type ConsentSettings = z.output<typeof consentSettingsSchema>
export type ConsentSettingsInput = z.input<typeof consentSettingsSchema>

/**
 * The settings of a workspace that never configured consent. `unknown: allow` keeps activation
 * working for workspaces that do not collect consent; set it to `deny` for opt-in regimes.
 */
export function defaultConsentSettings(): ConsentSettings {
  return {
    purposes: [...defaultPurposes],
    categories: {},
    unknown: 'allow',
    unknownByPurpose: {},
    missingCategories: 'deny',
  }
}
