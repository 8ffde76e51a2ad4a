/**
 * The console in a real browser (playwright-core + Debian's Chromium) against the real server:
 * sign in, create a source, watch events arrive in the live debugger, find the profile and see
 * its timeline and identity graph, build a segment and see its preview count, configure a
 * webhook destination and see a delivery. Each step fails if its feature is missing. Screenshots
 * of every page go to test-results/screenshots/.
 */
import { createServer, type Server } from 'node:http'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, openPage } from './support/browser.js'
import {
  ensureConsoleBuilt,
  eventually,
  startKindred,
  type RunningServer,
} from './support/server.js'

const token = 'console-e2e-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
let writeKey = ''
let sourceId = ''
const email = `ada.${Date.now()}@example.com`
const userId = `user-${Date.now()}`
const pageErrors: string[] = []

async function send(type: 'track' | 'identify', body: Record<string, unknown>): Promise<Response> {
  return fetch(`${server.url}/v1/${type}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  })
}

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors, { viewport: { width: 1280, height: 800 } })
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('Kindred console', { timeout: 240_000 }, () => {
  it('refuses a wrong token with a plain message, then signs in with the admin token', async () => {
    await page.goto(server.url + '/')
    await screenshot(page, '01-sign-in')
    await page.getByTestId('sign-in-mode').getByText('Admin token').click()
    await page.getByTestId('token-input').fill('not-the-token')
    await page.getByTestId('sign-in').click()
    await expect
      .poll(() => page.getByTestId('sign-in-error').textContent(), { timeout: 45_000 })
      .toContain('not accepted')
    await page.getByTestId('token-input').fill(token)
    await page.getByTestId('sign-in').click()
    await page.getByRole('navigation', { name: 'Main navigation' }).waitFor()
    // The switcher fills in once the workspaces list arrives: poll, do not read once.
    await expect
      .poll(() => page.getByTestId('workspace-switcher').inputValue(), { timeout: 45_000 })
      .toBe('Default workspace')
    await page.getByTestId('dashboard-charts').waitFor()
    await screenshot(page, '02-dashboard')
  })

  it('creates a source and shows its write key, with snippets', async () => {
    await page.getByRole('link', { name: 'Sources', exact: true }).click()
    await page.getByTestId('empty-state').waitFor()
    await page.getByTestId('new-source').click()
    await page.getByTestId('source-name').fill('Website')
    await page.getByTestId('create-source').click()
    const key = page.getByTestId('write-key')
    await key.waitFor()
    writeKey = (await key.textContent())?.trim() ?? ''
    expect(writeKey.length).toBeGreaterThan(10)
    // The website's script tag first, with the key; curl one tab away.
    expect(await page.getByTestId('install-snippets').textContent()).toContain(writeKey)
    await page.getByRole('tab', { name: 'curl' }).click()
    await expect(page.getByText('/v1/track').first().isVisible()).resolves.toBe(true)
    await screenshot(page, '03-source-created')
    await page.getByTestId('open-debugger').click()
    await page.waitForURL(/\/sources\/[^/]+$/)
    sourceId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '')
    expect(sourceId).not.toBe('')
  })

  it('shows accepted and rejected events live, with validation errors highlighted', async () => {
    await expect
      .poll(() => page.getByTestId('live-status').textContent(), { timeout: 45_000 })
      .toMatch(/live|connecting/)
    await eventually(
      async () => (await page.getByTestId('live-status').textContent())?.includes('live'),
      'the live stream to connect',
    )
    const identify = await send('identify', {
      userId,
      traits: { email, name: 'Ada Lovelace', plan: 'pro' },
    })
    expect(identify.status).toBe(200)
    const track = await send('track', {
      userId,
      event: 'Order Completed',
      properties: { revenue: 42, currency: 'EUR' },
    })
    expect(track.status).toBe(200)
    const bad = await send('track', { userId, properties: { revenue: 1 } })
    expect(bad.status).toBe(400)

    await eventually(
      async () => (await page.getByTestId('live-event').count()) >= 3,
      'three live events',
    )
    const rows = page.getByTestId('live-event')
    // Newest first: the rejected event (sent last) is on top.
    await expect(rows.first().getAttribute('data-status')).resolves.toBe('rejected')
    await expect(
      page.locator('[data-testid="live-event"][data-status="accepted"]').count(),
    ).resolves.toBe(2)
    await expect
      .poll(() => page.getByTestId('live-list').textContent(), { timeout: 45_000 })
      .toContain('Order Completed')
    await rows.first().click()
    await page.getByTestId('live-errors').waitFor()
    await expect(page.getByTestId('json-error').count()).resolves.toBeGreaterThan(0)
    await screenshot(page, '04-live-debugger')

    await page.getByTestId('pause').click()
    await send('track', { userId, event: 'Paused Event' })
    await page.getByText(/Resume \(1 new\)/).waitFor()
    await expect(rows.count()).resolves.toBe(3)
    await page.getByTestId('resume').click()
    await eventually(async () => (await rows.count()) === 4, 'the buffered event after resume')
  })

  it('finds the profile by email and shows its timeline and identity graph', async () => {
    await page.goto(server.url + '/profiles')
    await page.getByTestId('profile-search').fill(email)
    const found = () =>
      page
        .getByTestId('profile-row')
        .first()
        .waitFor({ timeout: 4_000 })
        .then(
          () => true,
          () => false,
        )
    if (!(await found())) {
      // Processing is asynchronous: reload the search (the URL keeps ?q=) until the processor
      // has applied the events.
      await eventually(
        async () => {
          await page.reload()
          return found()
        },
        'the profile in search results',
        60_000,
      )
    }
    await screenshot(page, '05-profiles')
    await page.getByTestId('profile-row').first().getByRole('link').click()
    await page.getByTestId('profile-360').waitFor()
    await expect
      .poll(() => page.getByTestId('profile-name').textContent(), { timeout: 45_000 })
      .toBe('Ada Lovelace')
    try {
      await eventually(
        async () => {
          // Give the page time to load its events before counting; reload to refetch otherwise.
          await page
            .getByTestId('timeline-event')
            .nth(1)
            .waitFor({ timeout: 4_000 })
            .catch(() => undefined)
          const n = await page.getByTestId('timeline-event').count()
          if (n < 2) await page.reload()
          return n >= 2
        },
        'the timeline events',
        40_000,
      )
    } catch (error) {
      await screenshot(page, '06-profile-360-timeline-missing')
      throw error
    }
    await expect
      .poll(() => page.getByTestId('timeline').textContent(), { timeout: 45_000 })
      .toContain('Order Completed')
    await screenshot(page, '06-profile-360')
    await page.getByTestId('tab-graph').click()
    await page.getByTestId('identity-graph').waitFor()
    await eventually(
      async () => (await page.locator('.react-flow__node').count()) >= 3,
      'graph nodes: profile + identifiers',
    )
    await expect
      .poll(() => page.getByTestId('identity-graph').textContent(), { timeout: 45_000 })
      .toContain(email)
    await screenshot(page, '07-identity-graph')
  })

  it('builds a segment with the builder and shows its live preview count', async () => {
    await page.goto(server.url + '/segments/new')
    await page.getByTestId('segment-name').fill('Pro customers')
    await page.getByTestId('add-condition').click()
    await page.getByTestId('add-trait').click()
    await page.getByTestId('trait-name').fill('plan')
    await page.getByTestId('condition-value').fill('pro')
    const count = page.getByTestId('preview-count')
    await eventually(
      async () =>
        (await count.isVisible()) && Number((await count.textContent())?.replace(/\D/g, '')) >= 1,
      'a preview count of at least 1',
    )
    await screenshot(page, '08-segment-builder')
    await page.getByTestId('save-segment').click()
    await page.waitForURL(/\/segments\/(?!new)[^/]+$/)
    await page.getByRole('heading', { name: 'Pro customers' }).waitFor()
    // Creating a segment backfills its members: Ada is one of them.
    await eventually(
      async () => {
        const shown = await page
          .getByTestId('segment-members')
          .waitFor({ timeout: 4_000 })
          .then(
            () => true,
            () => false,
          )
        if (!shown) await page.reload()
        return (
          shown &&
          (await page.getByTestId('segment-members').textContent())?.includes('Ada Lovelace')
        )
      },
      'Ada among the segment members',
      40_000,
    )
    await screenshot(page, '09-segment')
  })

  it('configures a webhook destination and shows a delivery', async () => {
    const received: string[] = []
    const receiver: Server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        received.push(body)
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
      })
    })
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()))
    const address = receiver.address()
    const hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`
    try {
      await page.goto(server.url + '/destinations')
      await page.getByTestId('catalog').waitFor()
      await screenshot(page, '10-destinations')
      await page.getByRole('button', { name: 'Add Webhook' }).click()
      await page.locator('[data-field="url"]').fill(hookUrl)
      await page.getByTestId('create-destination').click()
      await page.waitForURL(/\/destinations\/[^/]+$/)
      await send('track', { userId, event: 'Webhook Test', properties: { n: 1 } })
      await eventually(
        async () => (await page.getByTestId('delivery-row').count()) >= 1,
        'a delivery in the log',
        60_000,
      )
      expect(received.length).toBeGreaterThan(0)
      await screenshot(page, '11-destination-deliveries')
    } finally {
      receiver.close()
    }
  })

  it('renders the other pages without errors', async () => {
    for (const [path, name] of [
      ['/computed-traits', '12-computed-traits'],
      ['/', '13-dashboard-after'],
    ] as const) {
      await page.goto(server.url + path)
      await page.getByRole('heading', { level: 2 }).first().waitFor()
      await screenshot(page, name)
    }
    expect(pageErrors).toEqual([])
  })
})
