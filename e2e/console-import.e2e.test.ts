/**
 * The console's import page in a real browser against a real Kindred process: a CRM export keyed
 * by e-mail (messy casing and whitespace, a national phone with a country column, one row with no
 * identifier) is chosen, the suggested mapping and the preview show which rows will be imported,
 * a column is remapped, the import runs with a progress bar to its report, the rejected row can be
 * downloaded, and the imported people are profiles with canonical e-mails and E.164 phones.
 * Screenshots go to test-results/screenshots/.
 */
import { readFileSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, openPage, screenshot, signIn } from './support/browser.js'
import {
  ensureConsoleBuilt,
  eventually,
  startKindred,
  type RunningServer,
} from './support/server.js'

const token = 'console-import-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
const pageErrors: string[] = []

const csv = [
  'E-Mail Address,First Name,Mobile,Country,Tier,Notes',
  ' Ada.Lovelace@Example.COM ,Ada,030 1234567,DE, GOLD,first',
  'grace.hopper@example.org,Grace,(201) 555-0123,US,silver,second',
  ',Nobody,,,bronze,no identifier',
  'linus@example.net,Linus,,FI,gold,fourth',
].join('\n')

const admin = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    headers: { authorization: `Bearer ${token}` },
  })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  const created = await fetch(`${server.url}/api/v1/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'CRM' }),
  })
  expect(created.status).toBe(201)
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors, { acceptDownloads: true })
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('Console imports', { timeout: 240_000 }, () => {
  it('previews a CRM file keyed by e-mail, imports it and reports the rejected row', async () => {
    await signIn(page, server.url, token)
    await page.getByRole('link', { name: 'Imports', exact: true }).click()
    await page.getByTestId('import-source').click()
    await page.getByRole('option', { name: 'CRM' }).click()
    await page.locator('input[type=file]').setInputFiles({
      name: 'crm.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    })
    await page.getByTestId('import-next').click()

    // The suggestion found the identifier columns by name; the row without any is flagged.
    const summary = page.getByTestId('import-preview-summary')
    await expect
      .poll(async () => summary.textContent())
      .toContain('3 would be imported and 1 rejected')
    expect(await summary.textContent()).toContain('E-Mail Address')
    await expect.poll(async () => page.getByTestId('map-Mobile').inputValue()).toBe('traits.phone')
    expect(await page.getByTestId('preview-row').count()).toBe(4)
    const previewRows = (await page.getByTestId('import-preview-rows').textContent()) ?? ''
    expect(previewRows).toContain('no identifier')
    // Shown as the profile will hold them: canonical e-mail, E.164 phone read in the row's country.
    expect(previewRows).toContain('email: ada.lovelace@example.com')
    expect(previewRows).toContain('phone: +49301234567')

    // Notes are not wanted on the profile: remapped to ignore, the preview shows them gone.
    const notes = page.getByTestId('map-Notes')
    await notes.fill('ignore')
    await notes.press('Enter')
    await notes.blur()
    await expect
      .poll(async () => page.getByTestId('import-preview-rows').textContent())
      .not.toContain('"Notes"')
    await screenshot(page, 'import-01-mapping')

    await page.getByTestId('import-start').click()
    const report = page.getByTestId('import-report')
    await expect
      .poll(async () => report.getByTestId('import-status').textContent(), {
        timeout: 60_000,
      })
      .toBe('completed')
    expect(await report.getByTestId('import-counts').textContent()).toContain(
      '4 rows read: 3 imported, 1 rejected',
    )
    expect(await report.getByTestId('import-errors').textContent()).toContain('no identifier')
    await screenshot(page, 'import-02-report')

    const download = page.waitForEvent('download')
    await report.getByTestId('download-rejects').click()
    const file = await (await download).path()
    const rejects = readFileSync(file, 'utf8').trim().split('\n')
    expect(rejects).toHaveLength(1)
    expect(JSON.parse(rejects[0] as string)).toMatchObject({ row: 3 })

    // The people are profiles, by their canonical identifiers.
    const ada = await eventually(
      () =>
        admin<{ id: string; traits: Record<string, unknown> }>(
          '/profiles/lookup?type=email&value=ada.lovelace%40example.com',
        ).catch(() => undefined),
      'the imported profile',
    )
    expect(ada.traits.firstName).toBe('Ada')
    expect(ada.traits.Notes).toBeUndefined()
    const byPhone = await admin<{ id: string }>('/profiles/lookup?type=phone&value=%2B49301234567')
    expect(byPhone.id).toBe(ada.id)
    expect(pageErrors).toEqual([])
  })
})
