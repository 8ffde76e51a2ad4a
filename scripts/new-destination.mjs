#!/usr/bin/env node
// Generates a new destination folder from a template and registers it.
//
//   node scripts/new-destination.mjs <id> "<Display name>" [--category crm] [--purpose marketing] [--root .]
//
// Creates src/activate/core/<id>/{manifest.ts,transform.ts,transform.test.ts,fixtures/}, adds the
// destination to src/activate/core/registry.ts, and tells you what to do next (sample settings,
// golden fixtures, vendor docs). `--root` points at another checkout (used by its own test).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const CATEGORIES = ['webhook', 'messaging', 'email', 'crm', 'advertising', 'warehouse', 'storage']
const PURPOSES = ['analytics', 'marketing', 'advertising', 'personalization']

function fail(msg) {
  console.error(`new-destination: ${msg}`)
  process.exit(1)
}

const args = process.argv.slice(2)
const opts = { category: 'webhook', purpose: 'analytics', root: process.cwd() }
const positional = []
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a.startsWith('--')) opts[a.slice(2)] = args[++i]
  else positional.push(a)
}
const [id, name] = positional
if (!id || !/^[a-z][a-z0-9-]{1,40}$/.test(id))
  fail('usage: new-destination.mjs <id: lower-case-with-dashes> "<Display name>"')
if (!name) fail('a display name is required')
if (!CATEGORIES.includes(opts.category)) fail(`--category must be one of ${CATEGORIES.join(', ')}`)
if (!PURPOSES.includes(opts.purpose)) fail(`--purpose must be one of ${PURPOSES.join(', ')}`)

const camel = id.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase())
const dir = join(opts.root, 'src/activate/core', id)
const registry = join(opts.root, 'src/activate/core/registry.ts')
if (existsSync(dir)) fail(`${dir} already exists`)
if (!existsSync(registry)) fail(`no registry at ${registry}`)

const manifest = `/**
 * ${name}.
 * Docs followed: TODO (link the vendor's current API reference for every request you build).
 */
import { z } from 'zod'
import type { DestinationManifest } from '../contract.js'

export const ${camel}Settings = z.object({
  apiKey: z.string().min(8).describe('API key (TODO: where the user finds it).'),
  endpoint: z.url().default('https://api.example.com').describe('API base URL.'),
})
export type ${camel[0].toUpperCase() + camel.slice(1)}Settings = z.infer<typeof ${camel}Settings>

export const manifest: DestinationManifest<typeof ${camel}Settings> = {
  id: 'builtin.${id}',
  name: ${JSON.stringify(name)},
  description: 'TODO: one sentence on what it sends.',
  category: '${opts.category}',
  purpose: '${opts.purpose}',
  settings: ${camel}Settings,
  secretFields: ['apiKey'],
  secretTransport: { apiKey: 'header' },
  actions: ['upsertProfiles'],
  maxBatchSize: 100,
  rateLimit: 10,
  supportsDeletion: false,
  docs: ['https://api.example.com/docs'],
  vendorApi: { name: 'TODO: the vendor API', version: 'TODO: its version' },
  limits: ['TODO: the vendor limits this connector works within'],
}
`

const transform = `import type { Destination, DestinationInput, TransformContext, TransformResult } from '../contract.js'
import { defineDestination } from '../contract.js'
import { defaultClassify } from '../shared/classify.js'
import { idempotencyKey, partitionSupported, profileEmail, skip } from '../shared/profile-fields.js'
import { manifest, type ${camel[0].toUpperCase() + camel.slice(1)}Settings as Settings } from './manifest.js'

export function transform(inputs: DestinationInput[], ctx: TransformContext<Settings>): TransformResult {
  const { supported, skipped } = partitionSupported(inputs, manifest.actions)
  const result: TransformResult = { effects: [], skipped }
  for (const input of supported) {
    if (input.kind !== 'profile') continue
    const email = profileEmail(input.profile)
    if (!email) {
      result.skipped.push(skip(input.id, 'MISSING_IDENTIFIER', '${name} needs an email'))
      continue
    }
    result.effects.push({
      type: 'http',
      method: 'POST',
      url: \`\${ctx.settings.endpoint.replace(/\\/+$/, '')}/contacts\`,
      headers: { authorization: \`Bearer \${ctx.settings.apiKey}\`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, traits: input.profile.traits }),
      idempotencyKey: idempotencyKey(ctx.destinationId, '${id}:upsert', [input.id]),
      itemIds: [input.id],
    })
  }
  return result
}

export const ${camel}: Destination<typeof manifest.settings> = defineDestination({
  manifest,
  transform,
  classifyResponse: defaultClassify,
})
`

const test = `import { describe, expect, it } from 'vitest'
import { SAMPLE_NOW, sampleInputs } from '../../../testing/destinations/samples.js'
import { ${camel}Settings } from './manifest.js'
import { transform } from './transform.js'

const settings = ${camel}Settings.parse({ apiKey: 'test-key-123456' })

describe('${id} transform', () => {
  it('upserts profiles with an email and skips the others', () => {
    const r = transform([sampleInputs.profile, sampleInputs.anonymousProfile], { settings, destinationId: 'd', now: SAMPLE_NOW })
    expect(r.effects.map((e) => e.itemIds)).toEqual([['job_3']])
    expect(r.skipped.map((s) => s.code)).toEqual(['MISSING_IDENTIFIER'])
  })
})
`

mkdirSync(join(dir, 'fixtures'), { recursive: true })
writeFileSync(join(dir, 'manifest.ts'), manifest)
writeFileSync(join(dir, 'transform.ts'), transform)
writeFileSync(join(dir, 'transform.test.ts'), test)

let reg = readFileSync(registry, 'utf8')
const importLine = `import { ${camel} } from './${id}/transform.js'\n`
const lastImport = reg.lastIndexOf("/transform.js'\n")
if (lastImport < 0) fail('could not find the transform imports in registry.ts')
const at = lastImport + "/transform.js'\n".length
reg = reg.slice(0, at) + importLine + reg.slice(at)
const end = reg.indexOf('} satisfies Record<BuiltinDestinationId')
if (end < 0) fail('could not find the builtinDestinations record in registry.ts')
reg =
  reg.slice(0, end) + `  'builtin.${id}': ${camel} as unknown as AnyDestination,\n` + reg.slice(end)
writeFileSync(registry, reg)

console.log(`created src/activate/core/${id}/ and registered builtin.${id}. Next:
  1. follow the vendor's current API docs; cite them in manifest.ts (docs + header comment)
  2. add sample settings for 'builtin.${id}' to src/testing/destinations/samples.ts
  3. KINDRED_UPDATE_GOLDEN=1 npx vitest run src/activate/core/contract.test.ts  (writes fixtures/*.json; review them)
  4. npx vitest run src/activate/core/${id} src/activate/core/contract.test.ts`)
