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
 * - Bounded: a render runs on the event loop of the whole process (ingest, API, console), so an
 *   editor's template must not be able to hold it. Template length, LiquidJS parse and memory
 *   limits, a render time limit, and a cap on every character written while rendering (captures
 *   included, counted as they are written, so a huge string is never built just to be refused),
 *   then the output length cap.
 */
import { Liquid, toValue, type Emitter } from 'liquidjs'
import { LRUCache } from 'lru-cache'
import { DestinationError } from './contract.js'

export interface TemplateLimits {
  /** Characters of template source. */
  maxTemplateLength: number
  /** Characters of rendered output. */
  maxOutputLength: number
  /** Characters written while rendering, captures and discarded output included. */
  maxWrittenLength?: number
  /** Milliseconds one render may take. */
  renderTimeMs?: number
}

export const defaultTemplateLimits: Required<TemplateLimits> = {
  maxTemplateLength: 10_000,
  maxOutputLength: 40_000,
  maxWrittenLength: 100_000,
  renderTimeMs: 100,
}

/** The characters the current (synchronous) render may still write. */
let budget: { left: number; exceeded: boolean } | undefined

function stringify(value: unknown): string {
  const v: unknown = toValue(value)
  if (typeof v === 'string') return v
  if (v === null || v === undefined) return ''
  if (Array.isArray(v)) return v.map(stringify).join('')
  return String(v)
}

/** LiquidJS's plain emitter, but every write is charged to the render's budget first. */
class BoundedEmitter implements Emitter {
  buffer = ''
  write(html: unknown): void {
    const text = stringify(html)
    if (budget) {
      budget.left -= text.length
      if (budget.left < 0) {
        budget.exceeded = true
        throw new Error('write limit exceeded')
      }
    }
    this.buffer += text
  }
}

function createEngine(outputEscape?: (value: unknown) => string): Liquid {
  const liquid = new Liquid({
    templates: {},
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    parseLimit: 100_000,
    // Ranges, array filters and dates count here; a range as long as a message is plenty.
    memoryLimit: 1_000_000,
    renderLimit: defaultTemplateLimits.renderTimeMs,
    cache: false,
    ...(outputEscape ? { outputEscape } : {}),
  })
  // Every block (a loop body, a capture, the template itself) renders through here; without an
  // emitter LiquidJS would build its strings unbounded.
  const renderer = liquid.renderer
  const renderTemplates = renderer.renderTemplates.bind(renderer)
  renderer.renderTemplates = (templates, ctx, emitter) =>
    renderTemplates(templates, ctx, emitter ?? new BoundedEmitter())
  return liquid
}

/**
 * Slack's control characters as HTML entities, the only three Slack decodes: a value written
 * by `{{ }}` can then neither mention (`<!channel>`) nor link (`<url|label>`).
 * https://docs.slack.dev/messaging/formatting-message-text#escaping-text
 */
export function escapeSlack(value: unknown): string {
  return stringify(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** How `{{ }}` output is escaped: not at all (JSON bodies), or for Slack's mrkdwn. */
export type OutputEscape = 'none' | 'slack'

const engines: Record<OutputEscape, Liquid> = {
  none: createEngine(),
  slack: createEngine(escapeSlack),
}
const engine = engines.none

function templateError(err: unknown, limits: Required<TemplateLimits>): DestinationError {
  const message = (err as Error).message
  if (budget?.exceeded) {
    return new DestinationError(
      'TEMPLATE_ERROR',
      `template error: the template writes more than ${limits.maxWrittenLength} characters (loops and captures included). Fix the template in the destination settings.`,
    )
  }
  if (message.includes('template render limit exceeded')) {
    return new DestinationError(
      'TEMPLATE_ERROR',
      `template error: rendering took longer than ${limits.renderTimeMs} ms (too many loop iterations?). Fix the template in the destination settings.`,
    )
  }
  return new DestinationError(
    'TEMPLATE_ERROR',
    `template error: ${message}. Fix the template in the destination settings.`,
  )
}

/**
 * Render `source` with `scope`. Throws `DestinationError('TEMPLATE_ERROR')` (with the LiquidJS
 * message) on syntax errors, unknown filters, forbidden tags, too long input/output, or a render
 * over its time or write budget: the caller should fix the template in the destination's settings.
 * @example renderTemplate('Hi {{ traits.first_name | default: "there" }}', { traits: {} }) // 'Hi there'
 */
export function renderTemplate(
  source: string,
  scope: Record<string, unknown>,
  partialLimits: TemplateLimits = defaultTemplateLimits,
  escape: OutputEscape = 'none',
): string {
  const limits = { ...defaultTemplateLimits, ...partialLimits }
  if (source.length > limits.maxTemplateLength) {
    throw new DestinationError(
      'TEMPLATE_ERROR',
      `template is ${source.length} characters, the limit is ${limits.maxTemplateLength}: shorten it`,
    )
  }
  let out: unknown
  budget = { left: limits.maxWrittenLength, exceeded: false }
  try {
    out = engines[escape].parseAndRenderSync(source, scope, { renderLimit: limits.renderTimeMs })
  } catch (err) {
    throw templateError(err, limits)
  } finally {
    budget = undefined
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

/** What a template sees at save time: every variable the destinations pass, empty. */
const SAMPLE_SCOPE = {
  event: { type: 'track', event: 'Sample', properties: {}, traits: {} },
  properties: {},
  traits: {},
  profile: { id: 'prf_sample', traits: {} },
  action: 'add',
  audience: { id: 'seg_sample', name: 'Sample', key: 'sample' },
}

// Template text → its error or null (boxed: the cache holds no null), at most 1,000 (LRU).
const checked = new LRUCache<string, { error: string | null }>({ max: 1_000 })

/**
 * For validating a template when settings are saved: parses it, then renders it once with empty
 * sample data under the render limits, so a template that loops or writes past them without any
 * data is refused at once instead of failing on every event. Returns an error or null. Results
 * are remembered (settings are validated again before every delivery).
 */
export function checkTemplate(source: string): string | null {
  const known = checked.get(source)
  if (known !== undefined) return known.error
  let result: string | null = null
  try {
    engine.parse(source)
    renderTemplate(source, SAMPLE_SCOPE)
  } catch (err) {
    result = (err as Error).message
  }
  checked.set(source, { error: result })
  return result
}
