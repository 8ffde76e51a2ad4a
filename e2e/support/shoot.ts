/**
 * Development aid: screenshots every console page of a running server.
 * `KINDRED_URL=http://127.0.0.1:8787 KINDRED_ADMIN_TOKEN=… node --import tsx e2e/support/shoot.ts [path…]`
 */
import { launchBrowser, screenshot, signIn } from './browser.js'

const base = process.env.KINDRED_URL ?? 'http://127.0.0.1:8787'
const token = process.env.KINDRED_ADMIN_TOKEN ?? ''
const paths = process.argv.slice(2)
const browser = await launchBrowser()
try {
  const page = await browser.newPage({
    viewport: { width: Number(process.env.WIDTH ?? 1280), height: 800 },
  })
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      console.log(`[browser ${m.type()}] ${m.text()}`)
  })
  page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`))
  await page.goto(base + '/')
  await screenshot(page, 'dev-sign-in')
  await signIn(page, base, token)
  for (const p of paths.length
    ? paths
    : [
        '/',
        '/sources',
        '/profiles',
        '/segments',
        '/segments/new',
        '/computed-traits',
        '/destinations',
      ]) {
    await page.goto(base + p)
    await page.waitForTimeout(Number(process.env.WAIT ?? 1500))
    const name = 'dev' + (p.replace(/[^a-z0-9]+/gi, '-').replace(/-$/, '') || '-home')
    console.log(name, await screenshot(page, name))
  }
} finally {
  await browser.close()
}
