/**
 * @module identity/rules
 * Per-workspace identity rules: which identifier types win when an event would join profiles
 * (priority), how many identifiers of a type one profile may hold (limits), caps against runaway
 * "mega-profiles", blocked values, trait keys that carry custom identifiers, the default
 * phone region, and how values are normalised on the way in. `parseIdentityRules({})` gives the documented defaults (see README.md).
 */
import { isSupportedCountry } from 'libphonenumber-js'
import type { CountryCode } from 'libphonenumber-js'
import { z } from 'zod'
import { IdentityError } from './identity-errors.js'
import { identifierTypeSchema } from './identifier-types.js'
import {
  compileNormalization,
  normalizationRulesSchema,
  type CompiledNormalization,
} from './normalization-rules.js'

/** Identifier types Kindred extracts itself. Any other valid type name is a custom type. */
export const BUILTIN_IDENTIFIER_TYPES = [
  'user_id',
  'anonymous_id',
  'email',
  'phone',
  'device_id',
] as const
export type BuiltinIdentifierType = (typeof BUILTIN_IDENTIFIER_TYPES)[number]

/** Stands for "every custom type not named elsewhere" in a priority list. */
export const CUSTOM_TYPES_SLOT = '*'

export const DEFAULT_PRIORITY = ['user_id', 'email', 'phone', '*', 'device_id', 'anonymous_id']
export const DEFAULT_LIMITS: Readonly<Record<string, number>> = {
  user_id: 1,
  email: 5,
  phone: 5,
  anonymous_id: 100,
}
/** Compared case-insensitively with the trimmed raw value and with the normalised value. */
export const DEFAULT_BLOCKED_VALUES = [
  '',
  'null',
  'undefined',
  'anonymous',
  '0',
  '-1',
  '[object Object]',
]
export const DEFAULT_CAPS = { maxMergesPerProfile: 100, maxIdentifiersPerProfile: 1000 }
export const DEFAULT_MAX_IDENTIFIER_LENGTH = 256

export { identifierTypeSchema }

const regexSourceSchema = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (source) => {
      try {
        new RegExp(source, 'iu')
        return true
      } catch {
        return false
      }
    },
    { message: 'not a valid regular expression' },
  )

const traitIdentifierSchema = z
  .union([
    identifierTypeSchema,
    z.object({
      /** Trait key read from identify `traits` and from `context.traits`; dots walk into objects. */
      trait: z.string().min(1).max(200),
      type: identifierTypeSchema,
    }),
  ])
  .transform((entry) => (typeof entry === 'string' ? { trait: entry, type: entry } : entry))

export const identityRulesSchema = z
  .object({
    /** Highest first. `*` places the custom types not listed; unlisted types rank with `*`. */
    priority: z
      .array(z.union([identifierTypeSchema, z.literal(CUSTOM_TYPES_SLOT)]))
      .min(1)
      .default(DEFAULT_PRIORITY)
      .refine((list) => new Set(list).size === list.length, { message: 'duplicate entries' }),
    /** Per-profile maximum per type, merged over the defaults; `null` removes a default limit. */
    limits: z.record(identifierTypeSchema, z.number().int().min(1).nullable()).default({}),
    caps: z
      .object({
        maxMergesPerProfile: z.number().int().min(0).default(DEFAULT_CAPS.maxMergesPerProfile),
        maxIdentifiersPerProfile: z
          .number()
          .int()
          .min(1)
          .default(DEFAULT_CAPS.maxIdentifiersPerProfile),
      })
      .prefault({}),
    /** Exact values (case-insensitive) that never identify anyone. Replaces the defaults. */
    blockedValues: z.array(z.string().max(500)).default(DEFAULT_BLOCKED_VALUES),
    /** Regular expressions (matched case-insensitively) whose matches never identify anyone. */
    blockedPatterns: z.array(regexSourceSchema).max(100).default([]),
    /** Trait keys that carry custom identifiers, e.g. `loyalty_id` or `{ trait, type }`. */
    traitIdentifiers: z.array(traitIdentifierSchema).max(100).default([]),
    /** ISO 3166 alpha-2 region for phone numbers written without a `+` country code. */
    phoneDefaultRegion: z
      .string()
      .refine((code) => isSupportedCountry(code), { message: 'unknown ISO 3166 region code' })
      .optional(),
    /** Longer values are rejected (emails are also capped at 254 by their own rule). */
    maxIdentifierLength: z.number().int().min(8).max(4096).default(DEFAULT_MAX_IDENTIFIER_LENGTH),
    /** `alias` is an explicit link: when true it may exceed per-type limits (never the caps). */
    aliasBypassesLimits: z.boolean().default(true),
    /** How identifiers and traits are made canonical on the way in (normalization-rules.ts). */
    normalization: normalizationRulesSchema.prefault({}),
  })
  .strict()
  // Defaults stay explicit in the output (a removed one as `null`), so parsing the output again
  // gives the same rules: safe to store either the input or the parsed rules.
  .transform((rules) => ({ ...rules, limits: { ...DEFAULT_LIMITS, ...rules.limits } }))

/** Input shape (what a workspace stores or PUTs); every field optional. */
export type IdentityRulesInput = z.input<typeof identityRulesSchema>
/** Resolved rules with defaults applied. */
export type IdentityRules = z.output<typeof identityRulesSchema>

/** Parses rules, throwing `IdentityError('INVALID_IDENTITY_RULES')` with zod issues in details. */
export function parseIdentityRules(input: unknown): IdentityRules {
  const result = identityRulesSchema.safeParse(input ?? {})
  if (!result.success) {
    throw new IdentityError(
      'INVALID_IDENTITY_RULES',
      'Invalid identity rules',
      result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
    )
  }
  return result.data
}

export const DEFAULT_IDENTITY_RULES: IdentityRules = parseIdentityRules({})

/** Rules pre-processed for the hot path (priority ranks, blocked sets, compiled patterns). */
export interface CompiledIdentityRules {
  readonly rules: IdentityRules
  /** Smaller is higher priority. */
  rank(type: string): number
  /** Undefined when the type is unlimited. */
  limit(type: string): number | undefined
  isBlocked(value: string): boolean
  readonly phoneDefaultRegion: CountryCode | undefined
  readonly normalization: CompiledNormalization
}

const compiledCache = new WeakMap<IdentityRules, CompiledIdentityRules>()

export function compileIdentityRules(rules: IdentityRules): CompiledIdentityRules {
  const cached = compiledCache.get(rules)
  if (cached) return cached
  const ranks = new Map<string, number>()
  rules.priority.forEach((type, index) => ranks.set(type, index))
  const customRank = ranks.get(CUSTOM_TYPES_SLOT) ?? rules.priority.length
  const blocked = new Set(rules.blockedValues.map((value) => value.trim().toLowerCase()))
  const patterns = rules.blockedPatterns.map((source) => new RegExp(source, 'iu'))
  const compiled: CompiledIdentityRules = {
    rules,
    rank: (type) => ranks.get(type) ?? customRank,
    limit: (type) => rules.limits[type] ?? undefined,
    isBlocked: (value) => {
      const folded = value.trim().toLowerCase()
      return blocked.has(folded) || patterns.some((pattern) => pattern.test(value))
    },
    phoneDefaultRegion: rules.phoneDefaultRegion as CountryCode | undefined,
    normalization: compileNormalization(rules.normalization, rules.phoneDefaultRegion),
  }
  compiledCache.set(rules, compiled)
  return compiled
}
