/**
 * Dead letters in the console, in a real browser against a real Kindred process: a webhook that
 * keeps failing runs out of its retries (a tiny budget set for the test through the operator's
 * dispatcher variables), its attempts are labelled dead letters, "Replay dead letters" is enabled
 * and, once the receiver is back, sends the delivery again; the log's filter shows the delivered
 * attempt; the destination's own retry time is saved from its settings. Screenshots go to
 * test-results/screenshots/.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startReceiver, type Receiver } from '../src/testing/test-receiver.js'
import { launchBrowser, openPage, screenshot, signIn } from './support/browser.js'
import {
  ensureConsoleBuilt,
  eventually,
  startKindred,
  type RunningServer,
} from './support/server.js'

const token = 'console-replay-admin-token-0123456789'
const SECRET = 'whsec-console-replay-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
let receiver: Receiver
let destinationId = ''
let healthy = false
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

beforeAll(async () => {
  await ensureConsoleBuilt()
  receiver = await startReceiver(SECRET)
  receiver.handler = () => (healthy ? { status: 200, body: '{}' } : { status: 503, body: 'down' })
  server = await startKindred(token, {
    KINDRED_DISPATCHER_MAX_ATTEMPTS: '2',
    KINDRED_DISPATCHER_BASE_DELAY_MS: '50',
    KINDRED_DISPATCHER_MAX_DELAY_MS: '100',
  })
  const source = await admin<{ writeKey: string }>('/sources', { name: 'web' })
  const d = await admin<{ id: string }>('/destinations', {
    type: 'builtin.webhook',
    name: 'Order hook',
    settings: { url: receiver.url, signingSecret: SECRET },
    actions: { forwardEvents: { events: ['Order Completed'] } },
  })
  destinationId = d.id
  const sent = await fetch(`${server.url}/v1/track`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ userId: 'replay-user', event: 'Order Completed' }),
  })
  expect(sent.status).toBe(200)
  await eventually(async () => {
    const s = await admin<{ jobs: { dead: number } }>(`/destinations/${destinationId}`)
    return s.jobs.dead === 1
  }, 'the delivery to give up')
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors)
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
  await receiver?.close()
})

describe('Console dead letters and replay', { timeout: 240_000 }, () => {
  it('labels the attempts that gave up and replays them', async () => {
    await signIn(page, server.url, token)
    await page.goto(`${server.url}/destinations/${destinationId}`)
    await page.getByTestId('dead-letter').first().waitFor()
    expect(await page.getByTestId('dead-letter-count').textContent()).toContain('1 dead letter')
    const replay = page.getByTestId('replay-dead')
    await expect.poll(async () => replay.isEnabled()).toBe(true)
    // Each row says what it carried and for whom, and shows the payload it sent.
    const row = page.getByTestId('delivery-row').first()
    expect(await row.textContent()).toContain('event')
    await row.getByRole('link', { name: 'profile' }).waitFor()
    await row.getByTestId('show-payload').click()
    expect(await page.getByTestId('delivery-payload').textContent()).toContain('Order Completed')
    await page.keyboard.press('Escape')
    await screenshot(page, 'replay-01-dead-letter')

    healthy = true
    await replay.click()
    await eventually(async () => receiver.received.length >= 3, 'the replayed delivery')
    await page.getByTestId('deliveries-filter').getByText('Delivered').click()
    await expect
      .poll(async () => page.getByTestId('delivery-row').count(), { timeout: 30_000 })
      .toBe(1)
    expect(await page.getByTestId('delivery-row').first().textContent()).toContain('success')
    await expect.poll(async () => replay.isDisabled(), { timeout: 30_000 }).toBe(true)
    await screenshot(page, 'replay-02-delivered')
  })

  it('saves the destination’s own retry time', async () => {
    await page.getByRole('tab', { name: 'Settings' }).click()
    await page.getByTestId('retry-hours').fill('6')
    await page.getByTestId('save-retry-hours').click()
    await expect
      .poll(
        async () =>
          (await admin<{ retryHours: number | null }>(`/destinations/${destinationId}`)).retryHours,
      )
      .toBe(6)
    expect(pageErrors).toEqual([])
  })
})
