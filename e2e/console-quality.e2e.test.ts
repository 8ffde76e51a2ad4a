/**
 * The console's data-quality section in a real browser against the real server: write a tracking
 * plan in quarantine mode, see a violating event counted and quarantined (not applied), fix the
 * plan, replay, and see the event applied once. Screenshots go to test-results/screenshots/.
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

const token = 'console-quality-e2e-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
let source: { id: string; writeKey: string }
const pageErrors: string[] = []

function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  return fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
}

const plan = (totalType: string | string[]) =>
  JSON.stringify(
    {
      unplannedEvents: 'allow',
      events: {
        'Order Completed': {
          type: 'object',
          required: ['total'],
          properties: { total: { type: totalType } },
        },
      },
    },
    null,
    2,
  )

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  const res = await api('/sources', { body: { name: 'Checkout' } })
  source = (await res.json()) as { id: string; writeKey: string }
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors, { viewport: { width: 1280, height: 1000 } })
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('console data quality', { timeout: 240_000 }, () => {
  it('refuses invalid JSON and invalid schemas, then saves a quarantine plan', async () => {
    await signIn(page, server.url, token)
    await page.goto(`${server.url}/sources/${encodeURIComponent(source.id)}`)
    await page.getByTestId('data-quality').waitFor()
    await expect.poll(() => page.getByTestId('plan-version').textContent()).toBe('version 0')
    const editor = page.getByTestId('plan-json')
    await editor.fill('{ not json')
    await page.getByTestId('save-plan').click()
    await expect
      .poll(() => page.getByTestId('plan-error').textContent())
      .toContain('Not valid JSON')
    await editor.fill(plan('no-such-type'))
    await page.getByTestId('save-plan').click()
    await expect
      .poll(() => page.getByTestId('plan-error').textContent())
      .toContain('events.Order Completed')
    await page.getByTestId('plan-mode').getByText('Quarantine').click()
    await editor.fill(plan('number'))
    await page.getByTestId('save-plan').click()
    await expect.poll(() => page.getByTestId('plan-version').textContent()).toBe('version 1')
    const stored = (await (await api(`/sources/${source.id}/tracking-plan`)).json()) as {
      plan: { mode: string }
    }
    expect(stored.plan.mode).toBe('quarantine')
  })

  it('shows a violating event in the counts and the quarantine, and replays it once fixed', async () => {
    const res = await fetch(`${server.url}/v1/track`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        userId: 'buyer-1',
        event: 'Order Completed',
        messageId: 'order-1',
        properties: { total: '9.99' },
      }),
    })
    expect(res.status).toBe(200)
    await expect
      .poll(() => page.getByTestId('quarantine-total').textContent(), { timeout: 45_000 })
      .toBe('1')
    await expect
      .poll(() => page.getByTestId('violations-total').textContent(), { timeout: 45_000 })
      .toBe('1')
    await expect
      .poll(() => page.getByTestId('violation-row').first().textContent())
      .toContain('properties.total')
    await expect(page.getByTestId('quarantined-event').first().textContent()).resolves.toContain(
      'must be number',
    )
    expect((await api('/profiles/lookup?type=user_id&value=buyer-1')).status).toBe(404)
    await screenshot(page, 'quality-01-quarantined')

    await page.getByTestId('plan-json').fill(plan(['number', 'string']))
    await page.getByTestId('save-plan').click()
    await expect.poll(() => page.getByTestId('plan-version').textContent()).toBe('version 2')
    await page.getByTestId('replay-quarantine').click()
    await expect
      .poll(() => page.getByTestId('replay-result').textContent())
      .toBe('1 replayed, 0 still failing')
    await expect
      .poll(() => page.getByTestId('quarantine-total').textContent(), { timeout: 45_000 })
      .toBe('0')
    await eventually(
      async () => (await api('/profiles/lookup?type=user_id&value=buyer-1')).status === 200,
      'the replayed event to reach its profile',
    )
    const events = (await (await api('/profiles/lookup?type=user_id&value=buyer-1')).json()) as {
      id: string
    }
    const timeline = (await (await api(`/profiles/${events.id}/events`)).json()) as {
      data: Array<{ messageId: string }>
    }
    expect(timeline.data.filter((e) => e.messageId === 'order-1')).toHaveLength(1)
    await screenshot(page, 'quality-02-replayed')
    expect(pageErrors).toEqual([])
  })
})
