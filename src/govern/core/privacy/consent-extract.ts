/**
 * Consent carried by an event, as purpose → status. Three places, later ones winning:
 *
 * 1. Segment's `context.consent.categoryPreferences` (`{ categoryId: boolean }`, stamped by
 *    Segment's consent wrappers on every event). Categories map to purposes through the
 *    workspace's `categories` mapping, or by name (`Advertising` → `advertising`) for a purpose
 *    no mapping targets. A purpose fed by several categories is granted only if all of them are
 *    true. Like Segment, an object that does not address a purpose's categories (including an
 *    empty object) denies it, unless `missingCategories` is `ignore`. Unknown categories are
 *    ignored; an absent or empty `context.consent` changes nothing.
 * 2. Identify traits `traits.consent` (or `context.traits.consent`): `{ purpose: boolean |
 *    'granted' | 'denied' }`.
 * 3. Kindred's own `context.consent.purposes`, same shape: the explicit form.
 *
 * Purposes the workspace does not configure are ignored.
 */
import type { KindredEvent } from '../../../protocol/event-schema.js'
import type { ConsentSettings, ConsentStatus } from './consent-settings.js'

type ConsentEvent = Pick<KindredEvent, 'type' | 'traits' | 'context'>

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function statusOf(v: unknown): ConsentStatus | undefined {
  if (v === true || v === 'granted') return 'granted'
  if (v === false || v === 'denied') return 'denied'
  return undefined
}

/** Category ids of each purpose: the mapped ones, else the purpose's own name. */
function categoriesByPurpose(settings: ConsentSettings): Map<string, string[]> {
  const out = new Map<string, string[]>(settings.purposes.map((p) => [p, []]))
  for (const [cat, p] of Object.entries(settings.categories)) out.get(p)?.push(cat.toLowerCase())
  for (const [p, cats] of out) if (cats.length === 0) cats.push(p)
  return out
}

function fromCategoryPreferences(
  prefs: Record<string, unknown>,
  settings: ConsentSettings,
): Map<string, ConsentStatus> {
  const given = new Map<string, boolean>()
  for (const [k, v] of Object.entries(prefs))
    if (typeof v === 'boolean') given.set(k.toLowerCase(), v)
  const out = new Map<string, ConsentStatus>()
  for (const [purpose, cats] of categoriesByPurpose(settings)) {
    const values = cats.map((c) => given.get(c))
    const addressed = values.filter((v): v is boolean => v !== undefined)
    if (addressed.length === 0 && settings.missingCategories === 'ignore') continue
    const missing = addressed.length < values.length
    const granted = addressed.every((v) => v) && !(missing && settings.missingCategories === 'deny')
    out.set(purpose, granted ? 'granted' : 'denied')
  }
  return out
}

function fromPurposeMap(
  value: unknown,
  settings: ConsentSettings,
  into: Map<string, ConsentStatus>,
): void {
  if (!isObject(value)) return
  const known = new Set(settings.purposes)
  for (const [k, v] of Object.entries(value)) {
    const s = statusOf(v)
    if (s !== undefined && known.has(k)) into.set(k, s)
  }
}

/** purpose → status stated by the event (empty when it says nothing about consent). */
export function extractConsent(
  event: ConsentEvent,
  settings: ConsentSettings,
): Map<string, ConsentStatus> {
  const consent = event.context.consent
  const prefs = isObject(consent) ? consent.categoryPreferences : undefined
  const out = isObject(prefs) ? fromCategoryPreferences(prefs, settings) : new Map()
  const ctxTraits = event.context.traits
  if (isObject(ctxTraits)) fromPurposeMap(ctxTraits.consent, settings, out)
  if (event.type === 'identify') fromPurposeMap(event.traits.consent, settings, out)
  if (isObject(consent)) fromPurposeMap(consent.purposes, settings, out)
  return out
}

/**
 * Whether an event may carry consent at all (settings-independent, cheap): what the segments
 * stage uses to decide that consent segments need a look.
 */
export function carriesConsent(event: ConsentEvent): boolean {
  const consent = event.context.consent
  if (isObject(consent) && (isObject(consent.categoryPreferences) || isObject(consent.purposes)))
    return true
  const ctxTraits = event.context.traits
  if (isObject(ctxTraits) && isObject(ctxTraits.consent)) return true
  return event.type === 'identify' && isObject(event.traits.consent)
}
