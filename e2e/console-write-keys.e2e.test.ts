/**
 * A source's write key in a real browser against a real Kindred process: the key and snippets
 * after creation, the same key and snippets on the source's page later (the Node one flushing
 * before exit), a rotation behind a confirmation that names the source (the old key keeps
 * working through its overlap, then stopped early behind another confirmation), deleting the
 * source only after a confirmation that names it, and a workspace only after its id is typed.
 * Screenshots go to test-results/screenshots/.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openPage, screenshot, signIn } from './support/browser.js'
import { ensureConsoleBuilt, startKindred, type RunningServer } from './support/server.js'

const token = 'console-write-keys-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
const pageErrors: string[] = []
let firstKey = ''
let secondKey = ''

async function sends(writeKey: string): Promise<number> {
  const res = await fetch(`${server.url}/v1/track`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ userId: 'wk-user', event: 'Key Checked' }),
  })
  await res.arrayBuffer()
  return res.status
}

const text = async (testId: string) =>
  ((await page.getByTestId(testId).first().textContent()) ?? '').trim()

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors)
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('Console write keys', { timeout: 240_000 }, () => {
  it('shows the key and snippets on creation, and again on the source’s page', async () => {
    await signIn(page, server.url, token)
    await page.getByRole('link', { name: 'Sources', exact: true }).click()
    await page.getByTestId('new-source').click()
    await page.getByTestId('source-name').fill('Checkout')
    await page.getByTestId('create-source').click()
    await page.getByTestId('write-key').waitFor()
    firstKey = await text('write-key')
    expect(firstKey).toMatch(/^wk_/)
    await page.getByRole('tab', { name: 'Node (analytics-node)' }).click()
    expect(await text('snippet-node')).toContain('await analytics.closeAndFlush()')
    await page.getByTestId('open-debugger').click()
    await page.waitForURL(/\/sources\/[^/]+$/)

    // Later, on the source's page: the same key, and the snippets built with it.
    await page.getByTestId('current-write-key').waitFor()
    expect(await text('current-write-key')).toBe(firstKey)
    // The website snippet comes first, loading analytics.js from this server.
    expect(await text('snippet-script')).toContain(`${server.url}/analytics.js/v1/`)
    expect(await text('snippet-script')).toContain(`analytics.load("${firstKey}")`)
    await page.getByTestId('write-key-panel').getByRole('tab', { name: 'curl' }).click()
    expect(await text('snippet-curl')).toContain(`-u '${firstKey}:'`)
    await page.getByTestId('write-key-panel').getByRole('tab', { name: /Node/ }).click()
    const node = await text('snippet-node')
    expect(node).toContain(`writeKey: '${firstKey}'`)
    expect(node).toContain(`host: '${server.url}'`)
    expect(node).toContain('await analytics.closeAndFlush()')
    await page.getByRole('button', { name: 'Copy Write key' }).waitFor()
    await screenshot(page, 'write-keys-01-source-page')
    expect(await sends(firstKey)).toBe(200)
  })

  it('rotates after a confirmation; the old key works through the overlap, then is stopped', async () => {
    await page.getByTestId('rotate-key').click()
    const subject = page.getByTestId('rotate-subject')
    await subject.waitFor()
    expect(await text('rotate-subject')).toContain('“Checkout”')
    expect(await text('rotate-subject')).toContain(firstKey.slice(0, 10))
    // Cancel changes nothing.
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
    await subject.waitFor({ state: 'detached' })
    expect(await text('current-write-key')).toBe(firstKey)

    await page.getByTestId('rotate-key').click()
    await page.getByTestId('rotate-button').click()
    await expect.poll(() => text('current-write-key'), { timeout: 45_000 }).not.toBe(firstKey)
    secondKey = await text('current-write-key')
    expect(secondKey).toMatch(/^wk_/)
    const retiring = page.getByTestId('retiring-key')
    await retiring.waitFor()
    expect(await retiring.textContent()).toContain(firstKey)
    expect(await retiring.textContent()).toContain('works until')
    expect(await sends(firstKey)).toBe(200)
    expect(await sends(secondKey)).toBe(200)
    await screenshot(page, 'write-keys-02-rotated')

    await retiring.getByRole('button', { name: 'Stop now' }).click()
    expect(await text('stop-key-subject')).toContain(firstKey.slice(0, 10))
    await page.getByTestId('stop-key-button').click()
    await page.getByTestId('retiring-key').waitFor({ state: 'detached' })
    expect(await sends(firstKey)).toBe(401)
    expect(await sends(secondKey)).toBe(200)
  })

  it('deletes the source only after a confirmation that names it', async () => {
    await page.getByTestId('delete-source').click()
    expect(await text('delete-source-subject')).toContain('“Checkout”')
    await screenshot(page, 'write-keys-03-delete-confirmation')
    await page.getByTestId('delete-source-button').click()
    await page.waitForURL(/\/sources$/)
    expect(await sends(secondKey)).toBe(401)
  })

  it('deletes a workspace only after its id is typed', async () => {
    const created = await fetch(`${server.url}/api/v1/workspaces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'doomed', name: 'Doomed' }),
    })
    expect(created.status).toBe(201)
    await page.goto(`${server.url}/settings`)
    await page.getByTestId('workspace-switcher').click()
    await page.getByRole('option', { name: 'Doomed' }).click()
    await page.getByTestId('tab-workspace').click()
    await page.getByRole('button', { name: 'Delete workspace' }).click()
    expect(await text('delete-workspace-subject')).toContain('doomed')
    const confirm = page.getByTestId('delete-workspace-button')
    expect(await confirm.isDisabled()).toBe(true)
    await page.getByTestId('delete-workspace-typed').fill('default')
    expect(await confirm.isDisabled()).toBe(true)
    await page.getByTestId('delete-workspace-typed').fill('doomed')
    await confirm.click()
    await page.waitForURL(`${server.url}/`)
    const list = await fetch(`${server.url}/api/v1/workspaces`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const ids = ((await list.json()) as { data: { id: string }[] }).data.map((w) => w.id)
    expect(ids).not.toContain('doomed')
    await expect
      .poll(() => page.getByTestId('workspace-switcher').inputValue(), { timeout: 45_000 })
      .toBe('Default workspace')
    expect(pageErrors).toEqual([])
  })
})
