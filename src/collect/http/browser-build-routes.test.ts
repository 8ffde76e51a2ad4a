import { readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestKindred, type TestKindred } from '../../testing/test-server.js'

let k: TestKindred
let writeKey: string
const pkgJson = createRequire(import.meta.url).resolve('@segment/analytics-next/package.json')
const umd = path.join(path.dirname(pkgJson), 'dist', 'umd')

beforeAll(async () => {
  k = await startTestKindred()
  writeKey = (await k.createSource('Site')).writeKey
})
afterAll(() => k.close())

describe("Segment's browser build, served where the classic snippet looks for it", () => {
  it('serves analytics.min.js for a known write key, with the key embedded', async () => {
    const res = await fetch(`${k.url}/analytics.js/v1/${writeKey}/analytics.min.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/javascript/)
    expect(res.headers.get('x-analytics-next-version')).toBe('1.84.3')
    const body = await res.text()
    expect(body).toContain(`window.analyticsWriteKey=${JSON.stringify(writeKey)}`)
    expect(body).not.toContain('"__WRITE_KEY__"')
    // The package's own code follows the prelude unchanged.
    expect(body.length).toBeGreaterThan(100_000)
  })

  it('answers 404 with the error shape for an unknown or malformed write key', async () => {
    for (const key of ['wk_nope', 'a%20b', '..']) {
      const res = await fetch(`${k.url}/analytics.js/v1/${key}/analytics.min.js`)
      expect(res.status).toBe(404)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND')
    }
  })

  it("serves the package's code-split chunks by name, and nothing else", async () => {
    const chunk = readdirSync(umd).find((f) => /\.bundle\.[0-9a-f]+\.js$/.test(f))
    expect(chunk).toBeDefined()
    const ok = await fetch(`${k.url}/analytics-next/bundles/${chunk}`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('cache-control')).toContain('immutable')
    for (const name of ['standalone.js', 'index.js', `${chunk}.map`, '..%2F..%2Fpackage.json']) {
      const res = await fetch(`${k.url}/analytics-next/bundles/${name}`)
      expect(res.status, name).toBe(404)
    }
  })

  it('the settings tell analytics.js the host and protocol to post to', async () => {
    const res = await fetch(`${k.url}/v1/projects/${writeKey}/settings`)
    const settings = (await res.json()) as {
      integrations: { 'Segment.io': { apiHost: string; protocol: string } }
    }
    expect(settings.integrations['Segment.io']).toMatchObject({
      apiHost: `${new URL(k.url).host}/v1`,
      protocol: 'http',
    })
  })
})
