/**
 * The Identity review page in a real browser against the real server: profiles that are
 * probably the same person wait in the queue (the workspace reviews every match itself), shown
 * side by side with the per-field explanation; "Run matching now" fills the queue, reject
 * remembers a non-match, accept merges the two profiles; a run that merged on its own lists
 * its merges and is undone in one click.
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

const token = 'console-review-e2e-admin-token-0123456789'
let server: RunningServer
let browser: Browser
let page: Page
const pageErrors: string[] = []

async function admin(path: string, init: { method?: string; body?: unknown } = {}) {
  const res = await fetch(`${server.url}/api/v1${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const people = [
  ['jonathan', 'smith', '12 high street', 'richmond', '3121', '1980-04-02'],
  ['jonathon', 'smith', '12 high street', 'richmond', '3121', '1980-04-02'],
  ['maria', 'garcia', '4 ocean road', 'brighton', '3186', '1975-11-30'],
  ['maria', 'garcia', '4 ocean rd', 'brighton', '3186', '1975-11-30'],
  // Four people unlike anyone: with only the two duplicate pairs the model has nothing to learn
  // what a non-match looks like from, and its scores would be arbitrary.
  ['peter', 'nguyen', '7 king street', 'carlton', '3053', '1990-01-15'],
  ['sarah', 'oconnor', '55 bay road', 'sandringham', '3191', '1968-07-09'],
  ['li', 'wang', '3 park lane', 'hawthorn', '3122', '2001-03-22'],
  ['ahmed', 'khan', '90 river drive', 'kew', '3101', '1984-12-01'],
]

let writeKey: string
async function send(rows: Array<{ i: number; person: string[] }>) {
  const res = await fetch(`${server.url}/v1/batch`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      batch: rows.map(({ i, person: [first, last, street, city, zip, birthday] }) => ({
        type: 'identify',
        // Profile ids hash the (random) source id; the run orders records by content, so the
        // scores do not depend on them.
        messageId: `crm-import-${i}`,
        anonymousId: `crm-${i}`,
        traits: {
          firstName: first,
          lastName: last,
          birthday,
          address: { street, city, postalCode: zip },
        },
      })),
    }),
  })
  expect(res.status).toBe(200)
}

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  const source = await admin('/sources', { method: 'POST', body: { name: 'CRM' } })
  writeKey = source.body.writeKey as string
  await send(people.map((person, i) => ({ i, person })))
  await eventually(async () => {
    const list = await admin('/profiles?limit=10')
    return (list.body.data as unknown[]).length === people.length
  }, 'the profiles to be processed')
  const put = await admin('/identity/matching/settings', {
    method: 'PUT',
    body: { autoMerge: false, reviewThreshold: 0.5 },
  })
  expect(put.status).toBe(200)
  browser = await launchBrowser()
  page = await openPage(browser, pageErrors)
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('Identity review page', { timeout: 240_000 }, () => {
  it('runs matching, shows pairs side by side with the explanation, rejects and accepts', async () => {
    await signIn(page, server.url, token)
    await page.getByRole('link', { name: 'Identity review' }).click()
    await page.getByTestId('empty-state').waitFor()
    await page.getByRole('button', { name: 'Run matching now' }).click()
    await page.getByTestId('matching-runs').waitFor()
    await expect.poll(() => page.getByTestId('review-pair').count(), { timeout: 60_000 }).toBe(2)
    // Pairs come highest probability first; which person that is depends on the model, so find
    // the Smiths' pair by name (polling: the side-by-side summaries render after the list).
    const smithPair = page.getByTestId('review-pair').filter({ hasText: 'smith' })
    await expect.poll(() => smithPair.count(), { timeout: 30_000 }).toBe(1)
    const text = (await smithPair.textContent()) ?? ''
    expect(text).toMatch(/\d+(\.\d+)?% match/)
    expect(text).toContain('surname')
    await expect(page.getByTestId('matching-runs').textContent()).resolves.toContain('succeeded')
    await screenshot(page, 'review-01-queue')

    const smith = page.getByTestId('review-pair').filter({ hasText: 'smith' })
    await smith.getByRole('button', { name: 'Reject' }).click()
    await expect.poll(() => page.getByTestId('review-pair').count(), { timeout: 45_000 }).toBe(1)
    const garcia = page.getByTestId('review-pair').filter({ hasText: 'garcia' })
    await garcia.getByRole('button', { name: 'Accept (merge)' }).click()
    await page.getByTestId('empty-state').waitFor()
    await screenshot(page, 'review-02-done')

    const rejected = await admin('/identity/review?status=rejected')
    expect(rejected.body.data as unknown[]).toHaveLength(1)
    const merged = await admin('/identity/review?status=merged')
    expect(merged.body.data as unknown[]).toHaveLength(1)
    const a = await admin('/profiles/lookup?type=anonymous_id&value=crm-2')
    const b = await admin('/profiles/lookup?type=anonymous_id&value=crm-3')
    expect(a.body.id).toBe(b.body.id)
    const c = await admin('/profiles/lookup?type=anonymous_id&value=crm-0')
    const d = await admin('/profiles/lookup?type=anonymous_id&value=crm-1')
    expect(c.body.id).not.toBe(d.body.id)
    expect(pageErrors).toEqual([])
  })

  it('lists what a run merged on its own and undoes the run in one click', async () => {
    // Peter Nguyen again, from another system: the workspace now lets runs merge on their own.
    await send([{ i: 8, person: people[4]! }])
    await eventually(async () => {
      const res = await admin('/profiles/lookup?type=anonymous_id&value=crm-8')
      return res.status === 200
    }, 'the new profile to be processed')
    const put = await admin('/identity/matching/settings', {
      method: 'PUT',
      body: { reviewThreshold: 0.5 },
    })
    expect(put.status).toBe(200)
    await page.getByRole('button', { name: 'Run matching now' }).click()
    const undo = page.getByRole('button', { name: 'Undo run' })
    await undo.waitFor({ timeout: 60_000 })
    const same = async () =>
      (await admin('/profiles/lookup?type=anonymous_id&value=crm-4')).body.id ===
      (await admin('/profiles/lookup?type=anonymous_id&value=crm-8')).body.id
    expect(await same()).toBe(true)
    await page.getByRole('button', { name: 'Show merges' }).first().click()
    const merged = page.getByTestId('review-pair').filter({ hasText: 'nguyen' })
    await expect.poll(() => merged.count(), { timeout: 30_000 }).toBe(1)
    expect((await merged.textContent()) ?? '').toContain('auto-merged')
    await screenshot(page, 'review-03-run-merges')
    page.once('dialog', (dialog) => void dialog.accept())
    await undo.click()
    await page.getByRole('button', { name: 'Undone' }).waitFor({ timeout: 30_000 })
    expect(await same()).toBe(false)
    await expect.poll(() => merged.textContent(), { timeout: 30_000 }).toContain('merge undone')
    await screenshot(page, 'review-04-undone')
    const runs = await admin('/identity/matching/runs?limit=1')
    const [run] = runs.body.data as Array<{ autoMerged: number; undo: { undone: number } }>
    expect(run?.undo.undone).toBe(run?.autoMerged)
    expect(pageErrors).toEqual([])
  })
})
