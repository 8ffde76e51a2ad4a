/**
 * A source's page in a real browser against a real Kindred process, for events sent before it
 * was opened: the debugger opens on the stored history, searches it by user id and event name,
 * and the schema lists each call with its volume and fields (a field sent with two value types
 * is marked), and the segment builder suggests the names they carry, warning about a typo.
 * Screenshots go to test-results/screenshots/.
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

const token = 'console-source-history-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
let sourceId = ''
const pageErrors: string[] = []

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  const created = await fetch(`${server.url}/api/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Shop' }),
  })
  const source = (await created.json()) as { id: string; writeKey: string }
  sourceId = source.id
  const batch = [
    ...Array.from({ length: 12 }, (_, i) => ({
      type: 'track',
      userId: `shopper-${i % 3}`,
      event: 'Product Viewed',
      properties: { sku: `sku-${i}`, price: i % 2 === 0 ? 10 + i : `${10 + i}.00` },
    })),
    { type: 'track', userId: 'shopper-1', event: 'Order Completed', properties: { revenue: 42 } },
  ]
  const sent = await fetch(`${server.url}/v1/batch`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${source.writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ batch }),
  })
  expect(sent.status).toBe(200)
  await eventually(async () => {
    const r = await fetch(`${server.url}/api/v1/sources/${sourceId}/events?limit=50`, {
      headers: { authorization: `Bearer ${token}` },
    })
    return ((await r.json()) as { data: unknown[] }).data.length === 13
  }, 'the events to be processed')
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors)
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('Console source history and schema', { timeout: 240_000 }, () => {
  it('opens the debugger on the stored events and searches them', async () => {
    await signIn(page, server.url, token)
    await page.goto(`${server.url}/sources/${sourceId}`)
    const events = page.getByTestId('live-event')
    await expect.poll(async () => events.count()).toBe(13)
    expect(await events.first().textContent()).toContain('stored')

    await page.getByTestId('debugger-search').fill('shopper-1')
    // shopper-1 viewed 4 products and ordered once.
    await expect.poll(async () => events.count()).toBe(5)
    await page.getByTestId('debugger-search').fill('order')
    await expect.poll(async () => events.count()).toBe(1)
    expect(await events.first().textContent()).toContain('Order Completed')
    await screenshot(page, 'source-history-01-search')
  })

  it('lists the source’s calls with volumes, and their fields with value types', async () => {
    const schema = page.getByTestId('source-schema')
    const calls = schema.getByTestId('schema-call')
    await expect.poll(async () => calls.count()).toBe(2)
    expect(await calls.first().textContent()).toContain('Product Viewed')
    expect(await calls.first().textContent()).toContain('12')
    await calls.first().click()
    const fields = schema.getByTestId('schema-field')
    await expect.poll(async () => fields.count()).toBe(2)
    const price = fields.filter({ hasText: 'properties.price' })
    expect(await price.textContent()).toContain('number')
    expect(await price.textContent()).toContain('string')
    await screenshot(page, 'source-history-02-schema')
  })

  it('suggests the names sent in the segment builder and warns about one never seen', async () => {
    await page.goto(`${server.url}/segments/new`)
    await page.getByTestId('add-condition').click()
    await page.getByTestId('add-event').click()
    const name = page.getByTestId('event-name')
    await name.fill('Order')
    await page.getByRole('option', { name: 'Order Completed' }).waitFor()
    // A typo: the builder says no such event has been received.
    await name.fill('Order Complete')
    await page.getByTestId('name-unseen').waitFor()
    expect(await page.getByTestId('name-unseen').textContent()).toContain('Order Complete')
    await name.fill('Order')
    await page.getByRole('option', { name: 'Order Completed' }).click()
    await expect.poll(async () => name.inputValue()).toBe('Order Completed')
    expect(await page.getByTestId('name-unseen').count()).toBe(0)
    await screenshot(page, 'source-history-03-builder-names')
    expect(pageErrors).toEqual([])
  })
})
