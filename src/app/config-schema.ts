/**
 * The environment Kindred reads, as one zod schema: `kindred start` parses `process.env` through
 * it once, so a bad value stops the start with the variable's name instead of surfacing later.
 * It holds the lake's variables so far; the older ones are still read by hand in src/cli/main.ts
 * and belong here too.
 */
import { z } from 'zod'
import { KindredError } from '../protocol/errors.js'

/** An unset variable and an empty one mean the same: the default. */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v)

export const configSchema = z.object({
  /** `off` turns the lake off: no Parquet/Delta tables are written (default `on`). */
  KINDRED_LAKE: z.preprocess(unsetIfEmpty, z.enum(['on', 'off']).default('on')),
  /** Where the lake's tables live (default `<data dir>/lake`); a shared filesystem when scaled out. */
  KINDRED_LAKE_DIR: z.preprocess(unsetIfEmpty, z.string().min(1).optional()),
  /** The most a change waits before the lake writer flushes it (seconds, default 30). */
  KINDRED_LAKE_FLUSH_SECONDS: z.preprocess(
    unsetIfEmpty,
    z.coerce.number().int().min(1).max(3600).default(30),
  ),
})

export type KindredConfig = z.infer<typeof configSchema>

export function parseConfig(env: Record<string, string | undefined>): KindredConfig {
  const parsed = configSchema.safeParse(env)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
    throw new KindredError('CONFIG_INVALID', `invalid environment: ${issues.join('; ')}`, {
      details: parsed.error.issues,
    })
  }
  return parsed.data
}
