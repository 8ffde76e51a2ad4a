/**
 * Browser helpers for the console's end-to-end tests: Debian's Chromium through playwright-core
 * (never a downloaded browser), a screenshot helper, and the sign-in step.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM_PATH = process.env.KINDRED_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOT_DIR = path.resolve('test-results/screenshots')

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/**
 * A page that records uncaught page errors into `errors` (tests assert it stays empty). The full
 * suite shares 2 cores with the browser: pages may take long to appear, never fail to.
 */
export async function openPage(
  browser: Browser,
  errors: string[],
  options: Parameters<Browser['newPage']>[0] = {},
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, ...options })
  page.on('pageerror', (error) => errors.push(error.message))
  page.setDefaultTimeout(45_000)
  return page
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const file = path.join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/** Signs in through the console's sign-in page with the admin token. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(baseUrl + '/')
  await page.getByTestId('sign-in-mode').getByText('Admin token').click()
  await page.getByTestId('token-input').fill(token)
  await page.getByTestId('sign-in').click()
  await page.getByRole('navigation', { name: 'Main navigation' }).waitFor()
}
