/**
 * @module destinations/template
 * A safe LiquidJS renderer for message fields (`{{ traits.first_name | default: "there" }}`).
 *
 * - Synchronous (`parseAndRenderSync`): transforms stay synchronous and pure, so golden fixtures
 *   and the determinism check need no async plumbing, and a template can never await I/O.
 * - No file system: `templates: {}` makes `include`/`render`/`layout` look up an empty in-memory
 *   map, so a template cannot read files of the host.
 * - Strict about filters (an unknown filter is an error, not silently ignored); lenient about
 *   variables (a missing trait renders empty, which `default` handles).
 * - Only own properties are readable (`ownPropertyOnly`), so prototype members never leak.
 * - Limits: template length, LiquidJS parse/memory limits, and an output length cap.
 */
import { Liquid } from 'liquidjs'
import { DestinationError } from './contract.js'

export interface TemplateLimits {
  /** Characters of template source. */
  maxTemplateLength: number
  /** Characters of rendered output. */
  maxOutputLength: number
}

export const defaultTemplateLimits: TemplateLimits = {
  maxTemplateLength: 10_000,
  maxOutputLength: 40_000,
}

const engine = new Liquid({
  templates: {},
  strictFilters: true,
  strictVariables: false,
  ownPropertyOnly: true,
  parseLimit: 100_000,
  memoryLimit: 10_000_000,
  cache: false,
})

/**
 * Render `source` with `scope`. Throws `DestinationError('TEMPLATE_ERROR')` (with the LiquidJS
 * message) on syntax errors, unknown filters, forbidden tags or too long input/output: the caller
 * should fix the template in the destination's settings.
 * @example renderTemplate('Hi {{ traits.first_name | default: "there" }}', { traits: {} }) // 'Hi there'
 */
export function renderTemplate(
  source: string,
  scope: Record<string, unknown>,
  limits: TemplateLimits = defaultTemplateLimits,
): string {
  if (source.length > limits.maxTemplateLength) {
    throw new DestinationError(
      'TEMPLATE_ERROR',
      `template is ${source.length} characters, the limit is ${limits.maxTemplateLength}: shorten it`,
    )
  }
  let out: unknown
  try {
    out = engine.parseAndRenderSync(source, scope)
  } catch (err) {
    throw new DestinationError(
      'TEMPLATE_ERROR',
      `template error: ${(err as Error).message}. Fix the template in the destination settings.`,
    )
  }
  const text = String(out)
  if (text.length > limits.maxOutputLength) {
    throw new DestinationError(
      'TEMPLATE_ERROR',
      `rendered template is ${text.length} characters, the limit is ${limits.maxOutputLength}`,
    )
  }
  return text
}

/** Parse only: for validating a template when settings are saved. Returns an error or null. */
export function checkTemplate(source: string): string | null {
  try {
    engine.parse(source)
    return null
  } catch (err) {
    return (err as Error).message
  }
}
