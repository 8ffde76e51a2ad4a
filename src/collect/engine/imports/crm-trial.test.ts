/**
 * The trial that found these defects, replayed: a shop replacing Segment identifies 200 shoppers
 * (userId + email) through the tracking API, then imports its CRM, a messy 300-row CSV keyed by
 * email (casing and whitespace, a full-width at sign, national-format phones with a country
 * column, tiers written " GOLD", "gold ", "Gold"). It must import every row, join the 100 rows of
 * existing shoppers to them by normalised email, store emails and phones in canonical form, put
 * every gold buyer in a `loyalty_tier = gold` segment, leave the shoppers' last-seen time alone,
 * and keep the shop's own values for the traits it says first-party data owns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parsePhoneNumberFromString } from 'libphonenumber-js'
import {
  startTestKindred,
  TEST_ADMIN_TOKEN,
  type TestKindred,
} from '../../../testing/test-server.js'

const SHOPPERS = 200
const CRM_ROWS = 300
const MATCHING = 100
const SHOPPED_AT = Date.parse('2025-06-01T10:00:00.000Z')
const TIERS = [' GOLD', 'gold ', 'Gold', 'silver', ' SILVER ', 'bronze']
const isGold = (row: number) => TIERS[row % TIERS.length]?.trim().toLowerCase() === 'gold'

/** Shopper i (1-based): clean first-party data, Germans on odd numbers, Britons on even. */
const shopper = (i: number) => ({
  userId: `shopper-${i}`,
  email: `shopper${i}@shopmail.example`,
  first_name: `Shopper${i}`,
  city: 'Hamburg',
  country: i % 2 === 1 ? 'DE' : 'GB',
})

/** A national-format phone of that country, distinct per person. */
function nationalPhone(country: string, n: number): string {
  if (country === 'DE') return `030 ${String(1_000_000 + n)}`
  if (country === 'GB') return `020 7946 ${String(n).padStart(4, '0')}`
  return `(201) 555-${String(n).padStart(4, '0')}`
}

/** The same email written the ways a CRM writes it. */
function messyEmail(email: string, row: number): string {
  const [local = '', domain = ''] = email.split('@')
  switch (row % 4) {
    case 0:
      return `\t${local.charAt(0).toUpperCase()}${local.slice(1)}@${domain.replace('shopmail', 'ShopMail')} `
    case 1:
      return `  ${email.toUpperCase()}`
    case 2:
      // A full-width at sign, pasted from a spreadsheet: the same address under NFKC.
      return `${local}\uff20${domain}\u00a0`
    default:
      return `${local}@${domain.toUpperCase()} `
  }
}

interface CrmRow {
  email: string
  first_name: string
  phone: string
  country: string
  loyalty_tier: string
  city: string
  /** What the test expects: the E.164 phone and the shopper the row belongs to, if any. */
  expected: { phone: string; email: string; shopper?: number }
}

/** Rows 1-100 are shoppers 1, 3, 5… and 2, 4, 6… (mixed countries); 101-300 are new people. */
function crmRows(): CrmRow[] {
  const rows: CrmRow[] = []
  for (let row = 1; row <= CRM_ROWS; row++) {
    const tier = TIERS[row % TIERS.length] as string
    if (row <= MATCHING) {
      const i = row * 2 - (row % 2 === 1 ? 1 : 0)
      const s = shopper(i)
      const phone = nationalPhone(s.country, i)
      // Every fifth matching row has no country cell: its phone reads in the shopper's country.
      const country = row % 5 === 0 ? '' : row % 3 === 0 ? ` ${s.country.toLowerCase()}` : s.country
      rows.push({
        email: messyEmail(s.email, row),
        first_name: s.first_name.toUpperCase(),
        phone,
        country,
        loyalty_tier: tier,
        city: 'Berlin ',
        expected: {
          phone: parsePhoneNumberFromString(phone, s.country as 'DE' | 'GB')?.number as string,
          email: s.email,
          shopper: i,
        },
      })
    } else {
      const email = `crm.person${row}@example.org`
      // New people in the US; half without a country cell (the workspace region applies).
      const phone = nationalPhone('US', row)
      rows.push({
        email: messyEmail(email, row),
        first_name: `Person ${row}`,
        phone,
        country: row % 2 === 0 ? 'us' : '',
        loyalty_tier: tier,
        city: 'Boston',
        expected: { phone: parsePhoneNumberFromString(phone, 'US')?.number as string, email },
      })
    }
  }
  return rows
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

interface ImportView {
  id: string
  status: string
  counts: { read: number; accepted: number; rejected: number }
  errors: unknown[]
  mappingDescription: {
    identity: { autoColumns: Record<string, string> }
    normalization: { traits: Record<string, { case: string }> }
  }
}

interface Profile {
  id: string
  traits: Record<string, unknown>
  identities: { type: string; value: string }[]
  lastSeenAt: string | null
  firstSeenAt: string | null
}

describe('a CRM import over tracked shoppers (the trial)', () => {
  let k: TestKindred
  let web: { id: string; writeKey: string }
  let crm: { id: string; writeKey: string }
  const rows = crmRows()
  const before = new Map<number, Profile>()
  let imported: ImportView

  const json = async <T>(path: string): Promise<T> => {
    const res = await k.admin(path)
    expect(res.status, `${path}: ${res.status}`).toBe(200)
    return (await res.json()) as T
  }
  const byEmail = (email: string) =>
    json<Profile>(`/api/v1/profiles/lookup?type=email&value=${encodeURIComponent(email)}`)
  const db = () => k.kindred.store.db

  beforeAll(async () => {
    k = await startTestKindred()
    web = await k.createSource('web shop', { rateLimit: { eventsPerSecond: 1e6, burst: 1e6 } })
    crm = await k.createSource('CRM')
    // What the shop configured: tiers compared lower-case; names and emails owned by first-party
    // data; every other trait "most recent"; US numbers when nothing says otherwise.
    const rules = await k.admin('/api/v1/identity/rules', {
      method: 'PUT',
      body: {
        rules: {
          phoneDefaultRegion: 'US',
          normalization: { traits: { loyalty_tier: { case: 'lower' } } },
        },
        survivorship: {
          traits: {
            first_name: { strategy: 'source_priority', sourcePriority: [{ kind: 'first_party' }] },
            email: { strategy: 'source_priority', sourcePriority: [{ kind: 'first_party' }] },
          },
        },
      },
    })
    expect(rules.status).toBe(200)
    const gold = await k.admin('/api/v1/segments', {
      body: {
        id: 'gold',
        name: 'Gold buyers',
        definition: {
          kind: 'trait',
          trait: 'loyalty_tier',
          condition: { op: 'eq', value: 'gold' },
        },
      },
    })
    expect(gold.status).toBe(201)

    for (let start = 1; start <= SHOPPERS; start += 100) {
      const batch = []
      for (let i = start; i < start + 100; i++) {
        const { userId, ...traits } = shopper(i)
        batch.push({
          type: 'identify',
          userId,
          traits,
          timestamp: new Date(SHOPPED_AT + i * 60_000).toISOString(),
          messageId: `shop-${i}`,
        })
      }
      const res = await k.track(web.writeKey, '/v1/batch', { batch })
      expect(res.status).toBe(200)
    }
    await k.kindred.processor?.drain()
    for (const row of rows) {
      const i = row.expected.shopper
      if (i !== undefined) before.set(i, await byEmail(shopper(i).email))
    }

    const header = 'email,first_name,phone,country,loyalty_tier,city'
    const lines = rows.map((r) =>
      [r.email, r.first_name, r.phone, r.country, r.loyalty_tier, r.city].map(csvCell).join(','),
    )
    // No mapping: the header names the columns; email and phone are identifiers by name.
    const created = await k.admin('/api/v1/imports', {
      body: { sourceId: crm.id, kind: 'profiles', format: 'csv', fileName: 'crm.csv' },
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as ImportView
    const put = await fetch(`${k.url}/api/v1/imports/${id}/file`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'text/csv' },
      body: [header, ...lines].join('\n'),
    })
    expect(put.status).toBe(202)
    for (;;) {
      imported = await json<ImportView>(`/api/v1/imports/${id}`)
      if (imported.status !== 'running') break
      await new Promise((r) => setTimeout(r, 50))
    }
    await k.kindred.processor?.drain()
  }, 120_000)
  afterAll(() => k.close())

  it('imports every email-keyed row, and says which columns identify', () => {
    expect(imported).toMatchObject({
      status: 'completed',
      counts: { read: CRM_ROWS, accepted: CRM_ROWS, rejected: 0 },
      errors: [],
    })
    expect(imported.mappingDescription.identity.autoColumns).toMatchObject({
      email: 'email',
      phone: 'phone',
    })
    expect(imported.mappingDescription.normalization.traits.loyalty_tier?.case).toBe('lower')
  })

  it('joins the 100 matching rows to their shoppers: no duplicate profiles', async () => {
    const live = await db().query<{ n: string }>(
      `SELECT count(*) AS n FROM profiles WHERE workspace_id = 'default' AND merged_into IS NULL`,
    )
    expect(Number(live.rows[0]?.n)).toBe(SHOPPERS + (CRM_ROWS - MATCHING))
    for (const row of rows.filter((r) => r.expected.shopper !== undefined)) {
      const i = row.expected.shopper as number
      const p = await byEmail(row.expected.email)
      expect(p.id).toBe(before.get(i)?.id)
      expect(p.identities).toEqual(
        expect.arrayContaining([
          { type: 'user_id', value: `shopper-${i}` },
          { type: 'phone', value: row.expected.phone },
        ]),
      )
    }
  })

  it('stores emails trimmed and lower-cased, as identifiers and as traits', async () => {
    const emails = await db().query<{ value: string }>(
      `SELECT value FROM identities WHERE workspace_id = 'default' AND type = 'email' ORDER BY value`,
    )
    const everyone = new Set([
      ...Array.from({ length: SHOPPERS }, (_, n) => shopper(n + 1).email),
      ...rows.map((r) => r.expected.email),
    ])
    expect(emails.rows.map((r) => r.value)).toEqual([...everyone].sort())
    const traits = await db().query<{ email: string }>(
      `SELECT traits->>'email' AS email FROM profiles WHERE workspace_id = 'default' AND merged_into IS NULL`,
    )
    for (const { email } of traits.rows) expect(email).toMatch(/^[a-z0-9.]+@[a-z.]+$/)
  })

  it('stores national phones as E.164 identifiers, in the row’s or the profile’s country', async () => {
    const phones = await db().query<{ value: string }>(
      `SELECT value FROM identities WHERE workspace_id = 'default' AND type = 'phone'`,
    )
    expect(phones.rows.map((r) => r.value).sort()).toEqual(rows.map((r) => r.expected.phone).sort())
    for (const { value } of phones.rows) expect(value).toMatch(/^\+[1-9]\d{7,14}$/)
    // A row without a country cell, of a German shopper: read as a German number.
    const noCountry = rows.find((r) => r.country === '' && r.expected.shopper !== undefined)
    expect(noCountry?.expected.phone).toMatch(/^\+4[49]/)
    const p = await byEmail(noCountry?.expected.email as string)
    expect(p.traits.phone).toBe(noCountry?.expected.phone)
  })

  it('puts every gold buyer in the segment traits.loyalty_tier = gold', async () => {
    const goldEmails = rows.filter((_, n) => isGold(n + 1)).map((r) => r.expected.email)
    expect(goldEmails.length).toBe(CRM_ROWS / 2)
    const members = await json<{ data: { profileId: string; traits: { email: string } }[] }>(
      '/api/v1/segments/gold/members?limit=1000',
    )
    expect(members.data.map((m) => m.traits.email).sort()).toEqual([...goldEmails].sort())
    // A segment created now (backfilled from stored profiles) agrees.
    const later = await k.admin('/api/v1/segments', {
      body: {
        id: 'gold_later',
        name: 'Gold (backfilled)',
        definition: {
          kind: 'trait',
          trait: 'loyalty_tier',
          condition: { op: 'eq', value: 'gold' },
        },
      },
    })
    expect(later.status).toBe(201)
    expect(((await later.json()) as { size: number }).size).toBe(goldEmails.length)
  })

  it('leaves the shoppers’ last-seen time alone; CRM-only people were never seen', async () => {
    for (const [i, was] of before) {
      const now = await byEmail(shopper(i).email)
      expect(now.lastSeenAt).toBe(was.lastSeenAt)
      expect(now.firstSeenAt).toBe(was.firstSeenAt)
      expect(now.lastSeenAt).toBe(new Date(SHOPPED_AT + i * 60_000).toISOString())
    }
    const crmOnly = await byEmail(rows[CRM_ROWS - 1]?.expected.email as string)
    expect(crmOnly).toMatchObject({ lastSeenAt: null, firstSeenAt: null })
  })

  it('keeps first-party values where configured, and the most recent elsewhere', async () => {
    for (const [i] of before) {
      const p = await byEmail(shopper(i).email)
      // first_name: first-party data owns it, the CRM's upper-cased copy loses.
      expect(p.traits).toMatchObject({
        first_name: `Shopper${i}`,
        email: shopper(i).email,
        // city: "most recent" (the default): the later CRM value, trimmed.
        city: 'Berlin',
      })
    }
    const traits = await json<{ data: { key: string; conflicts: { value: unknown }[] }[] }>(
      `/api/v1/profiles/${before.get(1)?.id}/traits`,
    )
    const firstName = traits.data.find((t) => t.key === 'first_name')
    expect(firstName?.conflicts.map((c) => c.value)).toEqual(['SHOPPER1'])
  })

  it('marks the imported row in the timeline instead of an “Identified” of today', async () => {
    const events = await json<{
      data: { type: string; origin: string; importedTime?: string; timestamp: string }[]
    }>(`/api/v1/profiles/${before.get(1)?.id}/events`)
    const origins = events.data.map((e) => [e.type, e.origin, e.importedTime ?? null])
    expect(origins).toEqual(
      expect.arrayContaining([
        ['identify', 'import', 'import'],
        ['identify', 'tracked', null],
      ]),
    )
    expect(events.data).toHaveLength(2)
  })
})
