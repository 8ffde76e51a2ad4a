/**
 * @module destinations/registry
 * Every built-in destination, in one explicit typed record (the Jitsu/PostHog habit: the registry
 * is data you can read, not a directory scan).
 */
import { z } from 'zod'
import type {
  AnyDestination,
  DestinationInput,
  TransformContext,
  TransformResult,
} from './contract.js'
import { DestinationError } from './contract.js'
import { braze } from './braze/transform.js'
import { fileExport } from './file-export/transform.js'
import { googleAds } from './google-ads/transform.js'
import { hubspot } from './hubspot/transform.js'
import { klaviyo } from './klaviyo/transform.js'
import { mailchimp } from './mailchimp/transform.js'
import { meta } from './meta/transform.js'
import { mqtt } from './mqtt/transform.js'
import { nats } from './nats/transform.js'
import { postgresTable } from './postgres-table/transform.js'
import { rabbitmq } from './rabbitmq/transform.js'
import { redisStreams } from './redis-streams/transform.js'
import { slack } from './slack/transform.js'
import { webhook } from './webhook/transform.js'

export type BuiltinDestinationId = `builtin.${string}`

export const builtinDestinations = {
  'builtin.webhook': webhook as unknown as AnyDestination,
  'builtin.slack': slack as unknown as AnyDestination,
  'builtin.mailchimp': mailchimp as unknown as AnyDestination,
  'builtin.klaviyo': klaviyo as unknown as AnyDestination,
  'builtin.hubspot': hubspot as unknown as AnyDestination,
  'builtin.braze': braze as unknown as AnyDestination,
  'builtin.google-ads': googleAds as unknown as AnyDestination,
  'builtin.meta': meta as unknown as AnyDestination,
  'builtin.postgres-table': postgresTable as unknown as AnyDestination,
  'builtin.file-export': fileExport as unknown as AnyDestination,
  'builtin.rabbitmq': rabbitmq as unknown as AnyDestination,
  'builtin.redis-streams': redisStreams as unknown as AnyDestination,
  'builtin.nats': nats as unknown as AnyDestination,
  'builtin.mqtt': mqtt as unknown as AnyDestination,
} satisfies Record<BuiltinDestinationId, AnyDestination>

export type DestinationTypeId = keyof typeof builtinDestinations

export function listDestinations(): AnyDestination[] {
  return Object.values(builtinDestinations)
}

/** The destination type, or `DestinationError('UNKNOWN_DESTINATION')`. */
export function getDestination(id: string): AnyDestination {
  const d = (builtinDestinations as Record<string, AnyDestination>)[id]
  if (!d) {
    throw new DestinationError(
      'UNKNOWN_DESTINATION',
      `unknown destination type "${id}": use one of ${Object.keys(builtinDestinations).join(', ')}`,
      [{ path: 'type', message: 'unknown destination type' }],
    )
  }
  return d
}

/**
 * Validate settings with the destination's schema (applying defaults). Throws
 * `DestinationError('INVALID_SETTINGS')` with zod's issues in `details`.
 */
export function parseSettings(destination: AnyDestination, settings: unknown): unknown {
  const parsed = destination.manifest.settings.safeParse(settings)
  if (!parsed.success) {
    throw new DestinationError(
      'INVALID_SETTINGS',
      `invalid settings for ${destination.manifest.id}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      parsed.error.issues,
    )
  }
  return parsed.data
}

/**
 * The JSON Schema the console renders as the settings form. `io: 'input'` so fields with defaults
 * are optional in the form; secret fields are flagged with `writeOnly: true`.
 */
export function settingsJsonSchema(destination: AnyDestination): Record<string, unknown> {
  const schema = z.toJSONSchema(destination.manifest.settings, {
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>
  for (const f of destination.manifest.secretFields)
    if (props[f]) props[f] = { ...props[f], writeOnly: true }
  return schema
}

/**
 * Validate inputs and settings, then run the transform. The dispatcher's single entry point.
 * Settings must already be decrypted (see secrets.ts).
 */
export function runTransform(
  destination: AnyDestination,
  inputs: DestinationInput[],
  ctx: TransformContext<unknown>,
): TransformResult {
  const settings = parseSettings(destination, ctx.settings)
  return destination.transform(inputs, { ...ctx, settings })
}
