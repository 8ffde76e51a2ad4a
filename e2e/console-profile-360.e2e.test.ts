/**
 * Profile 360 in a real browser against the real server: the summary tiles (orders and revenue
 * from Order Completed, devices and anonymous ids), source names (not ids) in the traits'
 * provenance, first seen as the earliest event's time rather than when the profile was written,
 * and the split button fully on screen at desktop and phone widths.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openPage, screenshot, signIn } from './support/browser.js'
import {
  ensureConsoleBuilt,
  eventually,
  startKindred,
  type RunningServer,
} from './support/server.js'

const token = 'console-profile-360-e2e-admin-token-012345'
let server: RunningServer
let browser: Browser
let page: Page
const pageErrors: string[] = []

async function admin(path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function batch(writeKey: string, events: Record<string, unknown>[]) {
  const res = await fetch(`${server.url}/v1/batch`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ batch: events }),
  })
  expect(res.status).toBe(200)
}

const day = 86_400_000
// Minutes dropped: the header shows time to the second, and the events carry these exact times.
const base = Math.floor((Date.now() - 10 * day) / 60_000) * 60_000
const at = (days: number) => new Date(base + days * day).toISOString()
const firstSeen = at(0)
let profileId: string
const sourceIds: string[] = []

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  const web = await admin('/sources', { method: 'POST', body: { name: 'Web shop' } })
  const crm = await admin('/sources', { method: 'POST', body: { name: 'CRM export' } })
  sourceIds.push(web.body.id as string, crm.body.id as string)
  await batch(web.body.writeKey as string, [
    {
      type: 'page',
      anonymousId: 'laptop-anon',
      name: 'Home',
      messageId: 'p360-1',
      timestamp: firstSeen,
      context: { device: { id: 'laptop' } },
    },
    {
      type: 'identify',
      anonymousId: 'laptop-anon',
      userId: 'rosa',
      traits: { email: 'rosa@shop.example' },
      messageId: 'p360-2',
      timestamp: at(1),
    },
    {
      type: 'track',
      userId: 'rosa',
      anonymousId: 'phone-anon',
      event: 'Order Completed',
      properties: { revenue: 40.5 },
      messageId: 'p360-3',
      timestamp: at(2),
      context: { device: { id: 'phone' } },
    },
    {
      type: 'track',
      userId: 'rosa',
      event: 'Order Completed',
      properties: { total: '19.50' },
      messageId: 'p360-4',
      timestamp: at(3),
    },
  ])
  await batch(crm.body.writeKey as string, [
    {
      type: 'identify',
      userId: 'rosa',
      traits: { loyalty_tier: 'gold' },
      messageId: 'p360-5',
      timestamp: at(4),
    },
  ])
  const rosa = await eventually(async () => {
    const res = await admin('/profiles/lookup?type=user_id&value=rosa')
    const p = res.body as { id?: string; traits?: Record<string, unknown> }
    return res.status === 200 && p.traits?.loyalty_tier === 'gold' ? p : undefined
  }, 'the profile to be processed')
  profileId = rosa.id!
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors)
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('Profile 360', { timeout: 240_000 }, () => {
  it('shows the tiles, source names in provenance and first seen as the earliest event', async () => {
    // The server side first: first seen is the earliest event, not when the record was written.
    const profile = (await admin(`/profiles/${profileId}`)).body
    expect(profile.firstSeenAt).toBe(firstSeen)
    expect(profile.createdAt).not.toBe(firstSeen)

    await signIn(page, server.url, token)
    await page.goto(`${server.url}/profiles/${encodeURIComponent(profileId)}`)
    await page.getByTestId('profile-360').waitFor()
    await expect.poll(() => page.getByTestId('tile-orders').textContent()).toBe('2')
    const revenue = await page.evaluate(() =>
      (60).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    )
    await expect(page.getByTestId('tile-revenue').textContent()).resolves.toBe(revenue)
    await expect(page.getByTestId('tile-devices').textContent()).resolves.toBe('2 · 2')
    await expect(page.getByTestId('tile-last-seen').textContent()).resolves.not.toBe('—')

    const expectedFirstSeen = await page.evaluate(
      (iso) =>
        new Date(iso).toLocaleString(undefined, {
          year: 'numeric',
          month: 'short',
          day: 'numeric',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
        }),
      firstSeen,
    )
    await expect(page.getByTestId('profile-first-seen').textContent()).resolves.toBe(
      expectedFirstSeen,
    )

    // Provenance names the sources; the ids stay out of the text.
    const sources = page.getByTestId('trait-source')
    await expect.poll(() => sources.allTextContents()).toContain('CRM export')
    const names = await sources.allTextContents()
    expect(names).toContain('Web shop')
    expect(names.filter((n) => sourceIds.includes(n))).toEqual([])
    await screenshot(page, 'profile-360-01-desktop')
    expect(pageErrors).toEqual([])
  })

  it('keeps the split button fully visible at 1280 and 390 px wide', async () => {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 })
      const button = page.getByTestId('split-profile')
      await button.waitFor()
      const box = await button.boundingBox()
      expect(box, `split button at ${width} px`).not.toBeNull()
      expect(box!.x).toBeGreaterThanOrEqual(0)
      expect(box!.x + box!.width).toBeLessThanOrEqual(width)
      // Its label is not cut off inside the button either.
      const clipped = await button.evaluate((el) => el.scrollWidth > el.clientWidth)
      expect(clipped, `split button label clipped at ${width} px`).toBe(false)
      // Nothing on the page scrolls sideways to hide it. (Below 576 px the app shell's navbar,
      // which has no collapsed state yet, still covers the page; that is the shell's to fix.)
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth)
      expect(scrollWidth).toBeLessThanOrEqual(width)
      await screenshot(page, `profile-360-02-split-${width}`)
    }
    expect(pageErrors).toEqual([])
  })
})
