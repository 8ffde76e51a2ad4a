import { describe, expect, it } from 'vitest'
import { sourceSnippets } from './snippets.js'

describe('sourceSnippets', () => {
  it('points every snippet at the given origin with the write key', () => {
    const s = sourceSnippets('https://cdp.example.com', 'wk_abc')
    expect(s.curl).toContain("'https://cdp.example.com/v1/track'")
    expect(s.curl).toContain("-u 'wk_abc:'")
    expect(s.node).toContain("host: 'https://cdp.example.com'")
    expect(s.node).toContain("writeKey: 'wk_abc'")
    // analytics-node batches in memory: a script that exits without this loses its events.
    expect(s.node).toContain('await analytics.closeAndFlush()')
    expect(s.browser).toContain("cdnURL: 'https://cdp.example.com'")
    expect(s.browser).toContain("apiHost: 'cdp.example.com/v1', protocol: 'https'")
  })

  it('keeps the port and the plain-http protocol of a local server', () => {
    const s = sourceSnippets('http://127.0.0.1:8787', 'k')
    expect(s.browser).toContain("apiHost: '127.0.0.1:8787/v1', protocol: 'http'")
    expect(s.curl).toContain('http://127.0.0.1:8787/v1/track')
  })

  it('the classic script snippet loads analytics.min.js from this server, at the CDN path', () => {
    const s = sourceSnippets('https://cdp.example.com', 'wk_abc')
    expect(s.script.startsWith('<script>')).toBe(true)
    expect(s.script).toContain(
      `script.src = "https://cdp.example.com/analytics.js/v1/" + key + '/analytics.min.js'`,
    )
    expect(s.script).toContain('analytics.load("wk_abc")')
    expect(s.script).toContain('analytics._writeKey = "wk_abc"')
    // Runs as written: the stub queues calls as [method, ...args] for analytics.js to replay.
    const body = s.script.replace(/^<script>\n|\n<\/script>$/g, '')
    const inserted: { src: string }[] = []
    const fakeWindow: Record<string, unknown> = {}
    const fakeDocument = {
      createElement: () => ({}) as { src: string },
      getElementsByTagName: () => [
        { parentNode: { insertBefore: (el: { src: string }) => inserted.push(el) } },
      ],
    }
    new Function('window', 'document', body)(fakeWindow, fakeDocument)
    expect(inserted.map((e) => e.src)).toEqual([
      'https://cdp.example.com/analytics.js/v1/wk_abc/analytics.min.js',
    ])
    const queue = fakeWindow.analytics as unknown[][] & { track(...a: unknown[]): unknown }
    queue.track('Signed Up', { plan: 'pro' })
    expect([...queue]).toEqual([['page'], ['track', 'Signed Up', { plan: 'pro' }]])
  })
})
