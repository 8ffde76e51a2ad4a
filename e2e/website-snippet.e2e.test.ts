/**
 * The website snippet with no bundler, in a real browser (Debian's Chromium): a page on another
 * origin (a second local port) pastes the console's classic `<script>` snippet, which loads
 * Segment's standard build of analytics.js from Kindred (`/analytics.js/v1/<key>/analytics.min.js`,
 * then its chunks and `/v1/projects/<key>/settings`), and `analytics.track` arrives as an event.
 * Nothing is fetched from Segment's hosts (those requests are refused and recorded).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sourceSnippets } from '../console/src/lib/snippets.js'
import { startTestKindred, type TestKindred } from '../src/testing/test-server.js'
import { until } from '../src/testing/test-receiver.js'
import { launchBrowser, openPage } from './support/browser.js'

let k: TestKindred
let site: http.Server
let siteUrl: string
let browser: Browser
let writeKey: string

beforeAll(async () => {
  k = await startTestKindred()
  writeKey = (await k.createSource('Website')).writeKey
  const snippet = sourceSnippets(k.url, writeKey).script
  const page = `<!doctype html>
<html><head><title>Shop</title>
${snippet}
<script>
  analytics.identify('snippet-user-1', { email: 'ada@example.com' })
  analytics.track('Snippet Works', { total: 42.5, currency: 'EUR' })
</script>
</head><body><h1>Shop</h1></body></html>`
  site = http.createServer((req, res) => {
    res.writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
    res.end(req.url === '/' ? page : 'not found')
  })
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()))
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`
  browser = await launchBrowser()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await new Promise<void>((r) => site.close(() => r()))
  await k.close()
})

it('the classic snippet on another origin loads analytics.js from Kindred, and track arrives', async () => {
  expect(new URL(siteUrl).origin).not.toBe(new URL(k.url).origin)
  const errors: string[] = []
  const page = await openPage(browser, errors)
  const segmentHosts: string[] = []
  await page.route(/segment\.(com|io)/, async (route) => {
    segmentHosts.push(route.request().url())
    await route.abort()
  })
  const fromKindred: string[] = []
  page.on('response', (r) => {
    if (r.url().startsWith(k.url)) fromKindred.push(`${r.status()} ${new URL(r.url()).pathname}`)
  })
  await page.goto(siteUrl)

  const rows = await until(async () => {
    await k.kindred.processor?.drain()
    const res = await k.kindred.store.db.query<{
      type: string
      event: string | null
      user_id: string | null
      properties: Record<string, unknown>
      context: Record<string, unknown>
    }>(
      `SELECT e.type, e.event, e.user_id, e.properties, e.context FROM events e
       JOIN sources s ON s.id = e.source_id WHERE s.name = 'Website' ORDER BY e.type`,
    )
    return res.rows.some((r) => r.type === 'track') ? res.rows : undefined
  }, 45_000)

  const track = rows.find((r) => r.type === 'track')
  expect(track?.event).toBe('Snippet Works')
  expect(track?.user_id).toBe('snippet-user-1')
  expect(track?.properties).toEqual({ total: 42.5, currency: 'EUR' })
  const library = track?.context.library as { name: string; version: string }
  expect(library.name).toBe('analytics.js')
  expect(library.version).toContain('1.84.3')
  expect((track?.context.page as { url: string }).url).toBe(siteUrl)
  // The snippet's page() and identify() came through the same way.
  expect(rows.map((r) => r.type)).toEqual(expect.arrayContaining(['page', 'identify', 'track']))

  expect(fromKindred).toContain(`200 /analytics.js/v1/${writeKey}/analytics.min.js`)
  expect(fromKindred).toContain(`200 /v1/projects/${writeKey}/settings`)
  expect(segmentHosts).toEqual([])
  expect(errors).toEqual([])
}, 90_000)
