/**
 * Copy-paste snippets for a source, pointed at this Kindred server: shown when the source is
 * created and on its page later. Pure: takes the server's origin (e.g.
 * `https://cdp.example.com`) and the write key.
 */

export interface Snippets {
  curl: string
  node: string
  /** The npm (bundler) way: `@segment/analytics-next`. */
  browser: string
  /** The classic `<script>` snippet, no bundler: Kindred serves Segment's browser build. */
  script: string
}

/**
 * The methods the snippet's stub queues until analytics.js has loaded (the ones Segment's
 * snippet queues; analytics-next replays the queue in order once loaded).
 */
const QUEUED_METHODS = [
  'trackSubmit',
  'trackClick',
  'trackLink',
  'trackForm',
  'pageview',
  'identify',
  'reset',
  'group',
  'track',
  'ready',
  'alias',
  'debug',
  'page',
  'screen',
  'once',
  'off',
  'on',
  'addSourceMiddleware',
  'addIntegrationMiddleware',
  'setAnonymousId',
  'addDestinationMiddleware',
  'register',
]

/**
 * The classic snippet: a stub `window.analytics` that queues calls, and a loader that adds
 * `<origin>/analytics.js/v1/<writeKey>/analytics.min.js`, the path Segment's CDN serves it at,
 * so a page that has Segment's snippet only needs its host changed.
 */
function scriptSnippet(origin: string, writeKey: string): string {
  const key = JSON.stringify(writeKey)
  return [
    `<script>`,
    `!function () {`,
    `  var analytics = (window.analytics = window.analytics || [])`,
    `  if (analytics.initialize || analytics.invoked) return`,
    `  analytics.invoked = true`,
    `  analytics.methods = ${JSON.stringify(QUEUED_METHODS)}`,
    `  analytics.factory = function (method) {`,
    `    return function () {`,
    `      var args = Array.prototype.slice.call(arguments)`,
    `      args.unshift(method)`,
    `      analytics.push(args)`,
    `      return analytics`,
    `    }`,
    `  }`,
    `  for (var i = 0; i < analytics.methods.length; i++) {`,
    `    analytics[analytics.methods[i]] = analytics.factory(analytics.methods[i])`,
    `  }`,
    `  analytics.load = function (key, options) {`,
    `    var script = document.createElement('script')`,
    `    script.async = true`,
    `    script.src = ${JSON.stringify(`${origin}/analytics.js/v1/`)} + key + '/analytics.min.js'`,
    `    var first = document.getElementsByTagName('script')[0]`,
    `    first.parentNode.insertBefore(script, first)`,
    `    analytics._loadOptions = options`,
    `  }`,
    `  analytics._writeKey = ${key}`,
    `  analytics.SNIPPET_VERSION = '5.2.0'`,
    `  analytics.load(${key})`,
    `  analytics.page()`,
    `}()`,
    `</script>`,
  ].join('\n')
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
  return { curl, node, browser, script: scriptSnippet(url.origin, writeKey) }
}
