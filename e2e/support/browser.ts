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
