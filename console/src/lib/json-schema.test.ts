import { describe, expect, it } from 'vitest'
import type { JsonSchema } from '../api/types.js'
import { defaultsFor, labelFor, missingRequired, resolve, schemaType } from './json-schema.js'

const webhook: JsonSchema = {
  type: 'object',
  required: ['url'],
  properties: {
    url: { type: 'string', format: 'uri' },
    method: { type: 'string', enum: ['POST', 'PUT'], default: 'POST' },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    auth: { $ref: '#/$defs/auth' },
  },
  $defs: {
    auth: {
      type: 'object',
      required: ['token'],
      properties: { token: { type: 'string' }, scheme: { type: 'string', default: 'Bearer' } },
    },
  },
}

describe('json-schema form helpers', () => {
  it('fills defaults, following $ref', () => {
    expect(defaultsFor(webhook)).toEqual({ method: 'POST', auth: { scheme: 'Bearer' } })
  })

  it('lists missing required fields, nested ones only when the parent is filled', () => {
    expect(missingRequired(webhook, {})).toEqual(['url'])
    expect(missingRequired(webhook, { url: 'https://x', auth: { scheme: 'Basic' } })).toEqual([
      'auth.token',
    ])
    expect(missingRequired(webhook, { url: 'https://x', auth: { token: 't' } })).toEqual([])
  })

  it('reads types and labels', () => {
    expect(schemaType({ type: ['string', 'null'] })).toBe('string')
    expect(schemaType({ enum: ['a'] })).toBe('enum')
    expect(schemaType({ anyOf: [{ type: 'null' }, { type: 'integer' }] })).toBe('integer')
    expect(resolve({ $ref: '#/$defs/auth' }, webhook).required).toEqual(['token'])
    expect(labelFor('apiKey', {})).toBe('Api Key')
    expect(labelFor('batch_size', { title: 'Batch size' })).toBe('Batch size')
  })
})
