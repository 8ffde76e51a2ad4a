/**
 * Field kinds: detection from column names, value normalisation, default comparison levels and
 * default blocking rules.
 *
 * @module
 */
import type { BlockingRule, FieldConfig, FieldKind, LevelSpec } from './model-config.js'

const PATTERNS: ReadonlyArray<readonly [FieldKind, RegExp]> = [
  ['dateOfBirth', /^(dob|dateofbirth|birthdate|birthday|dateborn|bdate|birth)$/],
  ['givenName', /^(given|givenname|firstname|first|forename|fname|christianname)$/],
  ['surname', /^(surname|lastname|last|familyname|lname|sname)$/],
  ['fullName', /^(name|fullname|customername|personname)$/],
  ['streetNumber', /^(streetnumber|streetno|housenumber|houseno|streetnum|number)$/],
  ['address', /^(address|addr|street|streetaddress|streetname|address\d|addressline\d?|line\d)$/],
  ['city', /^(suburb|city|town|locality)$/],
  ['postcode', /^(postcode|zip|zipcode|postalcode|postal|pcode)$/],
  ['state', /^(state|province|region|territory)$/],
  ['email', /^(email|emailaddress|mail)$/],
  ['phone', /^(phone|phonenumber|mobile|mobilephone|telephone|tel|cell|cellphone)$/],
  ['identifier', /^(socsecid|ssn|socialsecuritynumber|nationalid|taxid|passport|licence|license)$/],
]

/** The kind a column holds, guessed from its name, or null when it is not recognised. */
export function detectFieldKind(column: string): FieldKind | null {
  const key = column.toLowerCase().replace(/[^a-z0-9]/g, '')
  for (const [kind, re] of PATTERNS) if (re.test(key)) return kind
  return null
}

/** The compared fields for a set of columns: every recognised column except the id column. */
export function detectFields(
  columns: readonly string[],
  idColumn: string | undefined,
  exclude: readonly string[] = [],
): FieldConfig[] {
  const fields: FieldConfig[] = []
  for (const column of columns) {
    if (column === idColumn || exclude.includes(column)) continue
    const kind = detectFieldKind(column)
    if (kind) fields.push({ column, kind })
  }
  return fields
}

/** Default comparison levels per kind (best first; "else" and "null" are implicit). */
export function defaultLevels(kind: FieldKind): LevelSpec[] {
  switch (kind) {
    case 'givenName':
    case 'surname':
    case 'city':
      return [
        { type: 'exact' },
        { type: 'jaroWinkler', min: 0.92 },
        { type: 'phonetic' },
        { type: 'jaroWinkler', min: 0.8 },
      ]
    case 'fullName':
      return [
        { type: 'exact' },
        { type: 'tokenSet', min: 0.9 },
        { type: 'tokenSet', min: 0.7 },
        { type: 'tokenSet', min: 0.45 },
      ]
    case 'address':
      return [
        { type: 'exact' },
        { type: 'jaroWinkler', min: 0.92 },
        { type: 'tokenSet', min: 0.8 },
        { type: 'tokenSet', min: 0.45 },
      ]
    case 'postcode':
    case 'streetNumber':
    case 'phone':
    case 'identifier':
      return [{ type: 'exact' }, { type: 'damerauLevenshtein', max: 1 }]
    case 'state':
      return [{ type: 'exact' }]
    case 'dateOfBirth':
      return [
        { type: 'exact' },
        { type: 'dateDayMonthSwap' },
        { type: 'damerauLevenshtein', max: 1 },
        { type: 'dateDays', max: 365 },
      ]
    // An email is an identifier, not a name: `chloe.kowalski.crm39@` and `…crm148@` are one edit
    // apart and two people. Near-identical emails were the strongest fuzzy evidence the model had
    // (+26 bits on a real import), so emails agree exactly or disagree.
    case 'email':
      return [{ type: 'exact' }]
    case 'text':
      return [{ type: 'exact' }, { type: 'jaroWinkler', min: 0.9 }]
  }
}

/**
 * Kinds whose values identify one person (email, phone, national ids): two different values are
 * evidence against a match, so their disagreement weight is bounded (`identifierDisagreement`).
 */
export function isIdentifierKind(kind: FieldKind): boolean {
  return kind === 'email' || kind === 'phone' || kind === 'identifier'
}

/** Whether exact matches on this kind get a term-frequency adjustment by default. */
export function defaultTermFrequency(kind: FieldKind): boolean {
  return kind === 'givenName' || kind === 'surname' || kind === 'city' || kind === 'fullName'
}

const ADDRESS_ABBREVIATIONS: Readonly<Record<string, string>> = {
  st: 'street',
  str: 'street',
  rd: 'road',
  ave: 'avenue',
  av: 'avenue',
  dr: 'drive',
  drv: 'drive',
  ct: 'court',
  crt: 'court',
  pl: 'place',
  cres: 'crescent',
  cr: 'crescent',
  cct: 'circuit',
  ln: 'lane',
  hwy: 'highway',
  pde: 'parade',
  tce: 'terrace',
  blvd: 'boulevard',
  cl: 'close',
  sq: 'square',
  mt: 'mount',
  apt: 'apartment',
  n: 'north',
  s: 'south',
  e: 'east',
  w: 'west',
}

const NON_ASCII = /[^ -~]/

function basicText(value: string): string {
  const s = NON_ASCII.test(value) ? value.normalize('NFKD').replace(/[\u0300-\u036f]/g, '') : value
  return s.toLowerCase().trim()
}

/** Replaces runs of non-alphanumerics with `by`; ASCII fast path, Unicode-aware otherwise. */
function alnumRuns(s: string, by: string): string {
  return NON_ASCII.test(s) ? s.replace(/[^\p{L}\p{N}]+/gu, by) : s.replace(/[^a-z0-9]+/g, by)
}

/**
 * Normalises a raw value for a field kind; returns null for missing values (empty after
 * normalisation). Dates become `YYYYMMDD` when they parse, so formats compare equal.
 */
export function normalizeValue(kind: FieldKind, raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null
  let s = basicText(raw)
  if (s === '') return null
  switch (kind) {
    case 'givenName':
    case 'surname':
    case 'city':
    case 'state':
    case 'fullName':
    case 'text':
      s = alnumRuns(s.replace(/['’`.]/g, ''), ' ').trim()
      break
    case 'address':
      s = alnumRuns(s.replace(/['’`.]/g, ''), ' ')
        .split(' ')
        .filter((t) => t.length > 0)
        .map((t) => ADDRESS_ABBREVIATIONS[t] ?? t)
        .join(' ')
      break
    case 'postcode':
    case 'streetNumber':
    case 'identifier':
      s = alnumRuns(s, '')
      break
    case 'phone': {
      s = s.replace(/\D+/g, '')
      if (s.length > 9) s = s.slice(-9)
      break
    }
    case 'email':
      s = s.replace(/\s+/g, '')
      break
    case 'dateOfBirth':
      s = normalizeDate(s)
      break
  }
  return s === '' ? null : s
}

function normalizeDate(s: string): string {
  const m = /^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})(?:[T ].*)?$/.exec(s)
  if (m && (s.length === 8 || /[-/.]/.test(s))) {
    return `${m[1]}${m[2]!.padStart(2, '0')}${m[3]!.padStart(2, '0')}`
  }
  const d = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(s)
  if (d) return `${d[3]}${d[2]!.padStart(2, '0')}${d[1]!.padStart(2, '0')}`
  return s.replace(/\s+/g, '')
}

/**
 * Default blocking rules for the detected fields: several narrow rules, unioned, so that a pair
 * with errors in some fields still shares at least one key. Each rule is only emitted when all
 * its columns are present.
 */
export function defaultBlockingRules(fields: readonly FieldConfig[]): BlockingRule[] {
  const col = (kind: FieldKind): string | undefined => fields.find((f) => f.kind === kind)?.column
  const given = col('givenName')
  const surname = col('surname')
  const fullName = col('fullName')
  const dob = col('dateOfBirth')
  const postcode = col('postcode')
  const streetNumber = col('streetNumber')
  const address = col('address')
  const city = col('city')
  const email = col('email')
  const phone = col('phone')
  const identifier = col('identifier')
  const rules: BlockingRule[] = []
  const add = (name: string, ...keys: BlockingRule['keys']): void => {
    rules.push({ name, keys })
  }
  if (given && surname) {
    add('names (phonetic, either order)', {
      column: given,
      transform: 'sortedNames',
      with: surname,
    })
  }
  if (dob) add('date of birth', { column: dob, transform: 'exact' })
  if (postcode && streetNumber) {
    add(
      'postcode + street number',
      { column: postcode, transform: 'exact' },
      { column: streetNumber, transform: 'exact' },
    )
  }
  if (surname && postcode) {
    add(
      'surname + postcode',
      { column: surname, transform: 'metaphone' },
      { column: postcode, transform: 'exact' },
    )
  }
  if (surname && city) {
    add(
      'surname + locality',
      { column: surname, transform: 'metaphone' },
      { column: city, transform: 'exact' },
    )
  }
  if (given && postcode) {
    add(
      'given name + postcode',
      { column: given, transform: 'metaphone' },
      { column: postcode, transform: 'exact' },
    )
  }
  if (given && dob) {
    add(
      'given name + birth month',
      { column: given, transform: 'metaphone' },
      { column: dob, transform: 'yearMonth' },
    )
  }
  if (surname && dob) {
    add(
      'surname + birth year',
      { column: surname, transform: 'metaphone' },
      { column: dob, transform: 'year' },
    )
  }
  if (address && (city ?? postcode)) {
    add(
      'address + locality',
      { column: address, transform: 'exact' },
      { column: (city ?? postcode)!, transform: 'exact' },
    )
  }
  if (address && streetNumber) {
    add(
      'address + street number',
      { column: address, transform: 'exact' },
      { column: streetNumber, transform: 'exact' },
    )
  }
  if (fullName) add('full name', { column: fullName, transform: 'metaphone' })
  if (fullName && dob) {
    add(
      'full name + birth year',
      { column: fullName, transform: 'firstToken' },
      {
        column: dob,
        transform: 'year',
      },
    )
  }
  if (email) add('email', { column: email, transform: 'exact' })
  if (phone) add('phone', { column: phone, transform: 'exact' })
  if (identifier) add('identifier', { column: identifier, transform: 'exact' })
  return rules
}
