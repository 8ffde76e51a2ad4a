/**
 * Realistic CDP profiles for matching: shoppers of one shop, with the look-alikes real customer
 * data is full of and FEBRL is not. Seeded (mulberry32 through `createRng`), so the same options
 * give the same profiles.
 *
 * - Shared names: first and last names come from short lists with skewed picks, so a thousand
 *   shoppers hold many "Chloe Kowalski"s who are different people.
 * - Emails in the shapes real shops see: `first.last<digits>@`, `first.last+tag@`,
 *   `first.last.crm<n>@` (the import that once merged 40 customers), `firstlast<yy>@`, `flast@`.
 * - Households: two or three people at one address, most with one surname, half of them on one
 *   landline, each with an email of their own.
 * - True duplicates: the same person again (a guest checkout, an in-store sign-up, a CRM row)
 *   with a typo'd or re-cased name and the same email (cased and spaced any way) or the same
 *   phone, sometimes with the address missing; a few under a second email of their own (the
 *   evidence says two people there: a reviewer's call, never an auto-merge).
 *
 * Identities are what the identity stage would leave: one anonymous id each, a user id for the
 * account holders (originals), and the email or phone identity on the first profile that
 * carries the value (a later profile with the same value holds it as a trait only, as when it
 * came in under another user id the rules would not join). Phones written nationally
 * (`07700 900123`) are not identifiers without a default region, as at ingest.
 * @module
 */
import { createRng, type Rng } from './data-generator.js'
import type { Identifier } from '../src/unify/core/identity/index.js'

export interface ShopperProfile {
  /** Profile id (sorts in creation order). */
  id: string
  /** Ground truth: profiles of one person share it. */
  person: number
  createdAt: number
  traits: Record<string, unknown>
  identifiers: Identifier[]
  /** How this profile came to be (for the benchmark's breakdown). */
  kind: 'original' | 'household' | 'duplicate' | 'second-email'
}

export interface ShopperOptions {
  seed: number
  /** Distinct people (default 1,000). */
  people?: number
  /** Share of people with a second profile (default 0.2). */
  duplicateShare?: number
  /** Share of people who head a household of two or three (default 0.12). */
  householdShare?: number
}

const GIVEN =
  'chloe oliver amelia george olivia harry isla jack ava noah emily leo sophia oscar grace charlie lily jacob freya thomas mia william ella james sophie daniel anna david maria michael'.split(
    ' ',
  )
const SURNAMES =
  'smith jones taylor brown williams wilson kowalski johnson davies patel robinson wright thompson evans walker white roberts green hall wood jackson clarke nowak khan lewis murphy martin garcia'.split(
    ' ',
  )
const STREETS =
  'high street, station road, church lane, park avenue, victoria road, green lane, manor road, church street, park road, queens road, new road, grange road, kings road, mill lane, school lane, the crescent, north street, york road'.split(
    ', ',
  )
const CITIES: ReadonlyArray<readonly [city: string, postcodeArea: string]> = [
  ['london', 'SW1'],
  ['manchester', 'M1'],
  ['leeds', 'LS1'],
  ['bristol', 'BS1'],
  ['birmingham', 'B1'],
  ['glasgow', 'G1'],
  ['cardiff', 'CF1'],
  ['york', 'YO1'],
]
const DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.co.uk', 'hotmail.com', 'example.org']
const TAGS = ['shop', 'news', 'deals', 'orders', 'promo']

/** Squared uniform: early entries of a list are far more common (a few names everywhere). */
const skewed = <T>(rng: Rng, items: readonly T[]): T =>
  items[Math.floor(rng.next() ** 2 * items.length)] as T

interface Person {
  given: string
  surname: string
  email: string | null
  phone: string | null
  address: { streetNumber: string; street: string; city: string; postalCode: string } | null
  birthday: string | null
}

function emailFor(rng: Rng, given: string, surname: string, n: number): string {
  const r = rng.next()
  const domain = rng.pick(DOMAINS)
  if (r < 0.35) return `${given}.${surname}${rng.int(1, 999)}@${domain}`
  if (r < 0.5) return `${given}.${surname}+${rng.pick(TAGS)}@gmail.com`
  if (r < 0.65) return `${given}.${surname}.crm${n}@example.org`
  if (r < 0.85) return `${given}${surname}${rng.int(60, 99)}@${domain}`
  return `${given[0]}${surname}${rng.int(1, 99)}@${domain}`
}

/** A UK mobile or landline, written nationally or with +44 (only the latter is an identifier). */
function phoneFor(rng: Rng, landline = false): string {
  const digits = landline
    ? `1632 ${String(rng.int(0, 999_999)).padStart(6, '0')}`
    : `7700 ${String(rng.int(0, 999_999)).padStart(6, '0')}`
  return rng.chance(0.4) ? `+44 ${digits}` : `0${digits}`
}

function addressFor(rng: Rng): NonNullable<Person['address']> {
  const [city, area] = rng.pick(CITIES)
  return {
    streetNumber: String(rng.int(1, 200)),
    street: rng.pick(STREETS),
    city,
    postalCode: `${area} ${rng.int(1, 9)}${String.fromCharCode(65 + rng.int(0, 25))}${String.fromCharCode(65 + rng.int(0, 25))}`,
  }
}

function typo(rng: Rng, s: string): string {
  if (s.length < 4) return s
  const i = rng.int(1, s.length - 2)
  switch (rng.int(0, 2)) {
    case 0:
      return s.slice(0, i) + s.slice(i + 1)
    case 1:
      return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2)
    default:
      return s.slice(0, i) + String.fromCharCode(97 + rng.int(0, 25)) + s.slice(i + 1)
  }
}

const title = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

/** An email as someone retyped it: any casing, stray spaces. */
function messy(rng: Rng, email: string): string {
  const cased = rng.chance(0.5) ? email.toUpperCase() : email.replace(/^./, (c) => c.toUpperCase())
  return rng.chance(0.5) ? `  ${cased} ` : cased
}

function traitsOf(p: Person, name: { given: string; surname: string }): Record<string, unknown> {
  const t: Record<string, unknown> = { firstName: title(name.given), lastName: title(name.surname) }
  if (p.email) t.email = p.email
  if (p.phone) t.phone = p.phone
  if (p.address) t.address = { ...p.address }
  if (p.birthday) t.birthday = p.birthday
  return t
}

/** The generated profiles, in creation order (originals and households first, then the rest). */
export function generateShopperProfiles(options: ShopperOptions): ShopperProfile[] {
  const rng = createRng(options.seed)
  const people = options.people ?? 1000
  const duplicateShare = options.duplicateShare ?? 0.2
  const householdShare = options.householdShare ?? 0.12
  const persons: Person[] = []
  const kinds: ShopperProfile['kind'][] = []
  const usedEmails = new Set<string>()
  const uniqueEmail = (given: string, surname: string): string => {
    for (;;) {
      const e = emailFor(rng, given, surname, persons.length)
      if (!usedEmails.has(e)) {
        usedEmails.add(e)
        return e
      }
    }
  }
  const newPerson = (given: string, surname: string, shared?: Partial<Person>): Person => ({
    given,
    surname,
    email: rng.chance(0.95) ? uniqueEmail(given, surname) : null,
    phone: shared?.phone !== undefined ? shared.phone : rng.chance(0.75) ? phoneFor(rng) : null,
    address:
      shared?.address !== undefined ? shared.address : rng.chance(0.7) ? addressFor(rng) : null,
    birthday: rng.chance(0.35)
      ? `${rng.int(1950, 2005)}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`
      : null,
  })
  while (persons.length < people) {
    const head = newPerson(skewed(rng, GIVEN), skewed(rng, SURNAMES))
    persons.push(head)
    kinds.push('original')
    if (persons.length < people && rng.chance(householdShare)) {
      const address = head.address ?? addressFor(rng)
      head.address = address
      const landline = rng.chance(0.5) ? phoneFor(rng, true) : null
      if (landline) head.phone = landline
      const size = rng.chance(0.3) ? 2 : 1
      // One first name per household: two "Amelia Jones" at one address and one landline, with
      // nothing else to tell them apart, would fool a person too.
      const names = new Set([head.given])
      for (let k = 0; k < size && persons.length < people; k++) {
        let given = skewed(rng, GIVEN)
        while (names.has(given)) given = skewed(rng, GIVEN)
        names.add(given)
        const surname = rng.chance(0.8) ? head.surname : skewed(rng, SURNAMES)
        persons.push(
          newPerson(given, surname, { address, ...(landline ? { phone: landline } : {}) }),
        )
        kinds.push('household')
      }
    }
  }

  const out: ShopperProfile[] = []
  const holder = new Map<string, string>()
  const t0 = Date.parse('2026-01-01T00:00:00Z')
  const push = (
    person: number,
    traits: Record<string, unknown>,
    kind: ShopperProfile['kind'],
    userId: string | null,
  ) => {
    const id = `p_${String(out.length).padStart(7, '0')}`
    const identifiers: Identifier[] = [{ type: 'anonymous_id', value: `anon-${id}` }]
    if (userId) identifiers.push({ type: 'user_id', value: userId })
    const email = typeof traits.email === 'string' ? traits.email.trim().toLowerCase() : null
    const phone =
      typeof traits.phone === 'string' && traits.phone.startsWith('+')
        ? `+${traits.phone.replace(/\D+/g, '')}`
        : null
    for (const [type, value] of [
      ['email', email],
      ['phone', phone],
    ] as const) {
      if (value === null || holder.has(`${type}:${value}`)) continue
      holder.set(`${type}:${value}`, id)
      identifiers.push({ type, value })
    }
    out.push({ id, person, createdAt: t0 + out.length * 60_000, traits, identifiers, kind })
  }
  persons.forEach((p, i) => push(i, traitsOf(p, p), kinds[i]!, rng.chance(0.6) ? `u${i}` : null))

  persons.forEach((p, i) => {
    if (!rng.chance(duplicateShare)) return
    const name = {
      given: rng.chance(0.4) ? typo(rng, p.given) : p.given,
      surname: rng.chance(0.3) ? typo(rng, p.surname) : p.surname,
    }
    const r = rng.next()
    const dup: Person = { ...p, address: rng.chance(0.6) ? p.address : null, birthday: null }
    let kind: ShopperProfile['kind'] = 'duplicate'
    if (r < 0.5 && p.email) {
      // Same email, retyped: the phone is often missing on a guest checkout.
      dup.email = messy(rng, p.email)
      if (rng.chance(0.5)) dup.phone = null
    } else if (r < 0.85 && p.phone) {
      // Same phone (an in-store sign-up): no email given.
      dup.email = null
    } else if (r < 0.93) {
      // A second email of the same person: the evidence says two people.
      dup.email = uniqueEmail(p.given, p.surname)
      dup.address = p.address
      kind = 'second-email'
    } else if (p.address) {
      // Name, address and birthday only.
      dup.email = null
      dup.phone = null
      dup.address = p.address
      dup.birthday = p.birthday
    } else {
      return
    }
    push(i, traitsOf(dup, name), kind, null)
  })
  return out
}
