/**
 * @module identity/normalization-rules
 * How values are made canonical on the way in, as data: one text rule for every string trait, a
 * rule per trait key (kind `text`, `email`, `phone`, `date` or `country`, with trim, Unicode form
 * and case), a text rule per identifier type (before the type's own check: emails' shape, phones'
 * E.164), and where a phone's country comes from. The rules live inside the identity rules
 * (`rules.normalization`), so every place that normalises an identifier (the processor, privacy
 * requests, suppression, profile lookups) reads the same ones. `value-normalizer.ts` applies them.
 */
import { z } from 'zod'
import { identifierTypeSchema } from './identifier-types.js'

export const TEXT_CASES = ['as_is', 'lower', 'upper'] as const
export type TextCase = (typeof TEXT_CASES)[number]
/** `nfc` joins canonically equal forms (é as one code point or two); `nfkc` also folds compatibility forms (full-width letters and digits, ligatures). */
export const UNICODE_FORMS = ['none', 'nfc', 'nfkc'] as const
export type UnicodeForm = (typeof UNICODE_FORMS)[number]
export const VALUE_KINDS = ['text', 'email', 'phone', 'date', 'country'] as const
export type ValueKind = (typeof VALUE_KINDS)[number]
/** How an all-numeric date such as `03/04/1990` is read; `ymd` reads only year-first dates. */
export const DATE_ORDERS = ['ymd', 'dmy', 'mdy'] as const
export type DateOrder = (typeof DATE_ORDERS)[number]

export interface TextRule {
  trim: boolean
  unicode: UnicodeForm
  case: TextCase
}

export interface TraitRule extends TextRule {
  kind: ValueKind
  /** Only for kind `date` (default `ymd`). */
  dateOrder?: DateOrder
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const traitKeySchema = z
  .string()
  .min(1)
  .max(200)
  .refine((key) => !key.split('.').some((part) => UNSAFE_KEYS.has(part)), {
    message: 'must not name __proto__, constructor or prototype',
  })

const partialText = {
  trim: z.boolean().optional(),
  unicode: z.enum(UNICODE_FORMS).optional(),
  case: z.enum(TEXT_CASES).optional(),
}
const textRuleInputSchema = z.strictObject(partialText)
const traitRuleInputSchema = z.strictObject({
  kind: z.enum(VALUE_KINDS).optional(),
  ...partialText,
  dateOrder: z.enum(DATE_ORDERS).optional(),
})
export type TextRuleInput = z.input<typeof textRuleInputSchema>
export type TraitRuleInput = z.input<typeof traitRuleInputSchema>

/**
 * Stored as given (every field optional); the defaults below are applied when compiling, so a
 * rule left out follows a later change of the defaults, and parsing the output again gives the
 * same rules.
 */
export const normalizationRulesSchema = z.strictObject({
  /** Every string in a trait value that has no rule of its own, nested ones included. */
  text: textRuleInputSchema.default({}),
  /** Per top-level trait key, over the defaults (`email`, `phone`, `country`, `country_code`); `null` removes one. */
  traits: z.record(traitKeySchema, traitRuleInputSchema.nullable()).default({}),
  /** Per identifier type, over the defaults (`email` lower-cased, NFKC; others trimmed only). */
  identifiers: z.record(identifierTypeSchema, textRuleInputSchema).default({}),
  phoneCountry: z
    .strictObject({
      /** Trait keys (dots walk into objects) holding an ISO 3166 alpha-2 country, read from the event or row first. */
      traits: z.array(traitKeySchema).max(10).default(['country', 'country_code']),
      /** Then the profile's own value of those traits (the processor looks it up). */
      profile: z.boolean().default(true),
    })
    .prefault({}),
})
export type NormalizationRulesInput = z.input<typeof normalizationRulesSchema>
export type NormalizationRules = z.output<typeof normalizationRulesSchema>

/** Strings in traits: trimmed, canonically composed, case kept. */
export const DEFAULT_TEXT_RULE: TextRule = { trim: true, unicode: 'nfc', case: 'as_is' }
/**
 * Identifiers without a rule: trimmed only. User ids and device ids are opaque strings whose
 * stored form is their key; folding them (case, Unicode) would split people already stored.
 */
export const DEFAULT_IDENTIFIER_TEXT_RULE: TextRule = {
  trim: true,
  unicode: 'none',
  case: 'as_is',
}
export const DEFAULT_IDENTIFIER_RULES: Readonly<Record<string, TextRule>> = {
  email: { trim: true, unicode: 'nfkc', case: 'lower' },
  phone: { trim: true, unicode: 'nfkc', case: 'as_is' },
}
/** Text settings a kind brings when a trait rule leaves them out (`text` takes the workspace's). */
const KIND_TEXT_DEFAULTS: Readonly<Record<Exclude<ValueKind, 'text'>, TextRule>> = {
  email: { trim: true, unicode: 'nfkc', case: 'lower' },
  phone: { trim: true, unicode: 'nfkc', case: 'as_is' },
  date: { trim: true, unicode: 'nfkc', case: 'as_is' },
  country: { trim: true, unicode: 'nfkc', case: 'as_is' },
}
export const DEFAULT_TRAIT_RULES: Readonly<Record<string, TraitRuleInput>> = {
  email: { kind: 'email' },
  phone: { kind: 'phone' },
  country: { kind: 'country' },
  country_code: { kind: 'country' },
}

/** Rules resolved for the hot path: every lookup answers a complete rule. */
export interface CompiledNormalization {
  readonly text: TextRule
  /** The rule of a top-level trait key; the workspace text rule (kind `text`) when it has none. */
  trait(key: string): TraitRule
  identifier(type: string): TextRule
  readonly countryTraits: readonly string[]
  readonly profileCountry: boolean
  /** The workspace region (`phoneDefaultRegion` of the identity rules): the last resort for phones. */
  readonly defaultRegion: string | undefined
  /** Trait keys with a rule of their own (defaults included), for descriptions. */
  readonly traitKeys: readonly string[]
  readonly identifierTypes: readonly string[]
}

function resolveText(input: TextRuleInput | undefined, base: TextRule): TextRule {
  return {
    trim: input?.trim ?? base.trim,
    unicode: input?.unicode ?? base.unicode,
    case: input?.case ?? base.case,
  }
}

function resolveTrait(input: TraitRuleInput, text: TextRule): TraitRule {
  const kind = input.kind ?? 'text'
  const base = kind === 'text' ? text : KIND_TEXT_DEFAULTS[kind]
  const rule: TraitRule = { kind, ...resolveText(input, base) }
  if (kind === 'date') rule.dateOrder = input.dateOrder ?? 'ymd'
  return rule
}

export function compileNormalization(
  rules: NormalizationRules,
  defaultRegion: string | undefined,
): CompiledNormalization {
  const text = resolveText(rules.text, DEFAULT_TEXT_RULE)
  // Maps, not objects: a trait named "constructor" must not find Object's constructor.
  const traits = new Map<string, TraitRule>()
  for (const [key, input] of Object.entries({ ...DEFAULT_TRAIT_RULES, ...rules.traits })) {
    if (input !== null && input !== undefined) traits.set(key, resolveTrait(input, text))
  }
  const identifiers = new Map<string, TextRule>()
  for (const [type, rule] of Object.entries(DEFAULT_IDENTIFIER_RULES)) identifiers.set(type, rule)
  for (const [type, input] of Object.entries(rules.identifiers)) {
    identifiers.set(type, resolveText(input, identifiers.get(type) ?? DEFAULT_IDENTIFIER_TEXT_RULE))
  }
  const plainText: TraitRule = { kind: 'text', ...text }
  return {
    text,
    trait: (key) => traits.get(key) ?? plainText,
    identifier: (type) => identifiers.get(type) ?? DEFAULT_IDENTIFIER_TEXT_RULE,
    countryTraits: rules.phoneCountry.traits,
    profileCountry: rules.phoneCountry.profile,
    defaultRegion,
    traitKeys: [...traits.keys()].sort(),
    identifierTypes: [...identifiers.keys()].sort(),
  }
}

/** The effective rules, defaults applied: what the API shows next to imports and tracking plans. */
export interface NormalizationView {
  /** Every string trait value without a rule of its own. */
  text: TextRule
  traits: Record<string, TraitRule>
  /** Per identifier type; `*` is every other type. */
  identifiers: Record<string, TextRule>
  phoneCountry: {
    /** Where a national-format phone's country comes from, in order. */
    order: string[]
    traits: string[]
    profile: boolean
    defaultRegion: string | null
  }
}

export function describeNormalization(compiled: CompiledNormalization): NormalizationView {
  const traits: Record<string, TraitRule> = {}
  for (const key of compiled.traitKeys) traits[key] = compiled.trait(key)
  const identifiers: Record<string, TextRule> = {}
  for (const type of compiled.identifierTypes) identifiers[type] = compiled.identifier(type)
  identifiers['*'] = DEFAULT_IDENTIFIER_TEXT_RULE
  const order = [
    ...compiled.countryTraits.map((t) => `event traits.${t}`),
    ...(compiled.profileCountry ? compiled.countryTraits.map((t) => `profile traits.${t}`) : []),
    ...(compiled.defaultRegion === undefined ? [] : ['workspace phoneDefaultRegion']),
  ]
  return {
    text: compiled.text,
    traits,
    identifiers,
    phoneCountry: {
      order,
      traits: [...compiled.countryTraits],
      profile: compiled.profileCountry,
      defaultRegion: compiled.defaultRegion ?? null,
    },
  }
}
