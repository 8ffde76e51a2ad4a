/**
 * The console's Privacy page in a real browser against a real Kindred process (embedded store,
 * file event log): file an access request and download its export, file a deletion and see it
 * complete (the profile is gone from the API), suppress an identifier and see dropped events
 * counted. Screenshots go to test-results/screenshots/.
 */
import { readFile } from 'node:fs/promises'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, signIn, openPage } from './support/browser.js'
import {
  ensureConsoleBuilt,
  eventually,
  startKindred,
  type RunningServer,
} from './support/server.js'

const token = 'console-privacy-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
let writeKey = ''
const stamp = Date.now()
const email = `grace.${stamp}@example.com`
const userId = `grace-${stamp}`
const pageErrors: string[] = []

async function admin(path: string, init: { method?: string; body?: unknown } = {}) {
  return fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
}

async function send(type: 'track' | 'identify', body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${server.url}/v1/${type}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  })
  expect(res.status).toBe(200)
}

async function lookup(type: string, value: string): Promise<number> {
  const res = await admin(`/profiles/lookup?type=${type}&value=${encodeURIComponent(value)}`)
  await res.arrayBuffer()
  return res.status
}

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors, { acceptDownloads: true })
  const res = await admin('/sources', { body: { name: 'Web' } })
  writeKey = ((await res.json()) as { writeKey: string }).writeKey
  await send('identify', { userId, traits: { email, name: 'Grace Hopper' } })
  await send('track', { userId, event: 'Order Completed', properties: { total: 12 } })
  await eventually(async () => (await lookup('email', email)) === 200, 'the profile')
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('Console privacy page', { timeout: 240_000 }, () => {
  it('files an access request and downloads the export', async () => {
    await signIn(page, server.url, token)
    await page.getByRole('link', { name: 'Privacy', exact: true }).click()
    await page.getByText('No privacy requests').waitFor()
    await page.getByTestId('request-identifier').fill(email.toUpperCase())
    await page.getByRole('button', { name: 'File request' }).click()
    const card = page.locator('[data-testid^="privacy-request-"]').first()
    await expect
      .poll(() => card.getByTestId('request-status').textContent(), { timeout: 45_000 })
      .toBe('completed')
    await expect(card.textContent()).resolves.toContain(`g***@example.com`)
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      card.getByRole('button', { name: 'Download export' }).click(),
    ])
    const exported = JSON.parse(await readFile((await download.path()) as string, 'utf8')) as {
      identifiers: { type: string; value: string }[]
      events: { event?: string }[]
    }
    expect(exported.identifiers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'email', value: email }),
        expect.objectContaining({ type: 'user_id', value: userId }),
      ]),
    )
    expect(exported.events.map((e) => e.event)).toContain('Order Completed')
    await screenshot(page, 'privacy-01-access')
  })

  it('files a deletion only after the identifier is typed again, and the person is gone', async () => {
    await page.getByTestId('request-type').click()
    await page.getByRole('option', { name: 'Deletion' }).click()
    await page.getByTestId('request-identifier-type').click()
    await page.getByRole('option', { name: 'User ID' }).click()
    await page.getByTestId('request-identifier').fill(userId)
    const requestsBefore = await page.locator('[data-testid^="privacy-request-"]').count()
    await page.getByRole('button', { name: 'File request' }).click()

    // The confirmation names who is erased; its button works only once the identifier is typed.
    const subject = page.getByTestId('confirm-deletion-subject')
    await subject.waitFor()
    expect(await subject.textContent()).toContain(userId)
    const confirm = page.getByTestId('confirm-deletion-button')
    expect(await confirm.isDisabled()).toBe(true)
    await page.getByTestId('confirm-deletion-typed').fill(`${userId}x`)
    expect(await confirm.isDisabled()).toBe(true)
    await screenshot(page, 'privacy-02a-deletion-confirmation')
    // Cancelled: nothing is filed, the person is still there.
    await page.getByRole('button', { name: 'Cancel' }).click()
    await subject.waitFor({ state: 'detached' })
    expect(await page.locator('[data-testid^="privacy-request-"]').count()).toBe(requestsBefore)
    expect(await lookup('email', email)).toBe(200)

    await page.getByRole('button', { name: 'File request' }).click()
    // A new confirmation starts empty: what was typed before does not carry over.
    expect(await page.getByTestId('confirm-deletion-typed').inputValue()).toBe('')
    expect(await confirm.isDisabled()).toBe(true)
    await page.getByTestId('confirm-deletion-typed').fill(userId)
    await confirm.click()
    const card = page.locator('[data-testid^="privacy-request-"]', { hasText: 'deletion' })
    await expect
      .poll(() => card.getByTestId('request-status').textContent(), { timeout: 45_000 })
      .toBe('completed')
    await expect(card.textContent()).resolves.toContain('scrub')
    expect(await lookup('email', email)).toBe(404)
    // The earlier access request's export went with the person.
    await expect.poll(() => page.getByRole('button', { name: 'Download export' }).count()).toBe(0)
    await screenshot(page, 'privacy-02-deletion')
  })

  it('suppresses an identifier and counts the events it drops', async () => {
    await page.getByRole('tab', { name: 'Suppressions' }).click()
    const blocked = `blocked.${stamp}@example.com`
    await page.getByTestId('suppression-identifier').fill(blocked)
    await page.getByRole('button', { name: 'Suppress' }).click()
    const row = page.getByTestId('suppressions').getByRole('row', { name: /b\*\*\*@example\.com/ })
    await row.waitFor()
    await send('identify', { userId: `blocked-${stamp}`, traits: { email: blocked } })
    await page.reload()
    await page.getByRole('tab', { name: 'Suppressions' }).click()
    await expect
      .poll(
        async () => {
          await page.reload()
          await page.getByRole('tab', { name: 'Suppressions' }).click()
          return (await row.textContent()) ?? ''
        },
        { timeout: 45_000 },
      )
      .toMatch(/suppression1/)
    expect(await lookup('user_id', `blocked-${stamp}`)).toBe(404)
    await screenshot(page, 'privacy-03-suppressions')
    expect(pageErrors).toEqual([])
  })
})
