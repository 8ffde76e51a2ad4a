/**
 * The `model.json` schema: which columns are compared and how, the blocking rules, the EM
 * settings and, optionally, trained parameters and labelled pairs. Everything is optional;
 * an empty object means "detect the fields from the column names and use the defaults".
 *
 * @module
 */
import { z } from 'zod'

export const fieldKindSchema = z
  .enum([
    'givenName',
    'surname',
    'fullName',
    'address',
    'city',
    'postcode',
    'state',
    'dateOfBirth',
    'email',
    'phone',
    'streetNumber',
    'identifier',
    'text',
  ])
  .describe('What the column holds; decides normalisation and the default comparison levels.')
export type FieldKind = z.infer<typeof fieldKindSchema>

const similarity = z.number().min(0).max(1)
const distance = z.number().int().min(0)

/** One comparison level; levels are tried in order and the first that holds is the pair's level. */
export const levelSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('exact') }),
  z.object({ type: z.literal('jaro'), min: similarity }),
  z.object({ type: z.literal('jaroWinkler'), min: similarity }),
  z.object({ type: z.literal('levenshtein'), max: distance }),
  z.object({ type: z.literal('damerauLevenshtein'), max: distance }),
  z.object({ type: z.literal('phonetic') }),
  z.object({ type: z.literal('tokenSet'), min: similarity }),
  z.object({ type: z.literal('prefix'), length: z.number().int().min(1) }),
  z.object({ type: z.literal('numericAbs'), max: z.number().min(0) }),
  z.object({ type: z.literal('numericRel'), max: z.number().min(0) }),
  z.object({ type: z.literal('dateDays'), max: z.number().min(0) }),
  z.object({ type: z.literal('dateDayMonthSwap') }),
])
export type LevelSpec = z.infer<typeof levelSchema>

export const fieldConfigSchema = z.object({
  column: z.string().min(1).describe('Input column name.'),
  name: z.string().min(1).optional().describe('Name shown in explanations; defaults to column.'),
  kind: fieldKindSchema.optional().describe('Detected from the column name when omitted.'),
  levels: z
    .array(levelSchema)
    .min(1)
    .max(8)
    .optional()
    .describe('Comparison levels, best first; "else" and "null" levels are implicit.'),
  termFrequency: z
    .boolean()
    .optional()
    .describe('Adjust the exact-match weight by how common the value is.'),
})
export type FieldConfig = z.infer<typeof fieldConfigSchema>

export const blockingTransformSchema = z.enum([
  'exact',
  'metaphone',
  'prefix',
  'year',
  'yearMonth',
  'digits',
  'firstToken',
  'sortedNames',
])
export type BlockingTransform = z.infer<typeof blockingTransformSchema>

export const blockingKeySchema = z.object({
  column: z.string().min(1),
  transform: blockingTransformSchema.default('exact'),
  length: z.number().int().min(1).optional().describe('For "prefix": how many characters.'),
  with: z.string().min(1).optional().describe('For "sortedNames": the second name column.'),
})
export type BlockingKey = z.infer<typeof blockingKeySchema>

export const blockingRuleSchema = z.object({
  name: z.string().min(1).optional(),
  keys: z.array(blockingKeySchema).min(1),
})
export type BlockingRule = z.infer<typeof blockingRuleSchema>

const probabilityVector = z.array(z.number().min(0).max(1))

export const trainedParametersSchema = z.object({
  lambda: z.number().gt(0).lt(1),
  fields: z.record(z.string(), z.object({ m: probabilityVector, u: probabilityVector })),
})
export type TrainedParameters = z.infer<typeof trainedParametersSchema>

export const labelledPairSchema = z.object({
  left: z.string(),
  right: z.string(),
  match: z.boolean(),
})
export type LabelledPair = z.infer<typeof labelledPairSchema>

export const modelConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    fields: z.array(fieldConfigSchema).optional().describe('Compared columns; detected if absent.'),
    exclude: z.array(z.string()).default([]).describe('Columns never compared nor blocked on.'),
    blocking: z
      .array(blockingRuleSchema)
      .optional()
      .describe('Candidate pairs share all keys of at least one rule; defaults by field kinds.'),
    maxBlockSize: z
      .number()
      .int()
      .min(2)
      .optional()
      .describe('Skip blocks with more records than this (guards against a huge common key).'),
    threshold: z.number().min(0).max(1).optional().describe('Match probability threshold.'),
    nameSwap: z
      .boolean()
      .default(true)
      .describe('Score given name and surname swapped (A.given ≈ B.surname and back) as agreeing.'),
    identifierDisagreement: z
      .number()
      .gt(0)
      .lt(1)
      .nullable()
      .default(0.05)
      .describe(
        'Email, phone and identifier fields: the most m of their last ("else") level may be after EM, i.e. how often one person\'s two records carry two different values; null keeps what EM estimated.',
      ),
    em: z
      .object({
        maxIterations: z.number().int().min(1).default(100),
        tolerance: z.number().gt(0).default(1e-6),
        uSampleSize: z.number().int().min(0).default(20_000),
        fixU: z.boolean().default(false),
        initialLambda: z.number().gt(0).lt(1).default(0.1),
      })
      .prefault({}),
    termFrequency: z
      .object({
        enabled: z.boolean().default(true),
        minFrequency: z.number().gt(0).default(1e-6),
      })
      .prefault({}),
    clustering: z
      .object({
        maxClusterSize: z.number().int().min(2).optional(),
        minLinkDensity: z.number().min(0).max(1).optional(),
      })
      .prefault({}),
    parameters: trainedParametersSchema.optional().describe('Trained m/u; EM is skipped if set.'),
    labels: z.array(labelledPairSchema).default([]).describe('Optional known (non-)matches.'),
    seed: z.number().int().default(1),
  })
  .strict()

export type ModelConfig = z.infer<typeof modelConfigSchema>
export type ModelConfigInput = z.input<typeof modelConfigSchema>

/** Parses and validates a model config (e.g. the contents of `model.json`). */
export function parseModelConfig(input: unknown): ModelConfig {
  return modelConfigSchema.parse(input ?? {})
}
