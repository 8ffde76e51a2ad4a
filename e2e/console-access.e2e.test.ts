/**
 * Access control in a real browser against the real server: a user signs in with e-mail and
 * password (HttpOnly session cookie), creates an API key in Settings and sees its secret once,
 * finds the key's creation in the audit log, and signs out; then changes the password on the
 * Account page (a wrong current one answered inline), signs in with the new one, and sets a
 * member's password in Settings. Also checks that the console's security headers (CSP and
 * friends) let the app run without a single violation.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot } from './support/browser.js'
import { ensureConsoleBuilt, startKindred, type RunningServer } from './support/server.js'

const token = 'console-access-e2e-token-0123456789'
const email = `olive.${Date.now()}@example.com`
const password = 'a long enough password'
let server: RunningServer
let browser: Browser
let page: Page
const problems: string[] = []

beforeAll(async () => {
  await ensureConsoleBuilt()
  server = await startKindred(token)
  const res = await fetch(`${server.url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, role: 'owner' }),
  })
  expect(res.status).toBe(201)
  browser = await launchBrowser()
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  page.on('pageerror', (error) => problems.push(error.message))
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) {
      problems.push(m.text())
    }
  })
  page.setDefaultTimeout(45_000)
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
})

describe('console access control', { timeout: 240_000 }, () => {
  it('serves the console with security headers', async () => {
    const res = await fetch(`${server.url}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('permissions-policy')).toContain('camera=()')
  })

  it('signs in with e-mail and password, creates an API key, and sees it in the audit log', async () => {
    await page.goto(server.url + '/')
    await page.getByTestId('email-input').fill(email)
    await page.getByTestId('password-input').fill('wrong password here')
    await page.getByTestId('sign-in-password').click()
    await expect
      .poll(() => page.getByTestId('sign-in-error').textContent())
      .toContain('do not match')
    await page.getByTestId('password-input').fill(password)
    await page.getByTestId('sign-in-password').click()
    await page.getByRole('navigation', { name: 'Main navigation' }).waitFor()
    // The session is an HttpOnly cookie: scripts cannot read it, and nothing is in localStorage.
    const cookies = await page.context().cookies()
    const session = cookies.find((c) => c.name === 'kindred_session')
    expect(session?.httpOnly).toBe(true)
    expect(session?.sameSite).toBe('Strict')
    expect(await page.evaluate(() => document.cookie)).not.toContain('kindred_session')
    expect(await page.evaluate(() => localStorage.getItem('kindred.adminToken'))).toBeNull()

    await page.getByRole('link', { name: 'Settings' }).click()
    await page.getByTestId('users-table').getByText(email).waitFor()
    await screenshot(page, 'access-01-users')

    await page.getByTestId('tab-keys').click()
    await page.getByTestId('key-name').fill('Reporting script')
    await page.getByTestId('key-scopes').click()
    await page.getByRole('option', { name: /^read:profiles/ }).click()
    await page.keyboard.press('Escape')
    await page.getByTestId('create-key').click()
    const secretBox = page.getByTestId('new-key-secret')
    await secretBox.waitFor()
    const secret = (await secretBox.textContent()) ?? ''
    expect(secret).toMatch(/key_[A-Za-z0-9]{32}/)
    await screenshot(page, 'access-02-key-created')
    await page.getByRole('button', { name: 'Done' }).click()
    await page.getByTestId('keys-table').getByText('Reporting script').waitFor()
    // The secret works for what it was given, and only that.
    const apiKey = /key_[A-Za-z0-9]{32}/.exec(secret)?.[0] ?? ''
    const profiles = await fetch(`${server.url}/api/v1/profiles`, {
      headers: { authorization: `Bearer ${apiKey}` },
    })
    expect(profiles.status).toBe(200)
    const sources = await fetch(`${server.url}/api/v1/sources`, {
      headers: { authorization: `Bearer ${apiKey}` },
    })
    expect(sources.status).toBe(403)

    await page.getByTestId('tab-audit').click()
    const row = page.getByTestId('audit-row').filter({ hasText: 'api-key.create' })
    await row.first().waitFor()
    expect(await row.first().textContent()).toContain(email)
    await screenshot(page, 'access-03-audit')

    await page.getByTestId('sign-out').click()
    await page.getByTestId('email-input').waitFor()
    // Signing out revoked the session on the server, not only in this tab.
    const after = await fetch(`${server.url}/api/v1/me`, {
      headers: { cookie: `kindred_session=${session?.value ?? ''}` },
    })
    expect(after.status).toBe(401)
    expect(problems).toEqual([])
  })

  it('changes the password on the Account page and signs in with the new one', async () => {
    const newPassword = 'an even longer password'
    const signInWith = async (pw: string) => {
      await page.getByTestId('email-input').fill(email)
      await page.getByTestId('password-input').fill(pw)
      await page.getByTestId('sign-in-password').click()
    }
    await page.goto(server.url + '/')
    await signInWith(password)
    await page.getByTestId('account-link').click()
    await page.getByTestId('account-card').getByText(email).waitFor()

    // A wrong current password is answered inline, and the user stays signed in.
    await page.getByTestId('current-password').fill('not the password at all')
    await page.getByTestId('new-password').fill(newPassword)
    await page.getByTestId('repeat-password').fill(newPassword)
    await page.getByTestId('change-password').click()
    await expect
      .poll(() => page.getByTestId('change-password-error').textContent())
      .toContain('current password is wrong')
    await screenshot(page, 'access-04-password-wrong')

    await page.getByTestId('current-password').fill(password)
    await page.getByTestId('change-password').click()
    await page.getByTestId('change-password-done').waitFor()
    expect(await page.getByTestId('change-password-error').count()).toBe(0)
    await screenshot(page, 'access-05-password-changed')

    await page.getByTestId('sign-out').click()
    await signInWith(password)
    await expect
      .poll(() => page.getByTestId('sign-in-error').textContent())
      .toContain('do not match')
    await signInWith(newPassword)
    await page.getByRole('navigation', { name: 'Main navigation' }).waitFor()

    // As owner, set a new password for a member who lost theirs (Settings → Users).
    const member = `milo.${Date.now()}@example.com`
    const added = await fetch(`${server.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: member, password: 'milo forgot this one', role: 'viewer' }),
    })
    expect(added.status).toBe(201)
    await page.getByRole('link', { name: 'Settings' }).click()
    await page.getByTestId(`set-password-${member}`).click()
    await page.getByRole('dialog').getByLabel('New password').fill('milo has a new one')
    await page.getByRole('dialog').getByRole('button', { name: 'Set password' }).click()
    await page.getByRole('dialog').getByText('Password set.').waitFor()
    const milo = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: member, password: 'milo has a new one' }),
    })
    expect(milo.status).toBe(200)
    expect(problems).toEqual([])
  })
})
