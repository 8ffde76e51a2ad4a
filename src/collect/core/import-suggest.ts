/**
 * Suggested column mappings for an import, from the header and a few sample rows: the console
 * pre-fills its mapping form with them, and the user changes what is wrong. A column is an
 * identifier when its name says so (email, e-mail, phone, mobile, user id…) or when most of its
 * sample values look like e-mails; a date-like `created_at`/`timestamp` column of an event import
 * is the event's time; everything else keeps its name as a trait (profiles) or a property
 * (events), which is what `unmapped: auto` would do. Pure: names and values in, mapping out.
 * @module
 */
import { unsafeSegment, type ColumnSpec, type ImportKind } from './import-mapping.js'

/** Header names (lower case, without separators) that name a well-known field. */
const byName = new Map<string, ColumnSpec>([
  ['email', 'traits.email'],
  ['emailaddress', 'traits.email'],
  ['mail', 'traits.email'],
  ['phone', 'traits.phone'],
  ['phonenumber', 'traits.phone'],
  ['mobile', 'traits.phone'],
  ['mobilephone', 'traits.phone'],
  ['tel', 'traits.phone'],
  ['telephone', 'traits.phone'],
  ['userid', 'userId'],
  ['customerid', 'userId'],
  ['anonymousid', 'anonymousId'],
  ['firstname', 'traits.firstName'],
  ['givenname', 'traits.firstName'],
  ['lastname', 'traits.lastName'],
  ['surname', 'traits.lastName'],
  ['familyname', 'traits.lastName'],
  ['country', 'traits.country'],
  ['countrycode', 'traits.country'],
])

const eventNames = new Map<string, ColumnSpec>([
  ['event', 'event'],
  ['eventname', 'event'],
  ['timestamp', 'timestamp'],
  ['time', 'timestamp'],
  ['occurredat', 'timestamp'],
  ['createdat', 'timestamp'],
])

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** `E-Mail Address` → `emailaddress`: case, spaces, dashes and underscores do not matter. */
function key(column: string): string {
  return column.toLowerCase().replace(/[\s_\-.]+/g, '')
}

export interface SuggestedColumn {
  column: string
  to: ColumnSpec
  /** Why: `name` (the header says so), `values` (the samples look like it) or `default`. */
  reason: 'name' | 'values' | 'default'
}

export function suggestImportMapping(
  header: readonly string[],
  samples: ReadonlyArray<Record<string, unknown>>,
  kind: ImportKind,
): SuggestedColumn[] {
  const bag = kind === 'profiles' ? 'traits' : 'properties'
  const out: SuggestedColumn[] = []
  let hasEmail = false
  for (const column of header) {
    const k = key(column)
    const named = (kind === 'events' ? eventNames.get(k) : undefined) ?? byName.get(k)
    if (named !== undefined) {
      // Person traits of an event import ride in context.traits: the mapper puts them there.
      if (named === 'traits.email') hasEmail = true
      out.push({ column, to: named, reason: 'name' })
      continue
    }
    const values = samples
      .map((r) => (Object.hasOwn(r, column) ? r[column] : undefined))
      .filter((v): v is string => typeof v === 'string' && v.trim() !== '')
    const emails = values.filter((v) => EMAIL.test(v.trim())).length
    if (!hasEmail && values.length > 0 && emails / values.length >= 0.8) {
      hasEmail = true
      out.push({ column, to: 'traits.email', reason: 'values' })
      continue
    }
    // A name that cannot be a field path (`__proto__`, `a.constructor.b`) is left out.
    const to = unsafeSegment(`${bag}.${column}`) === undefined ? `${bag}.${column}` : 'ignore'
    out.push({ column, to, reason: 'default' })
  }
  return out
}
