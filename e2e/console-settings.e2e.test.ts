/**
 * The console's data settings in a real browser against a real Kindred process: identity rules
 * (phone region, enum-like traits in lower case) saved from the form change what the next event
 * becomes; matching, consent and personal-data settings round-trip through their APIs; a setting
 * the server refuses shows the server's reason and changes nothing.
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

const token = 'console-settings-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
const pageErrors: string[] = []

async function admin<T>(path: string): Promise<T> {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors)
  await signIn(page, server.url, token)
  await page.getByRole('link', { name: 'Settings', exact: true }).click()
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

/** Types each value into a tags input and confirms it. */
async function addTags(testId: string, values: string[]) {
  const input = page.getByTestId(testId)
  for (const v of values) {
    await input.fill(v)
    await input.press('Enter')
  }
}

describe('Console data settings', { timeout: 240_000 }, () => {
  it('saves identity rules that the next event is treated by', async () => {
    await page.getByTestId('tab-identity').click()
    await page.getByTestId('phone-region').fill('DE')
    await addTags('lower-traits', ['loyalty_tier'])
    await page.getByTestId('identity-settings-save').click()
    await page.getByText('Saved.').first().waitFor()
    const saved = await admin<{
      rules: { phoneDefaultRegion?: string; normalization: { traits: Record<string, unknown> } }
    }>('/identity/rules')
    expect(saved.rules.phoneDefaultRegion).toBe('DE')
    expect(saved.rules.normalization.traits.loyalty_tier).toEqual({ case: 'lower' })
    await screenshot(page, 'settings-01-identity')

    const created = await fetch(`${server.url}/api/v1/sources`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'web' }),
    })
    const { writeKey } = (await created.json()) as { writeKey: string }
    const sent = await fetch(`${server.url}/v1/identify`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        userId: 'settings-user',
        traits: { phone: '030 7654321', loyalty_tier: ' GOLD' },
      }),
    })
    expect(sent.status).toBe(200)
    // A national phone without a country became an identifier in the region the form set.
    const profile = await eventually(
      () =>
        admin<{ traits: Record<string, unknown> }>(
          '/profiles/lookup?type=phone&value=%2B49307654321',
        ).catch(() => undefined),
      'the profile by its E.164 phone',
    )
    expect(profile.traits.loyalty_tier).toBe('gold')
  })

  it('saves matching, consent and personal-data settings, and shows why one is refused', async () => {
    await page.getByTestId('tab-matching').click()
    await page.getByTestId('review-threshold').fill('0.85')
    await page.getByTestId('matching-settings-save').click()
    await expect
      .poll(
        async () =>
          (await admin<{ data: { reviewThreshold: number } }>('/identity/matching/settings')).data
            .reviewThreshold,
      )
      .toBe(0.85)
    // A review threshold above the auto-merge one: the server says why, nothing changes.
    await page.getByTestId('auto-threshold').fill('0.5')
    await page.getByTestId('matching-settings-save').click()
    await expect
      .poll(async () => page.getByTestId('matching-settings').getByRole('alert').textContent())
      .toContain('reviewThreshold')
    const after = await admin<{ data: { autoMergeThreshold: number } }>(
      '/identity/matching/settings',
    )
    expect(after.data.autoMergeThreshold).toBe(0.99)

    await page.getByTestId('tab-consent').click()
    await page.getByTestId('consent-unknown').click()
    await page.getByRole('option', { name: 'Denied until the person agrees' }).click()
    await page.getByTestId('consent-settings-save').click()
    await expect
      .poll(async () => (await admin<{ unknown: string }>('/consent/settings')).unknown)
      .toBe('deny')

    await page.getByTestId('tab-personal-data').click()
    await page.getByTestId('retention-days').fill('400')
    await page.getByTestId('pii-settings-save').click()
    await expect
      .poll(
        async () => (await admin<{ retentionDays: number | null }>('/privacy/pii')).retentionDays,
      )
      .toBe(400)
    await screenshot(page, 'settings-02-personal-data')

    // Delivery alerts go to a destination the workspace has.
    const hook = await fetch(`${server.url}/api/v1/destinations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'builtin.webhook',
        name: 'Ops alerts',
        settings: { url: 'http://127.0.0.1:9/alerts', signingSecret: 'whsec-alerts-0123456789' },
        actions: { forwardEvents: { events: ['Nothing'] } },
      }),
    })
    const { id: hookId } = (await hook.json()) as { id: string }
    await page.reload()
    await page.getByTestId('tab-workspace').click()
    await page.getByTestId('alert-destination').click()
    await page.getByRole('option', { name: /Ops alerts/ }).click()
    await page.getByTestId('alert-settings-save').click()
    await expect
      .poll(
        async () =>
          (await admin<{ alertDestinationId: string | null }>('/workspace/settings'))
            .alertDestinationId,
      )
      .toBe(hookId)
    expect(pageErrors).toEqual([])
  })
})
