/**
 * Every Braze request the connector builds, checked field by field against the request body
 * Braze documents (Braze publishes no machine-readable spec; written here from the docs):
 * - https://www.braze.com/docs/api/endpoints/user_data/post_user_track/ (`attributes`, `events`,
 *   each object naming one user: `external_id`, `user_alias` {alias_name, alias_label},
 *   `braze_id`, `email` or `phone`; 75 objects combined; alias-only users need
 *   `_update_existing_only: false`)
 * - https://www.braze.com/docs/api/objects_filters/event_object/ (`name`, `time` ISO 8601;
 *   property names non-empty, ≤ 255 characters, no leading `$`; string values ≤ 255)
 * - https://www.braze.com/docs/user_guide/message_building_by_channel/email/email_setup/email_validation/
 *   (no whitespace in an email)
 * - https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/ (≤ 50 `external_ids`)
 */
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { DestinationInput, HttpEffect } from '../contract.js'
import { getDestination, runTransform } from '../registry.js'
import type { GoldenFixture } from '../../../testing/destinations/golden.js'
import { openApiChecker, type OpenApiDoc } from '../../../testing/destinations/openapi-check.js'
import {
  SAMPLE_NOW,
  ada,
  sampleInputs,
  sampleSettings,
} from '../../../testing/destinations/samples.js'

const alias = {
  type: 'object',
  required: ['alias_name', 'alias_label'],
  properties: {
    alias_name: { type: 'string', minLength: 1 },
    alias_label: { type: 'string', minLength: 1 },
  },
}
/**
 * A way of naming the user (`email` and `phone` are also plain attributes next to an
 * `external_id`), and never an external id and an alias at once.
 */
const user = {
  anyOf: ['external_id', 'user_alias', 'braze_id', 'email', 'phone'].map((k) => ({
    required: [k],
  })),
  not: { required: ['external_id', 'user_alias'] },
}
const documented: OpenApiDoc = {
  servers: [{ url: 'https://rest.iad-01.braze.com' }],
  paths: {
    '/users/track': {
      post: {
        operationId: 'users-track',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  attributes: {
                    type: 'array',
                    items: {
                      type: 'object',
                      allOf: [user],
                      properties: {
                        email: { type: 'string', pattern: '^\\S+@\\S+$' },
                        user_alias: alias,
                        _update_existing_only: { type: 'boolean' },
                      },
                      if: { required: ['user_alias'] },
                      then: {
                        required: ['_update_existing_only'],
                        properties: { _update_existing_only: { const: false } },
                      },
                    },
                  },
                  events: {
                    type: 'array',
                    items: {
                      type: 'object',
                      allOf: [user],
                      required: ['name', 'time'],
                      properties: {
                        name: { type: 'string', minLength: 1 },
                        time: { type: 'string', format: 'date-time' },
                        user_alias: alias,
                        properties: {
                          type: 'object',
                          propertyNames: { minLength: 1, maxLength: 255, pattern: '^[^$]' },
                          additionalProperties: { not: { type: 'string', minLength: 256 } },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    '/users/delete': {
      post: {
        operationId: 'users-delete',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  external_ids: { type: 'array', maxItems: 50, items: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
  },
}
const check = openApiChecker(documented)
const braze = getDestination('builtin.braze')

function verify(effects: readonly HttpEffect[]) {
  expect(effects.length).toBeGreaterThan(0)
  for (const e of effects) {
    const result = check(e)
    expect(result.problems, `${e.method} ${e.url}`).toEqual([])
    const body = JSON.parse(e.body ?? '{}') as { attributes?: unknown[]; events?: unknown[] }
    const objects = (body.attributes?.length ?? 0) + (body.events?.length ?? 0)
    expect(objects, '75 objects combined').toBeLessThanOrEqual(75)
  }
}

const here = dirname(fileURLToPath(import.meta.url))
const fixtures = readdirSync(join(here, 'fixtures')).map(
  (f) => [f, JSON.parse(readFileSync(join(here, 'fixtures', f), 'utf8')) as GoldenFixture] as const,
)

describe('braze requests against Braze’s documented request bodies', () => {
  it.each(fixtures)('golden fixture %s', (_name, f) => verify(f.expected.effects as HttpEffect[]))

  it('edge cases: anonymous events, $ and long properties, messy emails, 200 objects', () => {
    const event = sampleInputs.event.kind === 'event' ? sampleInputs.event.event : ({} as never)
    const inputs: DestinationInput[] = [
      {
        kind: 'event',
        id: 'anon',
        profile: null,
        event: { ...event, userId: null, anonymousId: 'a1' },
      },
      {
        kind: 'event',
        id: 'props',
        profile: ada,
        event: {
          ...event,
          properties: { $source: 'x', note: 'y'.repeat(400), ['k'.repeat(300)]: 1 },
        },
      },
      ...Array.from({ length: 200 }, (_, i): DestinationInput => ({
        kind: 'profile',
        id: `p${i}`,
        profile: {
          ...ada,
          traits: { email: `  User${i}@Example.com `, phone_number: '+14155550100' },
        },
        changedTraits: [],
      })),
    ]
    const { effects } = runTransform(braze, inputs, {
      settings: sampleSettings['builtin.braze'],
      destinationId: 'd',
      now: SAMPLE_NOW,
    })
    verify(effects as HttpEffect[])
  })

  it('the documented body refuses what the connector used to send', () => {
    const old = {
      method: 'POST',
      url: 'https://rest.iad-01.braze.com/users/track',
      headers: { 'content-type': 'application/json' },
    }
    const refused = (body: unknown) =>
      check({ ...old, body: JSON.stringify(body) }).problems.length > 0
    expect(refused({ attributes: [{ external_id: 'u', email: ' A@b.co ' }] })).toBe(true)
    expect(refused({ attributes: [{ user_alias: { alias_name: 'a', alias_label: 'l' } }] })).toBe(
      true,
    )
    expect(
      refused({
        events: [
          { external_id: 'u', name: 'n', time: '2026-11-25T10:00:00Z', properties: { $x: 1 } },
        ],
      }),
    ).toBe(true)
    expect(
      refused({ events: [{ external_id: 'u', name: 'n', time: '2026-11-25T10:00:00Z' }] }),
    ).toBe(false)
  })
})
