import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  CATALOG_BEGIN,
  CATALOG_END,
  destinationCatalog,
  withCatalog,
} from './destination-catalog.js'
import { listDestinations } from './registry.js'

const docPath = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/destinations.md')

describe('docs/destinations.md', () => {
  it('holds the catalog generated from the manifests (KINDRED_UPDATE_DOCS=1 rewrites it)', () => {
    const catalog = destinationCatalog(listDestinations())
    const doc = readFileSync(docPath, 'utf8')
    if (process.env.KINDRED_UPDATE_DOCS === '1') writeFileSync(docPath, withCatalog(doc, catalog))
    const now = readFileSync(docPath, 'utf8')
    const begin = now.indexOf(CATALOG_BEGIN)
    const end = now.indexOf(CATALOG_END)
    expect(begin, 'the catalog markers are in docs/destinations.md').toBeGreaterThanOrEqual(0)
    expect(now.slice(begin, end + CATALOG_END.length)).toBe(catalog)
  })

  it('names every connector with its vendor API version and its limits', () => {
    const catalog = destinationCatalog(listDestinations())
    for (const d of listDestinations()) expect(catalog).toContain(`(\`${d.manifest.id}\`)`)
    expect(catalog).toContain('version v26 (setting `apiVersion`)')
    expect(catalog).toContain('version 2026-10-15 (setting `revision`)')
    expect(catalog).toContain('`apiKey`★')
  })

  it('a changed manifest makes the file stale', () => {
    const [first, ...rest] = listDestinations()
    if (!first) throw new Error('no destinations')
    const changed = {
      ...first,
      manifest: { ...first.manifest, limits: [...first.manifest.limits, 'new'] },
    }
    expect(destinationCatalog([changed, ...rest])).not.toBe(destinationCatalog(listDestinations()))
    expect(withCatalog(`x\n${CATALOG_BEGIN}old${CATALOG_END}\ny`, 'NEW')).toBe(
      'x\nNEWy'.replace('NEWy', 'NEW\ny'),
    )
  })
})
