/**
 * The segment page and the console on a phone, in a real browser against a real Kindred process.
 * The segment page reads its definition in words (JSON one toggle away), downloads its members
 * as CSV and lists the destination syncing it. At 390×844 the navbar sits behind the burger, the
 * menu reaches Sources and a segment page, and no page is wider than the screen. Screenshots go
 * to test-results/screenshots/.
 */
import { readFile } from 'node:fs/promises'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openPage, screenshot, signIn } from './support/browser.js'
import {
  ensureConsoleBuilt,
  eventually,
  startKindred,
  type RunningServer,
} from './support/server.js'

const token = 'console-mobile-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let segmentId = ''
const pageErrors: string[] = []

async function admin<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

async function documentWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth)
}

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  const source = await admin<{ writeKey: string }>('/sources', { name: 'web' })
  for (const userId of ['ana', 'ben', 'cleo']) {
    const sent = await fetch(`${server.url}/v1/identify`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ userId, traits: { plan: 'pro' } }),
    })
    expect(sent.status).toBe(200)
  }
  await eventually(
    async () => (await admin<{ data: unknown[] }>('/profiles')).data.length === 3,
    'the three profiles',
  )
  const seg = await admin<{ id: string }>('/segments', {
    name: 'Pro buyers',
    definition: {
      kind: 'and',
      children: [
        { kind: 'trait', trait: 'plan', condition: { op: 'eq', value: 'pro' } },
        { kind: 'event', event: 'Order Completed', performed: false },
      ],
    },
  })
  segmentId = seg.id
  await admin('/destinations', {
    type: 'builtin.webhook',
    name: 'CRM audience',
    enabled: false,
    settings: { url: 'https://hooks.example.com/in', signingSecret: 's'.repeat(32) },
    actions: { syncAudience: { segmentIds: [segmentId] } },
  })
  await eventually(
    async () =>
      (await admin<{ data: unknown[] }>(`/segments/${segmentId}/members`)).data.length === 3,
    'the segment to hold the three profiles',
  )
  browser = await launchBrowser()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('Console segment page and phone layout', { timeout: 240_000 }, () => {
  it('shows the definition in words, exports members and lists the syncing destination', async () => {
    const page = await openPage(browser, pageErrors, { acceptDownloads: true })
    await signIn(page, server.url, token)
    await page.goto(`${server.url}/segments/${segmentId}`)
    const words = page.getByTestId('segment-definition-words')
    await words.waitFor()
    expect(await words.textContent()).toBe(
      'trait plan equals "pro" AND did not perform Order Completed',
    )
    await page.getByTestId('definition-json-toggle').click({ force: true })
    await expect.poll(async () => words.count()).toBe(0)
    expect(await page.getByText('"Order Completed"').count()).toBeGreaterThan(0)

    const synced = page.getByTestId('syncing-destinations')
    await synced.waitFor()
    expect(await synced.textContent()).toContain('CRM audience')
    expect(await synced.getByRole('link', { name: 'CRM audience' }).getAttribute('href')).toMatch(
      /^\/destinations\//,
    )
    expect(await synced.textContent()).toContain('paused')

    const download = page.waitForEvent('download')
    await page.getByTestId('export-members').click()
    const file = await (await download).path()
    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    expect(lines[0]).toBe('profile_id,user_id,email,phone,anonymous_id,joined_at')
    expect(
      lines
        .slice(1)
        .map((l) => l.split(',')[1])
        .sort(),
    ).toEqual(['ana', 'ben', 'cleo'])
    await screenshot(page, 'segment-page-01-words')
    await page.close()
  })

  it('is usable at 390 px: the burger opens the menu, no page overflows', async () => {
    const page = await openPage(browser, pageErrors, { viewport: { width: 390, height: 844 } })
    await signIn(page, server.url, token)
    const burger = page.getByTestId('menu-burger')
    await burger.waitFor()
    expect(await documentWidth(page)).toBeLessThanOrEqual(390)

    await burger.click()
    const nav = page.getByRole('navigation', { name: 'Main navigation' })
    await nav.getByRole('link', { name: 'Sources' }).click()
    await page.waitForURL(/\/sources$/)
    await page.getByText('web').first().waitFor()
    expect(await documentWidth(page)).toBeLessThanOrEqual(390)
    await screenshot(page, 'mobile-01-sources')

    await burger.click()
    await nav.getByRole('link', { name: 'Segments' }).click()
    await page.waitForURL(/\/segments$/)
    await page.getByRole('link', { name: 'Pro buyers' }).click()
    await page.getByTestId('segment-definition-words').waitFor()
    await page.getByTestId('segment-members').waitFor()
    expect(await documentWidth(page)).toBeLessThanOrEqual(390)
    await screenshot(page, 'mobile-02-segment')
    expect(pageErrors).toEqual([])
    await page.close()
  })
})
