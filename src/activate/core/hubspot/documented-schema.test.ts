/**
 * Every HubSpot request the connector builds, checked field by field against the request schemas
 * HubSpot documents (written here from the reference pages, not copied: HubSpot's spec collection
 * is not licensed for reuse, see ../klaviyo/spec/README.md):
 * - batch upsert: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts
 *   (`inputs` ≤ 100, each `{id, idProperty?, properties: {string: string}}`, one record per id)
 * - batch read: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/read-contacts
 *   (`inputs`, `properties` and `propertiesWithHistory` required)
 * - list membership: https://developers.hubspot.com/docs/api-reference/latest/crm/lists/memberships/update-list-memberships
 *   (`recordIdsToAdd` and `recordIdsToRemove` both required, string record ids)
 * - GDPR delete: https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/gdpr-delete
 *   (`objectId` required, `idProperty` optional)
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
  grace,
  sampleSettings,
  vips,
} from '../../../testing/destinations/samples.js'

const strings = { type: 'array', items: { type: 'string' } }
const json = (schema: object) => ({
  required: true,
  content: { 'application/json': { schema } },
})
const documented: OpenApiDoc = {
  servers: [{ url: 'https://api.hubapi.com' }],
  paths: {
    '/crm/v3/objects/contacts/batch/upsert': {
      post: {
        operationId: 'batch-upsert',
        requestBody: json({
          type: 'object',
          required: ['inputs'],
          properties: {
            inputs: {
              type: 'array',
              maxItems: 100,
              items: {
                type: 'object',
                required: ['id', 'properties'],
                properties: {
                  id: { type: 'string' },
                  idProperty: { type: 'string' },
                  objectWriteTraceId: { type: 'string' },
                  properties: { type: 'object', additionalProperties: { type: 'string' } },
                },
              },
            },
          },
        }),
      },
    },
    '/crm/v3/objects/contacts/batch/read': {
      post: {
        operationId: 'batch-read',
        requestBody: json({
          type: 'object',
          required: ['inputs', 'properties', 'propertiesWithHistory'],
          properties: {
            inputs: {
              type: 'array',
              maxItems: 100,
              items: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
            },
            properties: strings,
            propertiesWithHistory: strings,
            idProperty: { type: 'string' },
          },
        }),
      },
    },
    '/crm/v3/lists/{listId}/memberships/add-and-remove': {
      put: {
        operationId: 'add-and-remove',
        parameters: [{ name: 'listId', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: json({
          type: 'object',
          required: ['recordIdsToAdd', 'recordIdsToRemove'],
          properties: { recordIdsToAdd: strings, recordIdsToRemove: strings },
        }),
      },
    },
    '/crm/v3/objects/contacts/gdpr-delete': {
      post: {
        operationId: 'gdpr-delete',
        requestBody: json({
          type: 'object',
          required: ['objectId'],
          properties: { objectId: { type: 'string' }, idProperty: { type: 'string' } },
        }),
      },
    },
  },
}
const check = openApiChecker(documented, { strict: true })
const hubspot = getDestination('builtin.hubspot')
const captured = { recordIds: ['101', '102'] }

function verify(effects: readonly HttpEffect[]) {
  expect(effects.length).toBeGreaterThan(0)
  for (const e of effects) {
    const r = resolveEffect(e, captured)
    const result = check(r)
    expect(result.operationId, r.url).toBeDefined()
    expect(result.problems, `${r.method} ${r.url}`).toEqual([])
    expect(r.headers.authorization, 'private app token').toMatch(/^Bearer \S+$/)
    const inputs = (JSON.parse(r.body ?? '{}') as { inputs?: { id: string }[] }).inputs ?? []
    const ids = inputs.map((i) => i.id)
    expect(new Set(ids).size, 'one record per id in a batch').toBe(ids.length)
  }
}

const here = dirname(fileURLToPath(import.meta.url))
const fixtures = readdirSync(join(here, 'fixtures')).map(
  (f) => [f, JSON.parse(readFileSync(join(here, 'fixtures', f), 'utf8')) as GoldenFixture] as const,
)

describe('hubspot requests against HubSpot’s documented request schemas', () => {
  it.each(fixtures)('golden fixture %s', (_name, f) => verify(f.expected.effects as HttpEffect[]))

  it('edge cases: duplicates, unicode, non-string traits, 150 contacts, add and remove', () => {
    const p = (id: string, traits: Record<string, unknown>): DestinationInput => ({
      kind: 'profile',
      id,
      profile: { id: `p_${id}`, traits, identities: [] },
      changedTraits: [],
    })
    const inputs: DestinationInput[] = [
      p('a', { email: 'zoe@example.com', first_name: 'Zoë', last_name: 'Ångström-Núñez 李' }),
      p('b', { email: ' ZOE@example.com', company: { name: 'nested' }, phone: 4155550100 }),
      ...Array.from({ length: 150 }, (_, i) => p(`m${i}`, { email: `m${i}@example.com` })),
      { kind: 'audience', id: 'add', action: 'add', audience: vips, profile: ada },
      { kind: 'audience', id: 'add2', action: 'add', audience: vips, profile: ada },
      { kind: 'audience', id: 'rm', action: 'remove', audience: vips, profile: grace },
      { kind: 'delete', id: 'del', profile: grace },
    ]
    const { effects } = runTransform(hubspot, inputs, {
      settings: sampleSettings['builtin.hubspot'],
      destinationId: 'd',
      now: SAMPLE_NOW,
    })
    verify(effects as HttpEffect[])
  })

  it('the documented schema refuses the batch read the connector used to send', () => {
    const old: HttpEffect = {
      type: 'http',
      method: 'POST',
      url: 'https://api.hubapi.com/crm/v3/objects/contacts/batch/read',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({
        idProperty: 'email',
        inputs: [{ id: 'a@b.c' }],
        properties: ['email'],
      }),
      idempotencyKey: 'k',
      itemIds: ['1'],
    }
    expect(check(old).problems.join()).toMatch(/propertiesWithHistory/)
  })
})
