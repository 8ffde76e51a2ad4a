/**
 * The shared contract suite: every registered destination must pass all of it.
 */
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { Action } from './contract.js'
import {
  ActionSchema,
  DestinationInputSchema,
  EffectSchema,
  ManifestDataSchema,
  TransformResultSchema,
  type AnyDestination,
  type DestinationInput,
} from './contract.js'
import {
  builtinDestinations,
  getDestination,
  listDestinations,
  parseSettings,
  runTransform,
  settingsJsonSchema,
} from './registry.js'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  fixtureRelativePath,
  newFixture,
  type GoldenFixture,
} from '../../testing/destinations/golden.js'
import { SAMPLE_NOW, sampleInputs, sampleSettings } from '../../testing/destinations/samples.js'
import { secretStrings } from './secrets.js'

const update = process.env.KINDRED_UPDATE_GOLDEN === '1'
const here = dirname(fileURLToPath(import.meta.url))

function readFixture(d: AnyDestination, action: Action): GoldenFixture | undefined {
  const p = join(here, fixtureRelativePath(d, action))
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as GoldenFixture) : undefined
}

/** Write a fixture (from the shared samples when new), its expected part recomputed. */
function updateFixture(
  d: AnyDestination,
  action: Action,
  run: (f: GoldenFixture) => GoldenFixture['expected'],
) {
  const f = readFixture(d, action) ?? newFixture(d, action)
  f.expected = run(f)
  const p = join(here, fixtureRelativePath(d, action))
  mkdirSync(dirname(p), { recursive: true })
  writeFileSync(p, `${JSON.stringify(f, null, 2)}\n`)
}
const all = listDestinations()
const allInputs = Object.values(sampleInputs)

function run(d: AnyDestination, inputs: DestinationInput[], now = SAMPLE_NOW) {
  return runTransform(d, inputs, {
    settings: sampleSettings[d.manifest.id],
    destinationId: 'dest_contract',
    now,
  })
}

it('the registry keys are the manifest ids, and there are fourteen built-ins', () => {
  expect(all).toHaveLength(14)
  for (const [key, d] of Object.entries(builtinDestinations)) expect(d.manifest.id).toBe(key)
  expect(() => getDestination('builtin.nope')).toThrow(/unknown destination type/)
})

describe.each(all.map((d) => [d.manifest.id, d] as const))('%s', (_id, d) => {
  const m = d.manifest

  it('has a valid manifest whose secret fields exist in its settings and declare a transport', () => {
    expect(ManifestDataSchema.safeParse(m).success).toBe(true)
    const shape = (m.settings as unknown as z.ZodObject).shape
    for (const f of m.secretFields) {
      expect(shape, `secret field ${f}`).toHaveProperty(f)
      expect(m.secretTransport[f], `transport of ${f}`).toBeDefined()
    }
    expect(m.supportsDeletion).toBe(m.actions.includes('delete'))
  })

  it('settings convert to a usable JSON schema form (described fields, secrets write-only)', () => {
    const schema = settingsJsonSchema(d)
    expect(schema.type).toBe('object')
    const props = schema.properties as Record<string, Record<string, unknown>>
    for (const [name, p] of Object.entries(props)) {
      expect(typeof p.description, `${name} has a description`).toBe('string')
    }
    for (const f of m.secretFields) expect(props[f]?.writeOnly).toBe(true)
    // The sample settings validate against the generated schema too (the console's validator).
    const ajv = new Ajv2020({ strict: false })
    addFormats.default(ajv)
    expect(ajv.validate(schema, sampleSettings[m.id])).toBe(true)
  })

  it('declares every setting that decides where data goes as an endpoint field', () => {
    // The server checks endpoint fields against the outbound policy and binds secrets to them.
    const props = Object.keys((settingsJsonSchema(d).properties ?? {}) as Record<string, unknown>)
    const looksLikeTarget = props.filter((p) => /url|endpoint|host|connection|directory/i.test(p))
    expect(looksLikeTarget.filter((p) => !(p in (m.endpointFields ?? {})))).toEqual([])
  })

  it('rejects empty settings with INVALID_SETTINGS', () => {
    // Every connector has at least one required setting (an endpoint, a credential, a directory).
    expect(() => parseSettings(d, {})).toThrow(/invalid settings/)
  })

  it.each(m.actions.map((a) => [a]))(
    'has a golden fixture for %s, and the transform matches it',
    (action) => {
      ActionSchema.parse(action)
      if (update)
        updateFixture(d, action, (f) =>
          runTransform(d, f.inputs, {
            settings: f.settings,
            destinationId: f.destinationId,
            now: Date.parse(f.now),
          }),
        )
      const f = readFixture(d, action)
      expect(f, `fixtures/${action}.json`).toBeDefined()
      if (!f) return
      for (const i of f.inputs) DestinationInputSchema.parse(i)
      const got = runTransform(d, f.inputs, {
        settings: f.settings,
        destinationId: f.destinationId,
        now: Date.parse(f.now),
      })
      expect(got).toEqual(f.expected)
      expect(got.effects.length, 'the fixture exercises at least one effect').toBeGreaterThan(0)
    },
  )

  it('accounts for every input exactly once (an effect or a skip), and effects validate', () => {
    const result = run(d, allInputs)
    TransformResultSchema.parse(result)
    for (const e of result.effects) EffectSchema.parse(e)
    const carried = new Set(result.effects.flatMap((e) => e.itemIds))
    const skipped = result.skipped.map((s) => s.itemId)
    for (const input of allInputs) {
      const inEffect = carried.has(input.id)
      const inSkip = skipped.includes(input.id)
      expect(inEffect !== inSkip, `${input.id} is carried xor skipped`).toBe(true)
    }
    expect(new Set(skipped).size).toBe(skipped.length)
  })

  it('is deterministic and does not mutate its inputs', () => {
    const inputs = structuredClone(allInputs)
    const a = run(d, inputs)
    const b = run(d, structuredClone(allInputs))
    expect(a).toEqual(b)
    expect(inputs).toEqual(allInputs)
  })

  it('keeps idempotency keys stable across time and distinct across work', () => {
    const a = run(d, allInputs, SAMPLE_NOW)
    const b = run(d, allInputs, SAMPLE_NOW + 60_000)
    expect(a.effects.map((e) => e.idempotencyKey)).toEqual(b.effects.map((e) => e.idempotencyKey))
    const keys = a.effects.filter((e) => e.chain === undefined).map((e) => e.idempotencyKey)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('respects maxBatchSize per request', () => {
    const result = run(d, allInputs)
    for (const e of result.effects) expect(e.itemIds.length).toBeLessThanOrEqual(m.maxBatchSize)
  })

  it('puts secrets only where the manifest says they travel', () => {
    const settings = parseSettings(d, sampleSettings[m.id]) as Record<string, unknown>
    const result = run(d, allInputs)
    for (const field of m.secretFields) {
      const transport = m.secretTransport[field]
      for (const secret of secretStrings(m, { [field]: settings[field] })) {
        for (const e of result.effects) {
          if (e.type === 'http') {
            const headerHit = Object.values(e.headers).some((v) => v.includes(secret))
            if (transport !== 'header') expect(headerHit, `${field} in headers`).toBe(false)
            if (transport !== 'url') expect(e.url.includes(secret), `${field} in url`).toBe(false)
            expect(e.body?.includes(secret) ?? false, `${field} in body`).toBe(false)
          } else {
            expect(JSON.stringify(e).includes(secret), `${field} in ${e.type} effect`).toBe(false)
          }
        }
      }
    }
  })

  it('skips (never drops) inputs of actions it does not support', () => {
    const unsupported = allInputs.filter((i) => {
      const action = {
        event: 'forwardEvents',
        profile: 'upsertProfiles',
        audience: 'syncAudience',
        delete: 'delete',
      }[i.kind]
      return !m.actions.includes(action as never)
    })
    const result = run(d, unsupported)
    expect(result.effects).toEqual([])
    expect(result.skipped.map((s) => s.itemId).sort()).toEqual(unsupported.map((i) => i.id).sort())
    for (const s of result.skipped) expect(s.code).toBe('UNSUPPORTED_ACTION')
  })

  it('classifies the shared cases the same way', () => {
    const effect = run(d, allInputs).effects.find((e) => e.type === 'http')
    if (!effect || effect.type !== 'http') return
    const ctx = { effect, now: SAMPLE_NOW }
    expect(d.classifyResponse({ status: 200, headers: {}, body: '{}' }, ctx).outcome).toBe(
      'success',
    )
    expect(
      d.classifyResponse({ status: 429, headers: { 'retry-after': '3' }, body: '' }, ctx),
    ).toMatchObject({ outcome: 'retry', retryAfterMs: 3000 })
    expect(d.classifyResponse({ status: 503, headers: {}, body: '' }, ctx).outcome).toBe('retry')
    expect(
      d.classifyResponse({ status: 401, headers: {}, body: '{"message":"bad key"}' }, ctx),
    ).toMatchObject({ outcome: 'fail' })
  })
})
