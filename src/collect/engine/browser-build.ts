/**
 * Segment's standard browser build of analytics.js (`@segment/analytics-next`, pinned in
 * package.json), read from the installed package, never fetched from a CDN, so that the classic
 * `<script>` snippet works with only its host changed: it loads
 * `/analytics.js/v1/<writeKey>/analytics.min.js`, which then loads its code-split chunks from
 * `/analytics-next/bundles/<name>` and its settings from `/v1/projects/<writeKey>/settings`, all
 * relative to the host it came from (docs/adr/0016-browser-build-served-from-the-package.md).
 */
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

export interface BrowserBuild {
  /** The package version served (`analytics.VERSION` in the browser). */
  version: string
  /** `analytics.min.js` for one write key (already checked by the caller). */
  standalone(writeKey: string): string
  /** A code-split chunk by file name, or undefined for anything else. */
  bundle(name: string): Buffer | undefined
}

/**
 * Segment's CDN finds its own origin from the `<script>` tag only for https:// URLs (`getCDN`
 * in the package's src/lib/parse-cdn.ts); behind plain http (a local install, a test) it would
 * fall back to cdn.segment.com. This prelude hands the build the origin it was loaded from
 * through `analytics._cdn`, which the build reads first, unless the page set one itself.
 */
const PRELUDE =
  '/* Kindred: chunks and settings come from the host that served this file. */\n' +
  ';(function(){try{var s=document.currentScript,a=window.analytics;' +
  'if(s&&s.src&&a&&!a._cdn){a._cdn=new URL(s.src).origin}}catch(e){}})();\n'

/** Write keys are `[A-Za-z0-9_-]`; anything else never reaches the file. */
export const WRITE_KEY_SHAPE = /^[A-Za-z0-9_-]{1,200}$/

export function loadBrowserBuild(): BrowserBuild {
  const require = createRequire(import.meta.url)
  const pkgPath = require.resolve('@segment/analytics-next/package.json')
  const dir = path.join(path.dirname(pkgPath), 'dist', 'umd')
  const version = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version
  let standalone: string | undefined
  const bundles = new Map<string, Buffer | null>(
    readdirSync(dir)
      .filter((f) => /^[A-Za-z0-9_-]+\.bundle\.[0-9a-f]+\.js$/.test(f))
      .map((f) => [f, null]),
  )
  return {
    version,
    standalone(writeKey) {
      if (!WRITE_KEY_SHAPE.test(writeKey)) throw new Error('not a write key')
      standalone ??= readFileSync(path.join(dir, 'standalone.js'), 'utf8')
      // Segment's CDN embeds the write key the same way (src/lib/embedded-write-key.ts).
      return PRELUDE + standalone.replace('"__WRITE_KEY__"', JSON.stringify(writeKey))
    },
    bundle(name) {
      if (!bundles.has(name)) return undefined
      let b = bundles.get(name)
      if (!b) {
        b = readFileSync(path.join(dir, name))
        bundles.set(name, b)
      }
      return b
    },
  }
}
