/**
 * Copy-paste snippets for a source, pointed at this Kindred server: shown when the source is
 * created and on its page later. Pure: takes the server's origin (e.g.
 * `https://cdp.example.com`) and the write key.
 */

export interface Snippets {
  curl: string
  node: string
  browser: string
}

export function sourceSnippets(origin: string, writeKey: string): Snippets {
  const url = new URL(origin)
  const protocol = url.protocol.replace(':', '')
  const host = url.host
  const curl = [
    `curl -X POST '${url.origin}/v1/track' \\`,
    `  -u '${writeKey}:' \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d '{"userId":"user-123","event":"Signed Up","properties":{"plan":"pro"}}'`,
  ].join('\n')
  const node = [
    `// npm install @segment/analytics-node`,
    `import { Analytics } from '@segment/analytics-node'`,
    ``,
    `const analytics = new Analytics({`,
    `  writeKey: '${writeKey}',`,
    `  host: '${url.origin}',`,
    `})`,
    ``,
    `analytics.identify({ userId: 'user-123', traits: { email: 'ada@example.com' } })`,
    `analytics.track({ userId: 'user-123', event: 'Signed Up', properties: { plan: 'pro' } })`,
    ``,
    `// Events are sent in batches: flush before the process exits, or the last ones are lost.`,
    `await analytics.closeAndFlush()`,
  ].join('\n')
  const browser = [
    `// npm install @segment/analytics-next`,
    `import { AnalyticsBrowser } from '@segment/analytics-next'`,
    ``,
    `export const analytics = AnalyticsBrowser.load(`,
    `  { writeKey: '${writeKey}', cdnURL: '${url.origin}' },`,
    `  {`,
    `    integrations: {`,
    `      'Segment.io': { apiHost: '${host}/v1', protocol: '${protocol}' },`,
    `    },`,
    `  },`,
    `)`,
    ``,
    `analytics.page()`,
    `analytics.track('Signed Up', { plan: 'pro' })`,
  ].join('\n')
  return { curl, node, browser }
}
