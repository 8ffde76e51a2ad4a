/**
 * @module predictions/prediction-traits
 * Where a prediction's outputs live on profiles: computed-trait values with the reserved ids
 * `predicted.<name>.<output>`, so the Profile API lists them with the other computed traits and
 * segments read them with the `computed_trait` condition (the segment API accepts these ids
 * when a prediction of that name exists).
 */

/** A prediction name: lower case, digits and `_`, so that the trait ids need no quoting. */
export const PREDICTION_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/

export const CLV_OUTPUTS = ['expected_purchases', 'p_alive', 'value'] as const
export type ClvOutput = (typeof CLV_OUTPUTS)[number]

export const PREDICTED_PREFIX = 'predicted.'

export function predictionTraitId(name: string, output: ClvOutput): string {
  return `${PREDICTED_PREFIX}${name}.${output}`
}

/** The prediction name a reserved trait id belongs to, or undefined for any other id. */
export function predictionOfTraitId(id: string): string | undefined {
  if (!id.startsWith(PREDICTED_PREFIX)) return undefined
  const rest = id.slice(PREDICTED_PREFIX.length)
  const dot = rest.lastIndexOf('.')
  if (dot <= 0) return undefined
  const name = rest.slice(0, dot)
  const output = rest.slice(dot + 1)
  if (!PREDICTION_NAME_PATTERN.test(name)) return undefined
  return (CLV_OUTPUTS as readonly string[]).includes(output) ? name : undefined
}
