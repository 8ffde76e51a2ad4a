/**
 * Every request the Klaviyo connector builds, checked against Klaviyo's own OpenAPI spec (the
 * operations it uses, committed in `spec/`, see its README): server, path, method, parameters,
 * the revision and Authorization headers, the content type, and the body schema, strictly (no
 * field the spec does not define).
 */
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { DestinationInput, HttpEffect } from '../contract.js'
import { resolveEffect } from '../shared/chain.js'
import { getDestination, runTransform } from '../registry.js'
import type { GoldenFixture } from '../../../testing/destinations/golden.js'
import { openApiChecker, type OpenApiDoc } from '../../../testing/destinations/openapi-check.js'
import {
  SAMPLE_NOW,
  ada,
  anonymous,
  grace,
  sampleSettings,
  vips,
} from '../../../testing/destinations/samples.js'

const here = dirname(fileURLToPath(import.meta.url))
const spec = JSON.parse(
  readFileSync(join(here, 'spec/klaviyo-openapi-2026-07-15.json'), 'utf8'),
) as OpenApiDoc
const check = openApiChecker(spec, { strict: true })
const klaviyo = getDestination('builtin.klaviyo')

/** Captured values as Klaviyo would answer the earlier chain steps. */
const captured = { profiles: [{ type: 'profile', id: '01HZY0000000000000000000AB' }] }

function problemsOf(effects: readonly HttpEffect[]) {
  return effects.map((e) => {
    const r = resolveEffect(e, captured)
    return { request: `${r.method} ${r.url}`, ...check(r) }
  })
}

const fixtures = readdirSync(join(here, 'fixtures')).map(
  (f) => [f, JSON.parse(readFileSync(join(here, 'fixtures', f), 'utf8')) as GoldenFixture] as const,
)

describe('klaviyo requests against Klaviyo’s OpenAPI spec (revision 2026-07-15)', () => {
  it.each(fixtures)('golden fixture %s: every request is valid', (_name, f) => {
    const effects = f.expected.effects as HttpEffect[]
    expect(effects.length).toBeGreaterThan(0)
    for (const r of problemsOf(effects)) {
      expect(r.operationId, r.request).toBeDefined()
      expect(r.problems, r.request).toEqual([])
    }
  })

  it('requests for edge-case profiles are valid too (unicode, national phones, phone only, many)', () => {
    const profile = (id: string, traits: Record<string, unknown>): DestinationInput => ({
      kind: 'profile',
      id,
      profile: { id: `p_${id}`, traits, identities: [] },
      changedTraits: [],
    })
    const inputs: DestinationInput[] = [
      profile('u', { email: 'zoe@example.com', first_name: 'Zoë', last_name: 'Ångström-Núñez 李' }),
      profile('n', { phone: '(415) 555-0100', title: 'Dr', organization: 'X', nested: { a: [1] } }),
      profile('anon', anonymous.traits),
      ...Array.from({ length: 150 }, (_, i) => profile(`m${i}`, { email: `m${i}@example.com` })),
      { kind: 'audience', id: 'add', action: 'add', audience: vips, profile: ada },
      { kind: 'audience', id: 'rm', action: 'remove', audience: vips, profile: grace },
      { kind: 'delete', id: 'del', profile: grace },
    ]
    const { effects } = runTransform(klaviyo, inputs, {
      settings: sampleSettings['builtin.klaviyo'],
      destinationId: 'd',
      now: SAMPLE_NOW,
    })
    const results = problemsOf(effects as HttpEffect[])
    expect(new Set(results.map((r) => r.operationId))).toEqual(
      new Set([
        'bulk_import_profiles',
        'get_profiles',
        'remove_profiles_from_list',
        'request_profile_deletion',
      ]),
    )
    for (const r of results) expect(r.problems, r.request).toEqual([])
  })

  it('the checker refuses what Klaviyo would refuse (it is not vacuous)', () => {
    const [ok] = runTransform(
      klaviyo,
      [{ kind: 'profile', id: 'x', profile: ada, changedTraits: [] }],
      {
        settings: sampleSettings['builtin.klaviyo'],
        destinationId: 'd',
        now: SAMPLE_NOW,
      },
    ).effects as HttpEffect[]
    if (!ok) throw new Error('no effect')
    const body = JSON.parse(ok.body ?? '{}') as {
      data: { attributes: { profiles: { data: { attributes: Record<string, unknown> }[] } } }
    }
    const bad = structuredClone(body)
    const first = bad.data.attributes.profiles.data[0]
    if (first) first.attributes.phone = '+1' // a field the spec does not define
    const noRevision = { ...ok.headers }
    delete noRevision.revision
    expect(check({ ...ok, body: JSON.stringify(bad) }).problems.join()).toMatch(/additional/)
    expect(check({ ...ok, headers: noRevision }).problems).toContain(
      'missing required header revision',
    )
    expect(check({ ...ok, method: 'PUT' }).problems[0]).toMatch(/not an operation/)
    expect(
      check({ ...ok, headers: { ...ok.headers, 'content-type': 'application/json' } }).problems[0],
    ).toMatch(/content type/)
    expect(
      check({ ...ok, body: JSON.stringify({ data: { type: 'profile' } }) }).problems.length,
    ).toBeGreaterThan(0)
  })
})
