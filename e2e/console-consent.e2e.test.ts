/**
 * Consent on the console's profile page, in a real browser against the real server: a profile
 * whose consent came from Segment's categoryPreferences shows each purpose with its status,
 * source and time, and the history; the editor records a decision through the API (source
 * `api`, with the proof typed in), and the page shows the new state and history row.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, signIn, openPage } from './support/browser.js'
import {
  ensureConsoleBuilt,
  eventually,
  startKindred,
  type RunningServer,
} from './support/server.js'

const token = 'console-consent-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
let profileId = ''
const pageErrors: string[] = []

async function admin(path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors)
  const source = await admin('/sources', { body: { name: 'Consent web' } })
  const writeKey = String(source.json.writeKey)
  const res = await fetch(`${server.url}/v1/track`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      userId: 'consent-ui-ada',
      event: 'Segment Consent Preference Updated',
      messageId: 'consent-ui-1',
      context: { consent: { categoryPreferences: { Analytics: true, Advertising: false } } },
    }),
  })
  expect(res.status).toBe(200)
  profileId = await eventually(async () => {
    const p = await admin('/profiles/lookup?type=user_id&value=consent-ui-ada')
    return p.status === 200 && p.json.consent && Object.keys(p.json.consent).length > 0
      ? String(p.json.id)
      : undefined
  }, 'the consent event to be processed')
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('consent on the profile page', { timeout: 240_000 }, () => {
  it('shows each purpose with status, source and time, and the history', async () => {
    await signIn(page, server.url, token)
    await page.goto(`${server.url}/profiles/${encodeURIComponent(profileId)}`)
    const panel = page.getByTestId('consent')
    await panel.waitFor()
    const row = (purpose: string) => page.getByTestId(`consent-${purpose}`)
    await expect
      .poll(() => row('analytics').getByTestId('consent-status').textContent())
      .toBe('granted')
    expect(await row('advertising').getByTestId('consent-status').textContent()).toBe('denied')
    expect(await row('marketing').getByTestId('consent-status').textContent()).toBe('denied')
    expect(await row('analytics').getByTestId('consent-source').textContent()).toMatch(/^event · /)
    await page.getByText(/^History \(4\)$/).click()
    const history = page.getByTestId('consent-history')
    await history.waitFor()
    expect(await history.locator('tbody tr').count()).toBe(4)
    expect(await history.textContent()).toContain('consent-ui-1')
    await screenshot(page, 'consent-01-profile')
  })

  it('records a decision with the editor, through the API', async () => {
    await page.getByRole('button', { name: 'Edit consent…' }).click()
    const editor = page.getByTestId('consent-editor')
    await editor.waitFor()
    await editor
      .getByRole('radiogroup', { name: 'consent for marketing' })
      .getByText('granted', { exact: true })
      .click()
    await editor.getByLabel('Proof (optional)').fill('phone call 2026-11-25')
    await screenshot(page, 'consent-02-editor')
    await editor.getByRole('button', { name: 'Save consent' }).click()
    const row = page.getByTestId('consent-marketing')
    await expect.poll(() => row.getByTestId('consent-status').textContent()).toBe('granted')
    expect(await row.getByTestId('consent-source').textContent()).toMatch(/^api · /)
    await expect.poll(() => page.getByText(/^History \(\d+\)$/).textContent()).toBe('History (5)')
    expect(await page.getByTestId('consent-history').textContent()).toContain(
      'phone call 2026-11-25',
    )
    // The server holds the decision, with the proof.
    const api = await admin(`/profiles/${encodeURIComponent(profileId)}/consent`)
    const history = api.json.history as Array<{ source: string; details: { proof?: string } }>
    expect(history[0]).toMatchObject({ source: 'api', details: { proof: 'phone call 2026-11-25' } })
    await screenshot(page, 'consent-03-saved')
    expect(pageErrors).toEqual([])
  })
})
