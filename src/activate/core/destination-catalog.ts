/**
 * @module destinations/catalog
 * The catalog of built-in destinations as Markdown, generated from their manifests: actions,
 * settings (secrets marked ★, defaults shown), the vendor API version each targets, its batch size
 * and rate, and the vendor limits it works within. `docs/destinations.md` holds it between two
 * markers; `destination-catalog.test.ts` fails when the file is stale. Pure.
 */
import type { AnyDestination } from './contract.js'
import { settingsJsonSchema } from './registry.js'

// prettier-ignore keeps `npm run format` from realigning the generated tables (which would make
// the file differ from what the manifests give).
export const CATALOG_BEGIN =
  '<!-- catalog: generated from the manifests by src/activate/core/destination-catalog.ts; do not edit by hand -->\n<!-- prettier-ignore-start -->'
export const CATALOG_END = '<!-- prettier-ignore-end -->\n<!-- end of the generated catalog -->'

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

function defaultOf(prop: Record<string, unknown> | undefined): string | undefined {
  if (!prop || !('default' in prop)) return undefined
  return JSON.stringify(prop.default)
}

function version(d: AnyDestination): string {
  const api = d.manifest.vendorApi
  if ('version' in api) return api.version
  const props = (settingsJsonSchema(d).properties ?? {}) as Record<string, Record<string, unknown>>
  const dflt = defaultOf(props[api.versionSetting])
  return `${dflt === undefined ? '(required)' : dflt.replace(/^"|"$/g, '')} (setting \`${api.versionSetting}\`)`
}

function section(d: AnyDestination): string {
  const m = d.manifest
  const schema = settingsJsonSchema(d)
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>
  const required = new Set((schema.required ?? []) as string[])
  const settings = Object.entries(props).map(([name, p]) => {
    const secret = m.secretFields.includes(name) ? '★' : ''
    const dflt = defaultOf(p)
    const need = required.has(name) && dflt === undefined ? 'required' : (dflt ?? 'optional')
    return `| \`${name}\`${secret} | ${cell(need)} | ${cell(String(p.description ?? ''))} |`
  })
  return [
    `### ${m.name} (\`${m.id}\`)`,
    '',
    m.description,
    '',
    `- Vendor API: ${m.vendorApi.name}, version ${version(d)}`,
    `- Actions: ${m.actions.join(', ')}; consent purpose: ${m.purpose}; category: ${m.category}`,
    `- Batch: up to ${m.maxBatchSize} inputs per transform call; default rate ${m.rateLimit} requests/s`,
    ...(m.limits.length > 0 ? ['- Vendor limits:', ...m.limits.map((l) => `  - ${l}`)] : []),
    `- Docs: ${m.docs.join(', ')}`,
    '',
    '| setting | default | what |',
    '| --- | --- | --- |',
    ...settings,
  ].join('\n')
}

/** The generated part of docs/destinations.md, markers included. */
export function destinationCatalog(destinations: readonly AnyDestination[]): string {
  return [
    CATALOG_BEGIN,
    '',
    '## Catalog',
    '',
    ...destinations.flatMap((d) => [section(d), '']),
    CATALOG_END,
  ].join('\n')
}

/** `doc` with its generated part replaced by `catalog` (appended when the markers are absent). */
export function withCatalog(doc: string, catalog: string): string {
  const begin = doc.indexOf(CATALOG_BEGIN)
  const end = doc.indexOf(CATALOG_END)
  if (begin < 0 || end < begin) return `${doc.trimEnd()}\n\n${catalog}\n`
  return doc.slice(0, begin) + catalog + doc.slice(end + CATALOG_END.length)
}
